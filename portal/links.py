"""Absolute links to this site, for the npm CLI and for emails: built from the public URL
the registry is configured with (`GATEHOUSE_URL`), never from the request."""

from urllib.parse import quote

from django.conf import settings


def registry_url(path: str) -> str:
    return settings.GATEHOUSE_URL + path.lstrip("/")


def tarball_url(name: str, filename: str) -> str:
    # Scoped tarballs keep a literal slash (/@scope/pkg/-/pkg-1.0.0.tgz), as npm expects.
    return registry_url(f"{quote(name, safe='@/')}/-/{quote(filename)}")
