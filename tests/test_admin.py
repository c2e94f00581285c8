"""The standard Django admin works for a superuser created the documented way."""

import pytest
from django.core.management import call_command

from accounts.models import User


@pytest.mark.django_db
def test_superuser_from_createsuperuser_can_use_the_admin(client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long admin password 42")
    call_command(
        "createsuperuser", "--noinput", "--username", "root-admin", "--email", "root@example.com"
    )
    admin = User.objects.get(username="root-admin")
    assert admin.is_superuser and admin.check_password("a long admin password 42")

    assert client.login(username="root-admin", password="a long admin password 42")
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        "/admin/registry/package/",
        "/admin/accounts/securityevent/",
    ):
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db
def test_admin_refuses_people_who_are_not_staff(client, alice):
    client.force_login(alice)
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_admin_login_goes_through_the_portal_sign_in(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=")
