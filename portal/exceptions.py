"""Turns refusals into the registry's error shape: JSON with an `error` the npm CLI prints."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from portal.errors import DomainError

log = logging.getLogger(__name__)


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def registry_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"error": exc.message}
        body.update(getattr(exc, "extra", {}))
        return Response(body, status=exc.status, headers=exc.headers())
    if isinstance(exc, Http404):
        return Response({"error": "Not found."}, status=404)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"error": "The request body is too large for this registry. Make the package smaller."},
            status=413,
        )
    if isinstance(exc, drf.ParseError) and getattr(exc, "whole_message", False):
        return Response({"error": f"{exc.detail}"}, status=400)
    if isinstance(exc, drf.ParseError):
        return Response(
            {"error": f"The request body is not valid JSON ({exc.detail}). Use the npm CLI."},
            status=400,
        )
    if isinstance(exc, drf.UnsupportedMediaType):
        return Response({"error": "Send the body as application/json."}, status=415)
    if isinstance(exc, drf.MethodNotAllowed):
        return Response({"error": f"{exc.detail}"}, status=405)
    if isinstance(exc, drf.NotFound | drf.NotAcceptable):
        return Response({"error": f"{exc.detail}"}, status=exc.status_code)
    if isinstance(exc, drf.APIException):
        log.warning("Unhandled API exception: %r", exc)
        return Response({"error": f"{exc.detail}"}, status=exc.status_code)
    return None
