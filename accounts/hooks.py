"""Questions accounts asks of the apps built on it.

accounts never imports the registry (docs/architecture.md). Where a rule about a person
depends on something above accounts (an org may require its members to keep a second
factor; an org's name is a name no new account may take), accounts asks here, and the
registry answers: `RegistryConfig.ready` registers its checks. With nothing registered,
every answer is "nothing against it".
"""

from collections.abc import Callable

# name -> whether something other than an account already uses it
_name_checks: list[Callable[[str], bool]] = []
# user -> None, or raise a DomainError saying why they must keep a second factor
_two_factor_removal_checks: list[Callable[[object], None]] = []


def name_check_register(check: Callable[[str], bool]) -> None:
    if check not in _name_checks:
        _name_checks.append(check)


def two_factor_removal_check_register(check: Callable[[object], None]) -> None:
    if check not in _two_factor_removal_checks:
        _two_factor_removal_checks.append(check)


def name_taken_elsewhere(name: str) -> bool:
    """Whether `name` (any case) is already used by something that is not an account."""
    return any(check(name) for check in _name_checks)


def two_factor_removal_check(user) -> None:
    """Raise if `user` may not be left without a second factor (e.g. an org requires one)."""
    for check in _two_factor_removal_checks:
        check(user)
