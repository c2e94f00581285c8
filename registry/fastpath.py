"""The install path leaves the middleware stack at its first step.

Packument and tarball GETs are most of a registry's traffic, and none of the portal's
middleware (sessions, CSRF, authentication of browser users, messages, CSP, clickjacking)
has anything to do with them: their views authenticate npm's bearer token themselves.
So the first middleware answers them directly. Everything else goes down the stack.

The shapes are those of `registry.urls`, which comes first in the URL configuration:
no portal page has one of them (tests/test_urls.py).
"""

import re

from registry.api.reads import packument_get, tarball_get

NAME = r"(?P<name>@[^/]+/[^/]+|[^/@-][^/]*)"
PACKUMENT = re.compile(rf"^/{NAME}$")
TARBALL = re.compile(rf"^/{NAME}/-/(?P<filename>[^/]+\.tgz)$")


class RegistryReadMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            response = self._answer(request)
            if response is not None:
                # What SecurityMiddleware would have added to these responses.
                response["X-Content-Type-Options"] = "nosniff"
                return response
        return self.get_response(request)

    def _answer(self, request):
        path = request.path_info
        match = PACKUMENT.match(path)
        if match:
            return packument_get(request, match["name"])
        match = TARBALL.match(path)
        if match:
            return tarball_get(request, match["name"], match["filename"])
        return None
