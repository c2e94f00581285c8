"""Proving an email address: a signed link, valid for a few days, for one address.

A new account's address is proved the same way. A change of address waits for it: the new
address is kept as `pending_email` and becomes the account's only when its link is
followed, so a stolen token or session cannot move the account's mail (and with it the
password reset) to an address nobody proved.
"""

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


def email_to_verify(user: User) -> str | None:
    """The address a verification link would prove: the pending one, else the account's
    own while it is unproved; None when there is nothing to prove."""
    if user.pending_email:
        return user.pending_email
    return None if user.email_verified else user.email


def email_verification_send(user: User) -> None:
    address = email_to_verify(user)
    if not address:
        return
    token = signing.dumps({"user": user.pk, "email": address}, salt=SALT)
    url = registry_url(reverse("accounts:email-verify", args=[token]))
    notify(user, "email_verify", to=address, email=address, url=url)


def email_verify(*, actor: Actor, token: str) -> User:
    try:
        claim = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        raise InvalidAccountData(
            "This verification link is invalid or has expired. Send a new one from your account page."
        ) from None
    email = claim.get("email") or ""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=claim.get("user"), is_active=True).first()
        if user is not None and email and email == user.pending_email:
            _email_change_complete(actor, user)
        elif user is not None and email == user.email:
            User.objects.filter(pk=user.pk).update(email_verified=True)
            user.email_verified = True
            event_record("account:email-verify", actor=actor, user=user, details={"email": email})
        else:
            raise InvalidAccountData(
                "This link is for an address your account no longer uses or asks for. "
                "Check the address on your account page."
            )
    return user


def _email_change_complete(actor: Actor, user: User) -> None:
    """The new address proved itself: it becomes the account's, and the old one is told."""
    old, new = user.email, user.pending_email
    user.email, user.email_verified, user.pending_email = new, True, ""
    user.save(update_fields=["email", "email_verified", "pending_email"])
    event_record("account:email-change", actor=actor, user=user, details={"from": old, "to": new})
    notify(user, "email_changed", to=old, old=old, new=new)
