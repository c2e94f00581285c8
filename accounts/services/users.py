"""Creating accounts and checking passwords."""

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts import hooks, ratelimit
from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import (
    InvalidAccountData,
    InvalidCredentials,
    SignupClosed,
    UsernameTaken,
)
from accounts.models import User, username_validator
from accounts.services.email_verification import email_verification_send


def user_create(*, actor: Actor, username: str, email: str, password: str) -> User:
    if not settings.GATEHOUSE_OPEN_SIGNUP:
        raise SignupClosed(
            "Sign-up is closed on this registry. Ask an administrator to create your account."
        )
    username = username.strip()
    try:
        username_validator(username)
        if len(username) > 214:
            raise ValidationError("A username may be at most 214 characters long.")
        validate_email(email)
    except ValidationError as exc:
        raise InvalidAccountData(" ".join(exc.messages)) from None
    if User.objects.filter(username__iexact=username).exists() or hooks.name_taken_elsewhere(
        username
    ):
        raise UsernameTaken(f'The username "{username}" is taken. Choose another one.')
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        raise InvalidAccountData("Choose a stronger password: " + " ".join(exc.messages)) from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            event_record("account:create", actor=actor, user=user)
            email_verification_send(user)
    except IntegrityError:
        raise UsernameTaken(f'The username "{username}" is taken. Choose another one.') from None
    return user


def password_verify(*, actor: Actor, username: str, password: str) -> User:
    """The user whose password this is, or InvalidCredentials; rate-limited per address
    and, with a growing delay, per account (see accounts.ratelimit)."""
    account = username.strip().lower()
    # The address first: a guess it refuses must not take the account's next slot.
    ratelimit.ratelimit_attempt("password:ip", actor.ip)
    ratelimit.ratelimit_attempt("password:account", account)
    user = User.objects.filter(username__iexact=account, is_active=True).first()
    if user is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        User().set_password(password)
    elif user.check_password(password):
        ratelimit.ratelimit_reset("password:account", account)
        ratelimit.ratelimit_refund("password:ip", actor.ip)
        return user
    if user is not None:
        event_record("login:password-failed", actor=actor, user=user)
    raise InvalidCredentials(
        "Incorrect username or password. Check them, or reset your password in the portal."
    )
