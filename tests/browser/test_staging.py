"""Reviewing and approving a staged release in a real browser, with a security key."""

import tempfile
from pathlib import Path

import pytest
from django.test import Client

from registry.models import Maintainer, StagedApproval, StagedRelease
from tests.registry.helpers import publish
from tests.registry.test_staging_views import RISKY, stage

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOT = Path(tempfile.gettempdir()) / "gatehouse-staging-review.png"  # to look at
LONG_PATH = "lib/" + "very_long_generated_name_" * 8 + ".js"  # no place to break it

# Start a key ceremony for one staged release and send its assertion to other URLs, as an
# attacker holding the page (or a confused script) might: the fetches a page's script can make.
REPLAY = """
async ({begin, targets, beginBetween}) => {
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const post = (url, body) => fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
    body: JSON.stringify(body),
  });
  const options = await (await post(begin, {purpose: "approve"})).json();
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
  });
  if (beginBetween) await post(beginBetween, {purpose: "approve"});
  const answers = [];
  for (const url of targets) {
    const response = await post(url, {purpose: "approve", credential: credential.toJSON()});
    answers.push([response.status, (await response.json()).error || ""]);
  }
  return answers;
}
"""


def assert_readable(page) -> None:
    """Nothing runs off the side or hides behind a scrollbar: a long diff line or path wraps
    instead of widening the page (which pushed the Decide card out of sight), and added
    and removed lines are coloured."""
    for width in (1280, 420):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        hidden = page.evaluate(
            """() => [...document.querySelectorAll("ul.paths, pre.patch")]
                .filter((box) => box.scrollWidth > box.clientWidth).map((box) => box.className)"""
        )
        assert hidden == [], f"text hidden to the right in {hidden} at {width}px"
        button = page.locator("[data-key-assert][data-purpose=approve]").bounding_box()
        assert button is not None and button["x"] + button["width"] <= width
    page.set_viewport_size({"width": 1280, "height": 900})
    colours = page.evaluate(
        """() => ["pre.patch", "pre.patch .add", "pre.patch .del"].map(
            (selector) => getComputedStyle(document.querySelector(selector)).backgroundColor)"""
    )
    assert len(set(colours)) == 3, colours


def key_url(staged: StagedRelease, step: str, verb: str = "approve") -> str:
    return f"/staging/{staged.pk}/{verb}/key/{step}/"


@pytest.fixture
def alice_reviews(portal, alice, alice_token):
    """alice published padding 1.0.0, staged a risky 1.1.0 with a token (as CI would), and
    signs in with a security key."""
    publish(Client(), alice_token, "padding", "1.0.0")
    risky = {**RISKY, "extra_files": {**RISKY["extra_files"], LONG_PATH: "module.exports = 2\n"}}
    staged = stage(alice_token, "padding", "1.1.0", **risky)
    portal.add_authenticator()
    portal.login("alice")
    portal.enroll_key()
    return staged


def test_approve_with_a_security_key_after_reviewing(portal, alice, alice_reviews):
    staged = alice_reviews
    portal.goto("/staging/")
    assert "padding@1.1.0" in portal.text("table.queue")
    assert "2 high" in portal.text("table.queue")
    portal.follow("padding@1.1.0")
    assert portal.path == f"/staging/{staged.pk}/"

    risks = portal.text("ul.risks")
    assert "Adds a postinstall script, which npm runs on install." in risks
    assert "helper in dependencies comes from a git repository" in risks
    patch = portal.page.locator("pre.patch").first.inner_text()
    assert "+module.exports = '<script>alert(1)</script>'" in patch  # shown as text
    assert portal.page.locator("pre.patch script").count() == 0
    assert_readable(portal.page)
    portal.page.screenshot(path=SCREENSHOT, full_page=True)

    portal.click_and_wait("[data-key-assert][data-purpose=approve]")

    assert portal.path == f"/staging/{staged.pk}/"
    assert "Approved: padding@1.1.0 is published." in portal.messages()
    assert portal.text("h1").endswith("published")
    assert portal.page.locator("[data-key-assert]").count() == 0
    approval = StagedApproval.objects.get(staged_release=staged)
    assert approval.user == alice and approval.factor == "security-key"
    assert approval.sha512 == staged.sha512
    staged.refresh_from_db()
    assert staged.status == StagedRelease.Status.PUBLISHED
    assert Client().get("/padding").json()["dist-tags"]["latest"] == "1.1.0"


def test_an_approval_assertion_cannot_be_replayed_for_another_release(
    portal, alice_token, alice_reviews
):
    first = alice_reviews
    second = stage(alice_token, "padding", "1.2.0")
    portal.goto(f"/staging/{first.pk}/")
    portal.expect_console_error("status of 400")

    # Made for the first release, sent to the second (and then to the first: too late).
    answers = portal.page.evaluate(
        REPLAY,
        {
            "begin": key_url(first, "begin"),
            "targets": [key_url(second, "complete"), key_url(first, "complete")],
            "beginBetween": None,
        },
    )
    assert [status for status, _ in answers] == [400, 400]
    assert all("expired or was meant for something else" in error for _, error in answers)

    # Made for the first, sent to the second while a ceremony for the second is open.
    [(status, error)] = portal.page.evaluate(
        REPLAY,
        {
            "begin": key_url(first, "begin"),
            "targets": [key_url(second, "complete")],
            "beginBetween": key_url(second, "begin"),
        },
    )
    assert status == 400 and "could not be verified" in error

    # An approval assertion does not reject either.
    [(status, _)] = portal.page.evaluate(
        REPLAY,
        {
            "begin": key_url(first, "begin"),
            "targets": [key_url(first, "complete", "reject")],
            "beginBetween": None,
        },
    )
    assert status == 400

    assert not StagedApproval.objects.exists()
    for staged in (first, second):
        staged.refresh_from_db()
        assert staged.status == StagedRelease.Status.STAGED

    # The key itself works: a real ceremony for the second release approves it.
    portal.goto(f"/staging/{second.pk}/")
    portal.click_and_wait("[data-key-assert][data-purpose=approve]")
    assert "Approved: padding@1.2.0 is published." in portal.messages()
    assert StagedApproval.objects.get().staged_release_id == second.pk


def test_a_refused_approval_shows_why_on_the_page(portal, alice, bob, alice_reviews):
    """The key ceremony succeeds, the service refuses: the reason appears, nothing changes."""
    staged = alice_reviews
    Maintainer.objects.create(package=staged.package, user=bob)
    staged.package.exclude_stager = True
    staged.package.save()
    portal.expect_console_error("status of 403")

    portal.goto(f"/staging/{staged.pk}/")
    portal.page.click("[data-key-assert][data-purpose=approve]")

    status = portal.page.locator("#key-status.error")
    status.wait_for()
    assert "needs the approval of someone else" in status.inner_text()
    assert not StagedApproval.objects.exists()
