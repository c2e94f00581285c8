"""Malformed input is refused at the door, with a 400 that says what is wrong.

Two guards, for every route at once, so that no view has to remember them:

- ``BoundedJSONParser``, DRF's default parser: every body through
  ``portal.json_input.json_parse`` (strict JSON, bounded nesting, numbers and strings a
  database can store), as the few views that read a JSON body themselves do too.
- ``InputGuardMiddleware``, first in the stack (before the install fast path): a NUL
  byte in the path or the query string is refused before anything looks it up.

A registry route (the npm protocol, the REST API) gets the registry's JSON error, a
portal page a 400 page.
"""

from django.conf import settings
from django.shortcuts import render
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from portal.exceptions import error_response
from portal.json_input import InputRefused, json_parse


class BodyRefused(ParseError):
    """A request body refused by ``BoundedJSONParser``: the detail is the whole message."""

    whole_message = True


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, through ``json_parse``: a hostile body is a 400, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise BodyRefused(
                f'The request body names a charset Python does not know ("{encoding}"). '
                "Send JSON as UTF-8."
            ) from None
        except UnicodeDecodeError as exc:
            raise BodyRefused(
                f"The request body is not {encoding} (byte {exc.start}). Send JSON as UTF-8."
            ) from None
        try:
            return json_parse(text)
        except InputRefused as exc:
            if exc.syntax:  # the handler's "not valid JSON" wording
                raise ParseError(str(exc)) from None
            raise BodyRefused(
                f"The request body is refused: {exc}. Send what the npm CLI sends, or fix the "
                "value and try again."
            ) from None


def wants_json(path: str) -> bool:
    """Registry routes never end in a slash (npm's paths); portal pages always do. The REST
    API, under /api/, answers JSON too."""
    return path.startswith("/api/") or not path.endswith("/")


class InputGuardMiddleware:
    """Refuses a NUL byte in the path or the query string, before any lookup; and gives a
    registry route's refusals the registry's shape when Django answered them (a path no
    route takes, a method a plain view does not)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or "%00" in query or "\x00" in query:
            return _refused(
                request,
                "The request has a NUL byte (%00) in its path or query, which no package, "
                "user or parameter name may contain. Check the name you typed and try again.",
            )
        response = self.get_response(request)
        if (
            400 <= response.status_code < 500
            and wants_json(request.path_info)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _as_registry_error(request, response)
        return response


def _as_registry_error(request, response):
    if response.status_code == 404:
        message = (
            f"Nothing is at {request.path_info[:200]} on this registry. Check the package "
            "name, or the registry URL in your npm configuration."
        )
    elif response.status_code == 405:
        message = (
            f"{request.method} is not allowed here. Use the npm CLI, which sends the right request."
        )
    else:
        message = f"The registry refused this request ({response.status_code}). Use the npm CLI."
    refused = error_response(response.status_code, message)
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            refused[header] = response[header]
    return refused


def _refused(request, message: str):
    if wants_json(request.path_info):
        response = error_response(400, message)
    else:
        response = render(request, "400.html", {"message": message}, status=400)
    response["X-Content-Type-Options"] = "nosniff"  # SecurityMiddleware's, which it skips
    return response
