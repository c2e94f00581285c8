"""Proving an email address: a signed link, valid for a few days, for one address."""

from django.core import signing
from django.db import transaction
from django.urls import reverse

from accounts.actors import Actor
from accounts.events import event_record
from accounts.exceptions import InvalidAccountData
from accounts.models import User
from accounts.notifications import notify
from portal.links import registry_url

SALT = "gatehouse.email-verification"
MAX_AGE_SECONDS = 3 * 24 * 3600


def email_verification_send(user: User) -> None:
    token = signing.dumps({"user": user.pk, "email": user.email}, salt=SALT)
    url = registry_url(reverse("accounts:email-verify", args=[token]))
    notify(user, "email_verify", url=url)


def email_verify(*, actor: Actor, token: str) -> User:
    try:
        claim = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        raise InvalidAccountData(
            "This verification link is invalid or has expired. Send a new one from your account page."
        ) from None
    user = User.objects.filter(
        pk=claim.get("user"), email=claim.get("email"), is_active=True
    ).first()
    if user is None:
        raise InvalidAccountData("This link is for an address your account no longer uses.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(email_verified=True)
        user.email_verified = True
        event_record("account:email-verify", actor=actor, user=user, details={"email": user.email})
    return user
