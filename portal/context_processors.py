from django.conf import settings


def gatehouse(request):
    return {"registry_url": settings.GATEHOUSE_URL, "open_signup": settings.GATEHOUSE_OPEN_SIGNUP}
