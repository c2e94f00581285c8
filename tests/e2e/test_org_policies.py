"""An org's policies, met the way its members meet them: `npm publish` and `npm stage
publish` refused, with the registry's words on the screen, and accepted once complied with.

alice owns @acme and bob is a member; @acme/lib 1.0.0 was published before any policy, so
each policy is met both by a package that exists and by a first publish of a new name.
alice holds an authenticator app in auth-only mode: her publishes ask for no code, and she
sets policies from a portal session that has just passed it (changing them is governance).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Token
from registry.orgs.services import invitation_accept, invitation_create, org_create
from registry.orgs.services import org_policy_update as policy_update
from tests.accounts.factors import enroll_app, with_fresh_factor
from tests.conftest import issue_token

pytestmark = pytest.mark.django_db(transaction=True)

STAGED = "(staged with id "


def refused(result, code: str, text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"npm error code {code}" in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


@pytest.fixture
def acme(alice, alice_codes, bob, npm, alice_token):
    owner = with_fresh_factor(alice)
    org = org_create(actor=owner, name="acme")
    invitation, _ = invitation_create(actor=owner, org=org, username="bob")
    invitation_accept(actor=Actor(user=bob), invitation=invitation)
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("@acme/lib", "1.0.0"))
    return org


def set_policy(org, owner, **changes) -> None:
    """As the owner in the portal, right after passing her second factor."""
    policy_update(actor=with_fresh_factor(owner), org=org, changes=changes)


@pytest.fixture
def as_bob(make_npm, bob_token):
    npm = make_npm("bob")
    npm.login_with(bob_token)
    return npm


# --- require_2fa ---------------------------------------------------------------------


def test_require_2fa_refuses_members_without_a_second_factor_until_they_add_one(
    acme, alice, bob, as_bob
):
    set_policy(acme, alice, require_2fa=True)
    lib = as_bob.package("@acme/lib", "1.1.0")
    new = as_bob.package("@acme/new", "1.0.0")

    refused(
        as_bob("publish", cwd=lib, check=False),
        "E403",
        "@acme requires two-factor authentication to publish its packages. Add a second "
        "factor on your account's security page, then try again.",
    )
    refused(
        as_bob("stage", "publish", cwd=lib, check=False),
        "E403",
        "@acme requires two-factor authentication to stage its packages.",
    )
    refused(
        as_bob("publish", cwd=new, check=False),
        "E403",
        "@acme requires two-factor authentication to create its packages.",
    )
    refused(
        as_bob("stage", "publish", cwd=new, check=False),
        "E403",
        "@acme requires two-factor authentication to stage its packages.",
    )

    enroll_app(bob, mode="auth-only")

    as_bob("publish", cwd=lib)
    as_bob("publish", cwd=new)
    assert STAGED in as_bob("stage", "publish", cwd=as_bob.package("@acme/lib", "1.2.0")).stdout


# --- require_staged ------------------------------------------------------------------


def test_require_staged_sends_every_release_through_the_staging_queue(npm, acme, alice):
    set_policy(acme, alice, require_staged=True)
    lib = npm.package("@acme/lib", "1.1.0")
    new = npm.package("@acme/fresh", "1.0.0")
    must_stage = (
        "@acme requires staged publishing: run `npm stage publish`, then have a maintainer "
        "approve the release."
    )

    refused(npm("publish", cwd=lib, check=False), "E403", must_stage)
    refused(npm("publish", cwd=new, check=False), "E403", must_stage)

    assert STAGED in npm("stage", "publish", cwd=lib).stdout
    assert STAGED in npm("stage", "publish", cwd=new).stdout
    assert npm.json("view", "@acme/lib", "versions") == ["1.0.0"]


# --- publishing access ---------------------------------------------------------------


def test_second_factor_publishing_needs_an_otp_for_every_publish(
    npm, acme, alice, alice_codes, as_bob
):
    set_policy(acme, alice, publishing_access="second-factor")

    refused(
        as_bob("publish", cwd=as_bob.package("@acme/lib", "1.1.0"), check=False),
        "E403",
        "To publish @acme/lib you need a second factor. Add a security key or an "
        "authenticator app at http",
    )
    lib = npm.package("@acme/lib", "1.1.0")
    new = npm.package("@acme/other", "1.0.0")
    refused(npm("publish", cwd=lib, check=False), "EOTP", "one-time password")
    refused(npm("publish", cwd=new, check=False), "EOTP", "one-time password")

    npm("publish", f"--otp={alice_codes()}", cwd=lib)
    assert npm.json("view", "@acme/lib", "versions") == ["1.0.0", "1.1.0"]


def test_stage_automation_lets_credentials_without_a_second_factor_only_stage(
    npm, acme, alice, alice_codes
):
    set_policy(acme, alice, publishing_access="stage-automation")
    lib = npm.package("@acme/lib", "1.1.0")
    only_stage = (
        "@acme lets automation only stage releases: run `npm stage publish`, or publish "
        "yourself with --otp=<code>."
    )

    refused(npm("publish", cwd=lib, check=False), "E403", only_stage)
    refused(npm("publish", cwd=npm.package("@acme/new", "1.0.0"), check=False), "E403", only_stage)

    assert STAGED in npm("stage", "publish", cwd=npm.package("@acme/lib", "1.2.0")).stdout
    npm("publish", f"--otp={alice_codes()}", cwd=lib)
    assert npm.json("view", "@acme/lib", "versions") == ["1.0.0", "1.1.0"]


# --- dependency sources --------------------------------------------------------------


def test_a_git_dependency_is_refused_at_publish_and_at_stage(npm, acme, alice):
    set_policy(acme, alice, allow_git=False)
    package = npm.package(
        "@acme/lib", "1.1.0", dependencies={"tool": "git+https://git.example.com/tool.git"}
    )
    no_git = (
        '@acme does not allow git dependencies, but dependencies has "tool": '
        '"git+https://git.example.com/tool.git". Depend on a version from the registry '
        "instead, or ask an @acme owner to allow git dependencies."
    )

    refused(npm("publish", cwd=package, check=False), "E403", no_git)
    refused(npm("stage", "publish", cwd=package, check=False), "E403", no_git)

    set_policy(acme, alice, allow_git=True)
    npm("publish", cwd=package)


def test_file_and_directory_dependencies_follow_their_own_switches(npm, acme, alice):
    """npm publish sends `file:` and path specs as written (checked on the wire), so the
    registry is what refuses them."""
    tarball = npm.package("@acme/lib", "1.1.0", dependencies={"dep": "file:../dep/dep-1.0.0.tgz"})
    directory = npm.package("@acme/lib", "1.2.0", optionalDependencies={"dep": "../dep"})
    set_policy(acme, alice, allow_file=False, allow_directory=False)

    refused(
        npm("publish", cwd=tarball, check=False),
        "E403",
        '@acme does not allow file: dependencies, but dependencies has "dep": '
        '"file:../dep/dep-1.0.0.tgz".',
    )
    refused(
        npm("stage", "publish", cwd=directory, check=False),
        "E403",
        '@acme does not allow directory dependencies, but optionalDependencies has "dep": '
        '"../dep".',
    )

    set_policy(acme, alice, allow_file=True, allow_directory=True)
    npm("publish", cwd=tarball)
    npm("publish", cwd=directory)
    assert npm.json("view", "@acme/lib@1.1.0", "dependencies") == {
        "dep": "file:../dep/dep-1.0.0.tgz"
    }


# --- token lifetime ------------------------------------------------------------------


def test_an_old_token_cannot_write_the_orgs_packages_but_a_fresh_one_can(npm, acme, alice):
    set_policy(acme, alice, max_token_days=30)
    Token.objects.filter(user=alice).update(created_at=timezone.now() - timedelta(days=31))
    too_old = (
        "@acme accepts tokens that live at most 30 days for writes to its packages, and this "
        "one is older or lives longer. Run `npm login` for a fresh token."
    )
    lib = npm.package("@acme/lib", "1.1.0")

    refused(npm("publish", cwd=lib, check=False), "E403", too_old)
    refused(npm("stage", "publish", cwd=lib, check=False), "E403", too_old)
    refused(npm("publish", cwd=npm.package("@acme/new", "1.0.0"), check=False), "E403", too_old)
    npm("publish", cwd=npm.package("@alice/mine", "1.0.0"))  # not @acme's: no limit

    npm.login_with(issue_token(alice))
    npm("publish", cwd=lib)
    assert npm.json("view", "@acme/lib", "versions") == ["1.0.0", "1.1.0"]
