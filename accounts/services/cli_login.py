"""The last step of every `npm login`: a token, only once every factor was shown."""

import uuid

from django.db import transaction

from accounts.actors import Actor
from accounts.events import event_record
from accounts.models import Token, User
from accounts.notifications import notify
from accounts.second_factor import second_factor_require
from accounts.services.tokens import token_issue


def cli_login_token(*, actor: Actor, user: User, via: str) -> str:
    """Issue the CLI's token. `via="legacy"` means only a password was seen so far, so a
    person with 2FA must show their second factor (npm sends it as `npm-otp`)."""
    person = Actor(
        user=user, ip=actor.ip, user_agent=actor.user_agent, otp=actor.otp, npm_command="login"
    )
    if via == "legacy" and user.has_two_factor:
        # A login is one request: each one is an operation of its own, so one code signs
        # in once, never again within its window.
        second_factor_require(
            person,
            operation=f"login:{uuid.uuid4().hex}",
            description={"summary": f"Sign in to the npm CLI as {user.username}"},
        )
    with transaction.atomic():
        secret = token_issue(actor=person, user=user, kind=Token.Kind.SESSION, name="npm login")
        event_record("login:cli", actor=person, user=user, details={"via": via})
        notify(user, "cli_login", ip=actor.ip)
    return secret
