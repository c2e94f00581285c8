"""How a registry request says who it is: `Authorization: Bearer <token>` (or Basic)."""

import base64
import binascii

from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication

from accounts.actors import Actor, client_ip
from accounts.exceptions import InvalidCredentials, InvalidToken
from accounts.services.tokens import token_authenticate
from accounts.services.users import password_verify


def actor_from_request(request: HttpRequest) -> Actor:
    """The request's actor, authenticated once per request; raises on bad credentials."""
    cached = getattr(request, "_gatehouse_actor", None)
    if cached is not None:
        return cached
    actor = _authenticate(request)
    request._gatehouse_actor = actor
    return actor


def _authenticate(request: HttpRequest) -> Actor:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return Actor.anonymous(request)
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        token = token_authenticate(credentials.strip(), ip=client_ip(request))
        return Actor.for_request(request, token.user, token)
    if scheme == "basic":
        username, password = _basic_credentials(credentials)
        user = password_verify(actor=Actor.anonymous(request), username=username, password=password)
        if user.has_two_factor:
            # A password alone never acts for a person who has a second factor.
            raise InvalidCredentials(
                "This account uses two-factor authentication, so its password alone is not "
                "accepted here. Run `npm login` to get a token."
            )
        return Actor.for_request(request, user)
    raise InvalidToken(
        f'Unsupported authorization scheme "{scheme}". Run `npm login` to get a token.'
    )


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        raise InvalidCredentials("Malformed basic credentials. Run `npm login` to get a token.")
    return username, password


class TokenAuthentication(BaseAuthentication):
    """DRF adapter: `request.auth` is the Actor, `request.user` its user (None if anonymous)."""

    def authenticate(self, request):
        actor = actor_from_request(request._request)
        if actor.user is None:
            return None
        return (actor.user, actor)

    def authenticate_header(self, request):
        # No Basic/Bearer challenge: npm would replace our error text with canned text.
        return None


def request_actor(request) -> Actor:
    """The actor of a DRF or plain Django request."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, Actor):
        return auth
    return actor_from_request(getattr(request, "_request", request))
