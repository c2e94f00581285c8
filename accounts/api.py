"""The npm CLI's account endpoints: login (web and legacy), whoami, logout, tokens, profile."""

from django.urls import reverse
from django.utils.cache import patch_cache_control
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actors import Actor
from accounts.authentication import actor_from_request, request_actor
from accounts.exceptions import InvalidAccountData, InvalidCredentials, UsernameTaken
from accounts.models import Token, User
from accounts.second_factor import otp_challenge_poll
from accounts.secrets import TOKEN_PREFIX, secret_hash
from accounts.services.cli_login import cli_login_token
from accounts.services.profile import (
    account_change_guard,
    cli_tfa_confirm,
    cli_tfa_disable,
    cli_tfa_enable,
    profile_update,
    tfa_status,
)
from accounts.services.tokens import token_find, token_revoke, tokens_of
from accounts.services.users import password_verify, user_create
from accounts.services.web_login import web_login_poll, web_login_start
from portal.errors import AuthenticationRequired, NotFound
from portal.links import registry_url

COUCH_PREFIX = "org.couchdb.user:"


def _logged_in(request) -> Actor:
    actor = request_actor(request)
    if actor.user is None:
        raise AuthenticationRequired("You are not logged in. Run `npm login`.")
    return actor


def _no_cache(response: Response) -> Response:
    patch_cache_control(response, no_cache=True, private=True)
    return response


class AnonymousAPIView(APIView):
    """Login endpoints ignore credentials: npm sends a stale token here, and a 401 would
    silently push it into its password prompts."""

    authentication_classes = []


class WebLoginStart(AnonymousAPIView):
    def post(self, request):
        create = isinstance(request.data, dict) and bool(request.data.get("create"))
        login, done_secret = web_login_start(actor=Actor.anonymous(request), create_account=create)
        # Both URLs on the public base: behind a proxy the request's own host and scheme
        # (internal address, plain http) are not what the person's browser can open.
        login_url = registry_url(reverse("accounts:cli-login", args=[login.pk]))
        return Response(
            {"loginUrl": login_url, "doneUrl": registry_url(f"-/v1/done?sessionId={done_secret}")}
        )


class WebLoginDone(AnonymousAPIView):
    """The CLI's poll. npm may repeat the original request's method and body here."""

    parser_classes = []

    def get(self, request):
        token = web_login_poll(
            actor=Actor.anonymous(request), done_secret=request.query_params.get("sessionId", "")
        )
        if token is None:
            return _no_cache(Response({}, status=202, headers={"Retry-After": "1"}))
        return _no_cache(Response({"token": token}))

    post = put = delete = patch = get


class CouchUser(AnonymousAPIView):
    """Legacy `npm login --auth-type=legacy` and `npm adduser`, CouchDB-shaped."""

    def get(self, request, username: str, rev: str | None = None):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise NotFound(f"There is no user named {username} on this registry.")
        document = {"_id": COUCH_PREFIX + user.username, "name": user.username, "email": user.email}
        if "write" in request.query_params:
            document.update({"_rev": "1-0", "type": "user", "roles": []})
        return _no_cache(Response(document))

    def put(self, request, username: str, rev: str | None = None):
        actor = Actor.for_request(request, None)  # no user yet, but the npm-otp header
        body = request.data if isinstance(request.data, dict) else {}
        name = str(body.get("name") or username)
        password = str(body.get("password") or "")
        if name != username:
            raise InvalidAccountData("The user name in the URL and in the body differ.")
        if rev is not None:
            # The 409 path: the client retries with Basic credentials.
            user = _basic_user(request, name)
        elif User.objects.filter(username__iexact=name).exists():
            try:
                user = password_verify(actor=actor, username=name, password=password)
            except InvalidCredentials:
                if body.get("email"):
                    raise UsernameTaken(
                        f'The username "{name}" is taken. Choose another one.'
                    ) from None
                raise
        else:
            if not body.get("email"):
                raise InvalidCredentials(
                    "Incorrect username or password. Check them, or reset your password in the portal."
                )
            user = user_create(
                actor=actor, username=name, email=str(body["email"]), password=password
            )
        token = cli_login_token(actor=actor, user=user, via="legacy")
        return Response(
            {"ok": True, "id": COUCH_PREFIX + user.username, "rev": "1-0", "token": token},
            status=201,
        )


def _basic_user(request, name: str) -> User:
    actor = actor_from_request(request._request)
    # The credentials must be those of the user in the URL, not of any account.
    if actor.user is None or actor.token is not None or actor.user.username != name.lower():
        raise InvalidCredentials("Send your username and password. Run `npm login` again.")
    return actor.user


class WhoAmI(APIView):
    def get(self, request):
        return _no_cache(Response({"username": _logged_in(request).user.username}))


class Logout(AnonymousAPIView):
    """`npm logout`: revoke the token in the URL; idempotent so npm always forgets it."""

    def delete(self, request, token: str):
        row = Token.objects.filter(token_hash=secret_hash(token)).select_related("user").first()
        if row is not None and token.startswith(TOKEN_PREFIX):
            token_revoke(actor=Actor.for_request(request, row.user, row), token=row)
        return Response({"ok": True})


class Tokens(APIView):
    def get(self, request):
        actor = _logged_in(request)
        objects = [
            {
                "key": str(token.key),
                "token": token.display_prefix,
                "name": token.name or None,
                "created": token.created_at.isoformat(),
                "updated": (token.last_used_at or token.created_at).isoformat(),
                "readonly": token.readonly,
                "cidr_whitelist": token.cidr_whitelist or None,
            }
            for token in tokens_of(actor.user)
        ]
        return _no_cache(
            Response({"objects": objects, "total": len(objects), "urls": {"next": None}})
        )


class TokenRevoke(APIView):
    def delete(self, request, ident: str):
        actor = _logged_in(request)
        token = token_find(user=actor.user, key_or_secret=ident)
        account_change_guard(actor, "token revoke")
        token_revoke(actor=actor, token=token)
        return Response(status=204)


def _profile(user: User) -> dict:
    profile = {
        "name": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "tfa": tfa_status(user),
        "fullname": user.fullname,
        "created": user.date_joined.isoformat(),
        "updated": user.date_joined.isoformat(),
        "cidr_whitelist": None,
    }
    if user.pending_email:
        # npm prints keys it does not know, after its own: `pending_email: …`.
        profile["pending_email"] = user.pending_email
    return profile


class Profile(APIView):
    def get(self, request):
        return _no_cache(Response(_profile(_logged_in(request).user)))

    def post(self, request):
        """`npm profile set` and the 2FA steps of `npm profile enable-2fa/disable-2fa`."""
        actor = _logged_in(request)
        body = request.data if isinstance(request.data, dict) else {}
        tfa = body.get("tfa")
        if isinstance(tfa, list):
            codes = cli_tfa_confirm(actor=actor, code=str(tfa[0]) if tfa else "")
            return Response({**_profile(actor.user), "tfa": codes})
        if isinstance(tfa, dict):
            password = str(tfa.get("password", ""))
            if tfa.get("mode") == "disable":
                cli_tfa_disable(actor=actor, password=password)
                return Response(_profile(actor.user))
            uri = cli_tfa_enable(actor=actor, password=password, mode=str(tfa.get("mode", "")))
            return Response({**_profile(actor.user), "tfa": uri or tfa_status(actor.user)})
        # Basic credentials (the only other way in here) proved the password just now.
        user = profile_update(actor=actor, changes=body, password_checked=actor.token is None)
        response = Response(_profile(user))
        if user.pending_email and body.get("email") == user.pending_email:
            # npm prints `Set email to <the address in force>`; this says why, as a notice.
            response["npm-notice"] = (
                f"We sent a confirmation link to {user.pending_email}. Your email stays "
                f"{user.email} until you open it."
            )
        return response


class WebOTPDone(AnonymousAPIView):
    """The CLI's poll while the person approves a write with their security key. npm may
    repeat the original request's method and body here, so any method is accepted."""

    parser_classes = []

    def get(self, request, secret: str):
        code = otp_challenge_poll(done_secret=secret)
        if code is None:
            return _no_cache(Response({}, status=202, headers={"Retry-After": "1"}))
        return _no_cache(Response({"token": code}))

    post = put = delete = patch = get
