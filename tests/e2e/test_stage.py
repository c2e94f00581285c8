"""Staged publishing with the real npm CLI (npm-protocol §20): `npm stage publish`, `list`,
`view`, `download`, `approve` and `reject`; the "every release must be staged" policy; and a
two-person quorum. The API-level cases are in tests/registry/test_stage.py.

Each person gets one fresh app code (`app_code(device, steps_ahead=1)`: enrolling used the
current one); their recovery codes stand in where a test needs more.
"""

import base64
import hashlib
import json
import re

import pytest

from registry.models import Package, StagedRelease
from tests.accounts.factors import app_code, enroll_app
from tests.conftest import issue_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)

STAGED = re.compile(r"^\+ (?P<spec>\S+) \(staged with id (?P<id>[0-9a-f-]{36})\)$", re.M)


def refused(result, code: str, text: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"npm error code {code}" in result.stderr, result.stderr
    assert text in result.stderr, result.stderr


class Codes:
    """A person's one fresh app code, then their recovery codes."""

    def __init__(self, user):
        device, self.spare = enroll_app(user, mode="auth-only")
        self.spare.append(app_code(device, steps_ahead=1))

    def otp(self) -> str:
        return f"--otp={self.spare.pop()}"


def stage_publish(npm, folder, *args) -> str:
    """`npm stage publish` from `folder`; returns the stage id npm printed."""
    result = npm("stage", "publish", *args, cwd=folder)
    match = STAGED.search(result.stdout)
    assert match, result.stdout
    return match["id"]


def test_stage_review_download_and_approve_then_install_from_the_staged_tag(
    npm, alice, alice_token
):
    npm.login_with(alice_token)
    codes = Codes(alice)
    npm("publish", cwd=npm.package("stage-x", "0.9.0"))

    staged = npm("stage", "publish", "--tag", "beta", cwd=npm.package("stage-x", "1.0.0"))

    stage_id = STAGED.search(staged.stdout)["id"]
    assert STAGED.search(staged.stdout)["spec"] == "stage-x@1.0.0"
    assert "has been staged with tag beta" in staged.stderr
    # Installers do not see it until it is approved.
    assert npm.json("view", "stage-x", "versions") == ["0.9.0"]
    refused(npm("view", "stage-x@1.0.0", check=False), "E404", "No match found for version 1.0.0")

    listed = npm("stage", "list").stdout
    for line in [f"id: {stage_id}", "package name: stage-x", "version: 1.0.0", "tag: beta"]:
        assert line in listed.splitlines(), listed
    assert "staged by: alice (token test) (token)" in listed
    assert "approvals: 0 of 1" in listed
    (item,) = npm.json("stage", "list")
    assert (item["id"], item["packageName"], item["status"]) == (stage_id, "stage-x", "staged")
    assert f"id: {stage_id}" in npm("stage", "list", "stage-x").stdout
    assert npm("stage", "list", "other-x").stdout.strip() == (
        'No staged versions of package name "other-x".'
    )
    assert f"integrity: {item['integrity']}" in npm("stage", "view", stage_id).stdout

    npm("stage", "download", stage_id)

    downloaded = (npm.root / f"stage-x-1.0.0-{stage_id}.tgz").read_bytes()
    digest = base64.b64encode(hashlib.sha512(downloaded).digest()).decode()
    assert f"sha512-{digest}" == item["integrity"]

    refused(npm("stage", "approve", stage_id, check=False), "EOTP", "--otp=<code>")
    approved = npm("stage", "approve", stage_id, codes.otp())

    assert f"Staged package {stage_id} approved and published successfully." in approved.stdout
    assert npm.json("view", "stage-x", "dist-tags") == {"latest": "0.9.0", "beta": "1.0.0"}
    project = npm.project({"stage-x": "beta"})
    npm("install", cwd=project)
    installed = json.loads((project / "node_modules/stage-x/package.json").read_text())
    assert installed["version"] == "1.0.0"
    assert npm("stage", "list").stdout.strip() == "No staged packages found."


def test_rejecting_frees_the_version_number_and_repeats_are_refused(npm, alice, alice_token):
    npm.login_with(alice_token)
    codes = Codes(alice)
    folder = npm.package("reject-x", "1.0.0")
    first = stage_publish(npm, folder)

    refused(
        npm("stage", "publish", cwd=folder, check=False),
        "E409",
        "reject-x@1.0.0 is staged and waits for approval. Approve or reject it first "
        "(`npm stage list reject-x` shows its id), or release another version.",
    )
    rejected = npm("stage", "reject", first, codes.otp())

    assert f"Staged package {first} has been rejected." in rejected.stdout
    # As npm warned: the record and the tarball are gone.
    gone = (
        "The staged release of reject-x@1.0.0 was rejected: its record and tarball are "
        "deleted. Stage the version again with `npm stage publish` if you still want it."
    )
    refused(npm("stage", "view", first, check=False), "E404", gone)
    refused(npm("stage", "download", first, check=False, cwd=folder), "E404", gone)
    assert npm("stage", "list").stdout.strip() == "No staged packages found."
    second = stage_publish(npm, folder)
    assert second != first
    npm("stage", "approve", second, codes.otp())
    # Once published, npm itself refuses: its pre-check GET finds the version (the registry's
    # own refusal is covered in tests/registry/test_stage.py).
    again = npm("stage", "publish", cwd=folder, check=False)
    assert again.returncode == 1
    assert "You cannot publish over the previously published versions: 1.0.0." in again.stderr
    assert npm.json("view", "reject-x", "versions") == ["1.0.0"]


def test_a_package_that_requires_staging_and_an_approver_without_a_second_factor(
    npm, alice, alice_token
):
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("policy-x", "1.0.0"))
    Package.objects.filter(name="policy-x").update(require_staged=True)  # arranged
    folder = npm.package("policy-x", "1.1.0")

    refused(
        npm("publish", cwd=folder, check=False),
        "E403",
        "policy-x requires staged publishing: run `npm stage publish`, then have a maintainer "
        "approve the release.",
    )
    stage_id = stage_publish(npm, folder)
    # "private": true never leaves npm (the registry's own refusal: tests/registry/test_stage.py).
    private = npm.package("policy-x", "1.2.0", private=True)
    refused(npm("stage", "publish", cwd=private, check=False), "EPRIVATE", "marked as private")
    refused(
        npm("stage", "approve", stage_id, check=False),
        "E403",
        "To approve or reject a staged release you need a second factor. Add a security key or an "
        "authenticator app at",
    )
    assert StagedRelease.objects.get().status == "staged"


def test_a_two_person_quorum_that_excludes_the_stager(
    npm, make_npm, alice, alice_token, bob, bob_token, carol_token
):
    dave = make_user("dave")
    alice_codes, bob_codes, dave_codes = Codes(alice), Codes(bob), Codes(dave)
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("quorum-x", "1.0.0"))
    npm("owner", "add", "bob", "quorum-x", alice_codes.otp())
    npm("owner", "add", "dave", "quorum-x", alice_codes.otp())
    # The quorum is set on the settings page (tests/registry/test_package_settings_page.py).
    Package.objects.filter(name="quorum-x").update(approvals_required=2, exclude_stager=True)
    people = {}
    for label, token in [("bob", bob_token), ("carol", carol_token), ("dave", issue_token(dave))]:
        people[label] = make_npm(label)
        people[label].login_with(token)
    stage_id = stage_publish(npm, npm.package("quorum-x", "1.1.0"))

    refused(
        npm("stage", "approve", stage_id, alice_codes.otp(), check=False),
        "E403",
        "You staged quorum-x@1.1.0, and quorum-x needs the approval of someone else.",
    )
    first = people["bob"]("stage", "approve", stage_id, bob_codes.otp())
    # npm's own line claims it was published; the registry's notice says what happened.
    assert (
        "npm notice Your approval of quorum-x@1.1.0 is recorded (1 of 2). It needs 1 more "
        "approval from other maintainers before it is published." in first.stderr
    )
    assert "approvals: 1 of 2" in people["bob"]("stage", "view", stage_id).stdout
    assert npm.json("view", "quorum-x", "versions") == ["1.0.0"]
    refused(
        people["carol"]("stage", "approve", stage_id, "--otp=123456", check=False),
        "E404",
        "There is no staged release",
    )
    people["dave"]("stage", "approve", stage_id, dave_codes.otp())

    assert npm.json("view", "quorum-x", "versions") == ["1.0.0", "1.1.0"]
    assert sorted(
        StagedRelease.objects.get().approvals.values_list("user__username", flat=True)
    ) == ["bob", "dave"]
