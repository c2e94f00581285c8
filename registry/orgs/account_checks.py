"""What orgs ask of people's accounts, answered through accounts.hooks (registered by
RegistryConfig.ready): an org's name is no name for a new account, and a member of an org
that requires two-factor authentication keeps a second factor."""

from accounts import hooks
from portal.errors import PermissionDenied
from registry.orgs.models import Org
from registry.orgs.services import orgs_requiring_2fa


def org_name_taken(name: str) -> bool:
    return Org.objects.filter(name__iexact=name).exists()


def org_two_factor_removal_check(user) -> None:
    """Refuse to leave a member of an org that requires 2FA without a second factor."""
    orgs = [f"@{org.name}" for org in orgs_requiring_2fa(user)]
    if orgs:
        raise PermissionDenied(
            f"{', '.join(orgs)} require{'s' if len(orgs) == 1 else ''} two-factor authentication, so "
            "you cannot turn it off while you are a member. Add another factor before removing this one."
        )


def account_checks_register() -> None:
    hooks.name_check_register(org_name_taken)
    hooks.two_factor_removal_check_register(org_two_factor_removal_check)
