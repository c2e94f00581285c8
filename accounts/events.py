"""The one way to record a security event."""

from accounts.actors import Actor
from accounts.models import SecurityEvent


def event_record(
    action: str,
    *,
    actor: Actor,
    user=None,
    package=None,
    package_name: str = "",
    org=None,
    details: dict | None = None,
) -> SecurityEvent:
    """Record `action` done by `actor`; `user` is the account it concerns (default: the actor)."""
    return SecurityEvent.objects.create(
        action=action,
        actor=actor.user,
        user=user if user is not None else actor.user,
        package=package,
        package_name=package_name or (package.name if package is not None else ""),
        org=org if org is not None else getattr(package, "org", None),
        token_key=getattr(actor.token, "key", None),
        ip=actor.ip,
        user_agent=actor.user_agent,
        details=details or {},
    )
