"""`npm access get/set status` and `npm access set mfa=…` with the real npm CLI
(npm-protocol §17), and what the mfa policy then asks of a publisher. The API-level cases
are in tests/registry/test_package_policy.py."""

import pytest

from registry.models import Package
from tests.accounts.factors import app_code, enroll_app

pytestmark = pytest.mark.django_db(transaction=True)


def refused(result, code: str, text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"npm error code {code}" in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


def policy(name: str) -> tuple[bool, bool]:
    package = Package.objects.get(name=name)
    return package.publish_requires_tfa, package.automation_token_overrides_tfa


def test_npm_access_status_and_mfa_on_a_scoped_package(
    npm, make_npm, alice, alice_token, carol_token
):
    npm.login_with(alice_token)
    carol = make_npm("carol")
    carol.login_with(carol_token)
    # Auth-only: alice's writes do not ask for a second factor by themselves.
    device, spare = enroll_app(alice, mode="auth-only")
    codes = [*spare, app_code(device, steps_ahead=1)]

    def otp() -> str:
        return f"--otp={codes.pop()}"

    npm("publish", "--access", "public", cwd=npm.package("@alice/lib", "1.0.0"))
    assert npm("access", "get", "status", "@alice/lib").stdout.strip() == "@alice/lib: public"

    # A policy change asks a person with a second factor for a fresh one.
    refused(npm("access", "set", "status=private", "@alice/lib", check=False), "EOTP", "--otp")
    private = npm("access", "set", "status=private", "@alice/lib", otp())

    assert private.stdout.strip() == "@alice/lib: private"
    refused(carol("view", "@alice/lib", check=False), "E404", "@alice/lib is not in this registry")
    npm("access", "set", "status=public", "@alice/lib", otp())
    assert carol("view", "@alice/lib", "version").stdout.strip() == "1.0.0"

    npm("access", "set", "mfa=publish", "@alice/lib", otp())

    assert policy("@alice/lib") == (True, False)
    folder = npm.package("@alice/lib", "1.1.0")
    refused(npm("publish", cwd=folder, check=False), "EOTP", "--otp=<code>")
    npm("publish", otp(), cwd=folder)

    npm("access", "set", "mfa=automation", "@alice/lib", otp())
    assert policy("@alice/lib") == (True, True)

    npm("access", "set", "mfa=none", "@alice/lib", otp())
    assert policy("@alice/lib") == (False, True)
    npm("publish", cwd=npm.package("@alice/lib", "1.2.0"))
    assert npm.json("view", "@alice/lib", "versions") == ["1.0.0", "1.1.0", "1.2.0"]
