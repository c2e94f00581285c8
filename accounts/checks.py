"""Start-up checks for what the accounts app needs from the deployment."""

from django.conf import settings
from django.core.checks import Error, register

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register()
def shared_cache_check(app_configs, **kwargs):
    """Rate limits, sign-in steps and one-time-code reuse live in the cache: with several
    web processes and a cache of their own each, every limit multiplies by the number of
    processes and a code refused in one is accepted by the next."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or settings.GATEHOUSE_WORKERS <= 1 or backend not in PER_PROCESS_CACHES:
        return []
    return [
        Error(
            f"GATEHOUSE_WORKERS is {settings.GATEHOUSE_WORKERS}, but the cache is per process, "
            "so rate limits and one-time codes are not shared between the web processes.",
            hint="Set CACHE_URL to a Redis URL (redis://host:6379/0), or run one web process.",
            id="accounts.E001",
        )
    ]
