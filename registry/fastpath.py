"""The install path leaves the middleware stack at its first step.

Packument and tarball GETs are most of a registry's traffic, and none of the portal's
middleware (sessions, CSRF, authentication of browser users, messages, CSP, clickjacking)
has anything to do with them: their views authenticate npm's bearer token themselves.
So the first middleware answers them directly, from the read cache when it can
(registry.read_cache), and everything else goes down the stack.

The shapes are those of `registry.npm_urls`, which comes first in the URL configuration:
no portal page has one of them (tests/test_urls.py).
"""

import re
import time

from django.http import HttpResponse, HttpResponseNotModified, StreamingHttpResponse

from accounts.actors import client_ip
from registry.api.reads import CORGI, etag_matches, packument_get, tarball_get
from registry.read_cache import CachedRead, cache, read_cache_ready
from registry.read_passes import reader_pass_allows, reader_pass_grant

NAME = r"(?P<name>@[^/]+/[^/]+|[^/@-][^/]*)"
PACKUMENT = re.compile(rf"^/{NAME}$")
TARBALL = re.compile(rf"^/{NAME}/-/(?P<filename>[^/]+\.tgz)$")
CACHED_TARBALL_BYTES = 1024 * 1024


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
            abbreviated = CORGI in request.META.get("HTTP_ACCEPT", "")
            key = ("packument", match["name"], abbreviated)
            return self._cached(request, key, lambda: packument_get(request, match["name"]))
        match = TARBALL.match(path)
        if match:
            key = ("tarball", match["name"], match["filename"])
            return self._cached(
                request, key, lambda: tarball_get(request, match["name"], match["filename"])
            )
        return None

    def _cached(self, request, key: tuple, answer):
        if not read_cache_ready():
            return answer()
        name = key[1]
        hit = cache.get(key)
        if hit is not None and (
            not hit.restricted or reader_pass_allows(request, name, client_ip(request))
        ):
            return _from_cache(request, hit)
        epoch = cache.epoch()
        response = answer()
        visibility = response.get("Cache-Control", "").partition(",")[0]
        if response.status_code != 200 or visibility not in ("public", "private"):
            return response
        restricted = visibility == "private"
        buffered = _buffered(response)
        if buffered is None:
            return response  # too large to keep: streamed from storage every time
        cache.put(key, _entry(buffered, restricted), epoch)
        if restricted:
            reader_pass_grant(request, name, epoch)
        return buffered


def _buffered(response):
    """A response whose body is in memory (small tarballs are read in full), or None
    when the body is too large to keep."""
    if not getattr(response, "streaming", False):
        return response
    if int(response.get("Content-Length", CACHED_TARBALL_BYTES + 1)) > CACHED_TARBALL_BYTES:
        return None
    body = b"".join(response.streaming_content)
    # Close the file itself: response.close() would send request_finished mid-request,
    # which closes database connections the request is still using.
    response.file_to_stream.close()
    buffered = _tarball_response(body, response["Content-Type"])
    for header in ("ETag", "Cache-Control"):
        buffered[header] = response[header]
    return buffered


def _tarball_response(body: bytes, content_type: str):
    """Tarballs keep the streaming shape they have when read from storage."""
    response = StreamingHttpResponse([body], content_type=content_type)
    response["Content-Length"] = str(len(body))
    response.cached_body = body
    return response


def _entry(response, restricted: bool) -> CachedRead:
    body = response.content if not response.streaming else response.cached_body
    return CachedRead(
        body=body,
        etag=response["ETag"],
        content_type=response["Content-Type"],
        cache_control=response["Cache-Control"],
        vary=response.get("Vary", ""),
        stored_at=time.monotonic(),
        restricted=restricted,
    )


def _from_cache(request, hit: CachedRead):
    if etag_matches(request, hit.etag):
        response = HttpResponseNotModified()
    elif hit.content_type == "application/octet-stream":
        response = _tarball_response(hit.body, hit.content_type)
    else:
        response = HttpResponse(hit.body, content_type=hit.content_type)
        response["Content-Length"] = str(len(hit.body))
    response["ETag"] = hit.etag
    response["Cache-Control"] = hit.cache_control
    if hit.vary:
        response["Vary"] = hit.vary
    return response
