"""One fresh code offered for two operations at the same moment, each request in its own
thread and database connection: exactly one operation gets it. This must hold on
PostgreSQL, where the two transactions really overlap (CI runs it there).

On SQLite (a file, as in the embedded mode) BEGIN IMMEDIATE makes the second writer wait
for the first to commit, so there the requests take turns.
"""

import threading

import pytest
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import Actor
from accounts.models import SecondFactorUse, User
from accounts.second_factor import OTPRefused, second_factor_require
from tests.accounts.factors import app_code

pytestmark = pytest.mark.django_db(transaction=True)

TRIES = 50


def _person_with_an_app(number: int) -> tuple[User, TOTPDevice]:
    user = User.objects.create_user(
        username=f"racer{number}",
        email=f"racer{number}@example.com",
        tfa_mode=User.TwoFactorMode.AUTH_AND_WRITES,
    )
    return user, TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def _offer_together(user, code: str, operations: list[str]) -> list[str]:
    """Offer `code` for each operation at once, one thread each; returns each outcome."""
    start = threading.Barrier(len(operations))
    outcomes = [""] * len(operations)

    def offer(index: int) -> None:
        try:
            start.wait(timeout=20)
            outcomes[index] = second_factor_require(
                Actor(user=user, ip="192.0.2.7", otp=code),
                operation=operations[index],
                description={"summary": operations[index]},
            )
        except OTPRefused:
            outcomes[index] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=offer, args=(i,)) for i in range(len(operations))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_one_fresh_app_code_offered_to_two_operations_at_once_serves_only_one():
    double_uses = 0
    for number in range(TRIES):
        user, device = _person_with_an_app(number)

        outcomes = _offer_together(
            user, app_code(device), ["publish:foo@1.0.0", "dist-tag:foo:latest=0.9.0"]
        )

        assert sorted(outcomes) == ["app", "refused"] or outcomes == ["app", "app"], outcomes
        double_uses += outcomes == ["app", "app"]
        assert SecondFactorUse.objects.filter(user=user).count() == 1
    assert double_uses == 0


def test_one_fresh_code_offered_twice_for_the_same_operation_at_once_serves_both():
    # npm never sends two requests of one command at once, but if a proxy retried one, the
    # code would still be the operation's.
    for number in range(10):
        user, device = _person_with_an_app(number)

        outcomes = _offer_together(user, app_code(device), ["publish:foo@1.0.0"] * 2)

        assert outcomes == ["app", "app"]
