"""The governance doors with the real npm CLI, tried as an attacker would.

alice owns @acme and holds an authenticator app (auth-only). dave is a plain member who
published @acme/lib, so he maintains it, and has no second factor. tom is a plain member
with a second factor in auth-only mode, who also maintains @acme/lib. carol is outside
the org. @acme/lib requires staged publishing and a second factor to publish.
Every matrix cell is in tests/test_governance_matrix.py; these are the attacks, end to end.
"""

import pytest

from accounts.actors import Actor
from accounts.models import User
from registry.models import Maintainer, Package
from registry.orgs.models import Membership
from registry.orgs.services import invitation_accept, invitation_create, org_create
from tests.accounts.factors import Codes, with_fresh_factor
from tests.conftest import issue_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def refused(result, code: str, text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"npm error code {code}" in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


@pytest.fixture
def acme(npm, make_npm, alice, alice_token, carol, carol_token):
    npm.codes = Codes(alice, mode="auth-only")
    owner = with_fresh_factor(alice)
    org = org_create(actor=owner, name="acme")
    people = {"alice": npm, "carol": make_npm("carol")}
    people["carol"].login_with(carol_token)
    npm.login_with(alice_token)
    for name in ("dave", "tom"):
        user = make_user(name)
        invitation, _ = invitation_create(
            actor=owner, org=org, username=name, role=Membership.Role.MEMBER
        )
        invitation_accept(actor=Actor(user=user), invitation=invitation)
        people[name] = make_npm(name)
        people[name].login_with(issue_token(user))
    people["dave"]("publish", cwd=people["dave"].package("@acme/lib", "1.0.0"))
    lib = Package.objects.get(name="@acme/lib")
    tom = people["tom"]
    tom.codes = Codes(User.objects.get(username="tom"), mode="auth-only")
    Maintainer.objects.create(package=lib, user=tom.codes.user)
    Package.objects.filter(pk=lib.pk).update(require_staged=True, publish_requires_tfa=True)
    return people


def test_a_plain_member_cannot_add_a_sock_puppet_or_open_the_package(acme):
    dave = acme["dave"]

    refused(
        dave("owner", "add", "carol", "@acme/lib", check=False),
        "EOWNERMUTATE",  # npm's code for any refused owner change; the text is ours
        "Only owners and admins of @acme may change the maintainers of @acme/lib",
    )
    refused(
        dave("access", "set", "status=public", "@acme/lib", check=False),
        "E403",
        "Only owners and admins of @acme",
    )
    refused(
        dave("access", "set", "mfa=none", "@acme/lib", check=False),
        "E403",
        "Only owners and admins of @acme",
    )

    lib = Package.objects.get(name="@acme/lib")
    assert sorted(lib.maintainers.values_list("user__username", flat=True)) == ["dave", "tom"]
    assert lib.is_restricted and lib.publish_requires_tfa
    # And the outsider learns nothing of the org's people.
    refused(acme["carol"]("access", "list", "collaborators", "@acme/lib", check=False), "E404", "")


def test_not_even_the_owner_may_make_an_outsider_a_maintainer(acme):
    alice = acme["alice"]

    result = alice("owner", "add", "carol", "@acme/lib", f"--otp={alice.codes()}", check=False)

    refused(result, "EOWNERMUTATE", "carol is not a member of @acme")
    assert not Maintainer.objects.filter(user__username="carol").exists()


def test_the_owner_adds_a_member_with_a_fresh_code_and_is_asked_for_one(acme):
    alice = acme["alice"]

    refused(
        alice("owner", "add", "alice", "@acme/lib", check=False),
        "EOWNERMUTATE",
        "OTP required for authentication",
    )
    alice("owner", "add", "alice", "@acme/lib", f"--otp={alice.codes()}")

    assert Maintainer.objects.filter(package__name="@acme/lib", user__username="alice").exists()


def test_an_auth_only_maintainer_moves_latest_only_with_a_second_factor(acme):
    tom = acme["tom"]

    refused(tom("dist-tag", "add", "@acme/lib@1.0.0", "stable", check=False), "EOTP", "--otp")
    tom("dist-tag", "add", "@acme/lib@1.0.0", "stable", f"--otp={tom.codes()}")

    tags = tom.json("view", "@acme/lib", "dist-tags")
    assert tags["stable"] == "1.0.0"


def test_one_code_serves_one_change_only(acme):
    alice = acme["alice"]
    code = alice.codes()
    alice("owner", "add", "alice", "@acme/lib", f"--otp={code}")

    again = alice("access", "set", "mfa=none", "@acme/lib", f"--otp={code}", check=False)

    refused(again, "EOTP", "")
    assert Package.objects.get(name="@acme/lib").publish_requires_tfa
