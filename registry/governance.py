"""Telling people that the rules changed: every governance change (who may release, and
under which rules) is emailed to the package's maintainers and its org's owners, beside
the security event that records it."""

from accounts.actors import Actor
from accounts.models import User
from accounts.notifications import notify
from registry.authz import package_writers
from registry.models import Package
from registry.orgs.models import Membership


def governance_audience(*, package: Package | None = None, org=None) -> list[User]:
    """Everyone who may write `package`, and the owners of its org (or of `org`)."""
    org = org if org is not None else getattr(package, "org", None)
    people = {user.pk: user for user in package_writers(package)} if package is not None else {}
    if org is not None:
        owners = User.objects.filter(
            memberships__org=org, memberships__role=Membership.Role.OWNER, is_active=True
        )
        people.update({user.pk: user for user in owners})
    return sorted(people.values(), key=lambda user: user.username)


def governance_notify(
    *, actor: Actor, what: str, package: Package | None = None, org=None, changes: list[str]
) -> None:
    """Email `what` changed (and how: `changes`, one line each) after the commit."""
    subject = package.name if package is not None else f"@{org.name}"
    for person in governance_audience(package=package, org=org):
        notify(
            person,
            "governance_changed",
            subject=subject,
            what=what,
            by=actor.user,
            changes=changes,
            ip=actor.ip or "unknown address",
        )
