"""The staging dashboard: the queue, the review page, and deciding with an app code."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.sudo import SESSION_KEY as SUDO_SESSION_KEY
from registry.models import Maintainer, StagedApproval, StagedRelease, Version
from registry.orgs.models import Org
from tests.accounts.factors import app_code, enroll_app
from tests.packages import publish_body
from tests.registry.helpers import publish

pytestmark = pytest.mark.django_db

Status = StagedRelease.Status

# A release that trips the signals a reviewer must not miss.
RISKY = {
    "package_json": {
        "scripts": {"postinstall": "node setup.js"},
        "dependencies": {"helper": "github:someone/helper"},
        "bin": {"padder": "cli.js"},
    },
    "extra_files": {
        "index.js": "module.exports = '<script>alert(1)</script>'\n",
        "cli.js": "#!/usr/bin/env node\nrequire('./index.js')\n",
        "dist/app.min.js": "var a=1;" * 300,
    },
}


def stage(token: str, name: str, version: str = "1.0.0", **kwargs) -> StagedRelease:
    """`npm stage publish`, through the registry API."""
    response = Client().post(
        f"/-/stage/package/{name}",
        data=json.dumps(publish_body(name, version, **kwargs)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201, response.content
    return StagedRelease.objects.get(pk=response.json()["stageId"])


def review_url(staged: StagedRelease, tail: str = "") -> str:
    return f"/staging/{staged.pk}/{tail}"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# The queue ------------------------------------------------------------------------------


def test_queue_lists_my_packages_waiting_releases_newest_first(
    client, alice, alice_token, bob, bob_token, carol_token
):
    older = stage(alice_token, "queue-old")
    newer = stage(alice_token, "queue-new", **RISKY)
    Maintainer.objects.create(package=newer.package, user=bob)
    enroll_app(bob, mode="auth-only")  # an approval counts while its approver holds a factor
    StagedApproval.objects.create(staged_release=newer, user=bob, factor="app", sha512="x")
    newer.package.approvals_required = 2
    newer.package.save()
    StagedRelease.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=3))
    theirs = stage(carol_token, "queue-carols")
    decided = stage(alice_token, "queue-done")
    StagedRelease.objects.filter(pk=decided.pk).update(status=Status.REJECTED)

    client.force_login(alice)
    html = page(client, "/staging/")

    assert html.index("queue-new@1.0.0") < html.index("queue-old@1.0.0")
    assert review_url(newer) in html and review_url(older) in html
    assert "queue-carols" not in html and review_url(theirs) not in html
    assert "queue-done" not in html
    assert "3\xa0hours" in html  # age of the older one
    assert "in 6\xa0days" in html  # both expire in a week
    assert "1 of 2" in html and "0 of 1" in html
    assert "alice (token test)" in html
    assert '<span class="badge high">2 high</span>' in html  # install script, git dependency
    assert '<span class="muted">none</span>' in html  # a plain first release

    client.force_login(bob)
    html = page(client, "/staging/")
    assert "queue-new@1.0.0" in html and "queue-old" not in html


def test_queue_is_empty_for_someone_who_maintains_nothing(client, alice_token, carol):
    stage(alice_token, "queue-not-yours")
    client.force_login(carol)
    html = page(client, "/staging/")
    assert "Nothing is waiting for you" in html and "queue-not-yours" not in html


def test_queue_and_review_need_a_login(client, alice_token):
    staged = stage(alice_token, "queue-anon")
    for url in ("/staging/", review_url(staged)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/account/login/")


# The review page ------------------------------------------------------------------------


def test_review_page_shows_who_staged_what_and_how(client, alice, alice_token):
    publish(client, alice_token, "reviewed", "1.0.0", extra_files={"lib/old.js": "old\n"})
    staged = stage(alice_token, "reviewed", "1.1.0", tag="next", **RISKY)

    client.force_login(alice)
    html = page(client, review_url(staged))

    assert "reviewed@1.1.0" in html
    assert "<dt>Staged by</dt><dd>alice (token test)</dd>" in html
    assert "<dt>How</dt><dd>with an access token</dd>" in html
    assert "<dt>Tag</dt><dd><code>next</code></dd>" in html
    assert f"<dt>Size</dt><dd>{staged.size}\xa0bytes</dd>" in html
    assert staged.sha512[:32] in html
    assert "0 of 1" in html
    # Files and the diff against 1.0.0
    assert "Changes since 1.0.0" in html
    assert "2 added, 1 removed, 2 changed." in html
    for added in ("cli.js", "dist/app.min.js"):
        assert f'<li class="added"><code>{added}</code></li>' in html
    assert '<li class="removed"><code>lib/old.js</code></li>' in html
    assert "Files (4, " in html
    # The changed file's patch, escaped: a reviewer sees the script tag, the browser doesn't run it.
    assert (
        '<span class="file">--- a/index.js</span><span class="file">+++ b/index.js</span>' in html
    )
    assert '<span class="hunk">@@ -1 +1 @@</span>' in html
    assert '<span class="del">-module.exports = 1</span>' in html
    assert (
        '<span class="add">+module.exports = &#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;</span>'
    ) in html
    assert "<script>alert(1)" not in html
    assert '<span class="note">\\ No newline at end of file</span>' in html  # package.json
    # The risk signals
    assert "Adds a postinstall script, which npm runs on install." in html
    assert "helper in dependencies comes from a git repository" in html
    assert "Adds the command padder, which runs cli.js." in html
    assert "Adds 1 minified script: dist/app.min.js." in html


def test_review_page_puts_risk_signals_before_the_diff(client, alice, alice_token):
    publish(client, alice_token, "risk-first", "1.0.0")
    staged = stage(alice_token, "risk-first", "1.1.0", **RISKY)
    client.force_login(alice)
    html = page(client, review_url(staged))
    assert html.index("Risk signals") < html.index("Changes since") < html.index("Files (")
    assert html.index("risk-high") < html.index("risk-medium")


def test_outsiders_get_404_for_review_and_decisions(client, alice_token, carol):
    staged = stage(alice_token, "private-review")
    enroll_app(carol)  # a second factor does not make it theirs
    client.force_login(carol)

    assert client.get(review_url(staged)).status_code == 404
    for tail in ("approve/", "reject/", "approve/key/begin/", "reject/key/complete/"):
        assert client.post(review_url(staged, tail), {"code": "123456"}).status_code == 404
    staged.refresh_from_db()
    assert staged.status == Status.STAGED and not staged.approvals.exists()


def test_unknown_stage_id_is_404(client, alice):
    client.force_login(alice)
    assert client.get("/staging/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_review_page_offers_an_app_code_form_to_people_with_one(client, alice, alice_token):
    staged = stage(alice_token, "offered")
    enroll_app(alice)
    client.force_login(alice)
    html = page(client, review_url(staged))
    assert f'action="{review_url(staged, "approve/")}"' in html
    assert f'action="{review_url(staged, "reject/")}"' in html
    assert "Approve with security key" not in html  # no key enrolled


def test_approving_with_an_app_code_publishes(client, alice, alice_token):
    publish(client, alice_token, "approved-pkg", "1.0.0")
    staged = stage(alice_token, "approved-pkg", "1.1.0")
    device, _ = enroll_app(alice)
    client.force_login(alice)

    response = client.post(
        review_url(staged, "approve/"), {"code": app_code(device, steps_ahead=1)}, follow=True
    )

    assert "Approved: approved-pkg@1.1.0 is published." in messages_of(response)
    staged.refresh_from_db()
    assert staged.status == Status.PUBLISHED and staged.decided_by == alice
    [approval] = staged.approvals.all()
    assert (approval.user, approval.factor, approval.sha512) == (alice, "app", staged.sha512)
    assert Version.objects.get(package__name="approved-pkg", version="1.1.0").state == (
        Version.State.PUBLISHED
    )
    packument = Client().get("/approved-pkg").json()
    assert "1.1.0" in packument["versions"]
    assert packument["dist-tags"]["latest"] == "1.1.0"
    html = response.content.decode()
    assert "status-published" in html and "<h2>Decide</h2>" not in html


def test_approving_with_a_recovery_code_records_it(client, alice, alice_token):
    staged = stage(alice_token, "recovered")
    _, codes = enroll_app(alice)
    client.force_login(alice)

    client.post(review_url(staged, "approve/"), {"code": codes[0]})

    assert staged.approvals.get().factor == "recovery-code"


def test_a_wrong_code_changes_nothing(client, alice, alice_token):
    staged = stage(alice_token, "wrong-code")
    device, _ = enroll_app(alice)
    client.force_login(alice)
    wrong = f"{(int(app_code(device)) + 500_000) % 1_000_000:06d}"

    response = client.post(review_url(staged, "approve/"), {"code": wrong}, follow=True)

    assert "That code is not valid" in messages_of(response)
    staged.refresh_from_db()
    assert staged.status == Status.STAGED and not staged.approvals.exists()
    assert staged.version.state == Version.State.STAGED
    assert "1.0.0" not in Client().get("/wrong-code").json().get("versions", {})


def test_rejecting_with_a_code_frees_the_version_number(client, alice, alice_token):
    publish(client, alice_token, "rejected-pkg", "1.0.0")
    staged = stage(alice_token, "rejected-pkg", "1.1.0")
    device, _ = enroll_app(alice)
    client.force_login(alice)

    response = client.post(
        review_url(staged, "reject/"), {"code": app_code(device, steps_ahead=1)}, follow=True
    )

    assert "Rejected: rejected-pkg@1.1.0 was removed" in messages_of(response)
    staged.refresh_from_db()
    assert staged.status == Status.REJECTED and staged.version is None
    assert not Version.objects.filter(package__name="rejected-pkg", version="1.1.0").exists()
    # Back in the queue, where it is no longer listed: its review page is gone with it.
    assert response.redirect_chain == [("/staging/", 302)]
    assert review_url(staged) not in response.content.decode()
    assert client.get(review_url(staged)).status_code == 404
    # The number is free: staging it again works.
    assert stage(alice_token, "rejected-pkg", "1.1.0").status == Status.STAGED


def test_quorum_waits_for_the_second_approver(client, alice, alice_token, bob):
    staged = stage(alice_token, "quorum")
    Maintainer.objects.create(package=staged.package, user=bob)
    staged.package.approvals_required = 2
    staged.package.save()
    alice_device, _ = enroll_app(alice)
    bob_device, _ = enroll_app(bob)

    client.force_login(alice)
    response = client.post(
        review_url(staged, "approve/"), {"code": app_code(alice_device, steps_ahead=1)}, follow=True
    )
    assert "Your approval of quorum@1.0.0 is recorded" in messages_of(response)
    assert "You approved this release. It waits for the other approvals." in (
        response.content.decode()
    )
    assert "1 of 2" in response.content.decode()

    client.force_login(bob)
    response = client.post(
        review_url(staged, "approve/"), {"code": app_code(bob_device, steps_ahead=1)}, follow=True
    )
    assert "Approved: quorum@1.0.0 is published." in messages_of(response)


def test_without_a_second_factor_the_page_says_add_one_and_a_post_is_refused(
    client, alice, alice_token
):
    staged = stage(alice_token, "no-factor")
    client.force_login(alice)

    html = page(client, review_url(staged))
    assert "Approving needs a second factor." in html
    assert "Add a security key or an authenticator app" in html
    assert 'name="code"' not in html

    for verb in ("approve", "reject"):
        response = client.post(review_url(staged, f"{verb}/"), {"code": "123456"}, follow=True)
        assert "To approve or reject a staged release you need a second factor" in (
            messages_of(response)
        )
    staged.refresh_from_db()
    assert staged.status == Status.STAGED and not staged.approvals.exists()


def test_decisions_are_post_only(client, alice, alice_token):
    staged = stage(alice_token, "post-only")
    client.force_login(alice)
    assert client.get(review_url(staged, "approve/")).status_code == 405


def test_a_decided_release_shows_its_status_and_no_decide_form(client, alice, alice_token):
    published = stage(alice_token, "decided-a")
    device, _ = enroll_app(alice)
    client.force_login(alice)
    client.post(review_url(published, "approve/"), {"code": app_code(device, steps_ahead=1)})
    expired = stage(alice_token, "decided-b")
    StagedRelease.objects.filter(pk=expired.pk).update(status=Status.EXPIRED)

    html = page(client, review_url(published))
    assert '<span class="status status-published">published</span>' in html
    assert "<h2>Decide</h2>" not in html and "data-key-assert" not in html
    assert review_url(published, "approve/") not in html
    # An expired release is gone with its tarball, as a rejected one is.
    assert client.get(review_url(expired)).status_code == 404


def test_deciding_twice_is_refused_with_a_message(client, alice, alice_token):
    staged = stage(alice_token, "twice")
    device, codes = enroll_app(alice)
    client.force_login(alice)
    client.post(review_url(staged, "approve/"), {"code": app_code(device, steps_ahead=1)})

    response = client.post(review_url(staged, "reject/"), {"code": codes[0]}, follow=True)

    assert "was already published; there is nothing left to reject" in messages_of(response)
    staged.refresh_from_db()
    assert staged.status == Status.PUBLISHED


def test_the_stager_cannot_approve_when_the_package_excludes_them(client, alice, alice_token, bob):
    staged = stage(alice_token, "excluded")
    Maintainer.objects.create(package=staged.package, user=bob)
    staged.package.exclude_stager = True
    staged.package.save()
    device, _ = enroll_app(alice)
    client.force_login(alice)

    response = client.post(
        review_url(staged, "approve/"), {"code": app_code(device, steps_ahead=1)}, follow=True
    )

    assert "needs the approval of someone else" in messages_of(response)
    assert not staged.approvals.exists()


def test_sudo_stamp_is_not_what_approval_relies_on(client, alice, alice_token):
    """A fresh sudo stamp does not replace the code: every decision asks for one."""
    staged = stage(alice_token, "no-sudo-shortcut")
    enroll_app(alice)
    client.force_login(alice)
    session = client.session
    session[SUDO_SESSION_KEY] = int(time.time())
    session.save()

    client.post(review_url(staged, "approve/"), {"code": ""})

    staged.refresh_from_db()
    assert staged.status == Status.STAGED and not staged.approvals.exists()


def test_queue_counts_approvals_as_the_review_page_does(client, alice, alice_token, bob):
    """The queue counts as the review page and the service do: with exclude_stager, not the
    stager's own approval (given before the policy changed); the org's quorum if higher."""
    staged = stage(alice_token, "agreeing")
    Maintainer.objects.create(package=staged.package, user=bob)
    for person in (alice, bob):  # approvals count while their approvers hold a factor
        enroll_app(person, mode="auth-only")
    StagedApproval.objects.create(staged_release=staged, user=alice, factor="app", sha512="x")
    anonymous = stage(alice_token, "agreeing-too")
    StagedRelease.objects.filter(pk=anonymous.pk).update(actor=None)
    Maintainer.objects.create(package=anonymous.package, user=bob)
    StagedApproval.objects.create(staged_release=anonymous, user=bob, factor="app", sha512="x")
    for package in (staged.package, anonymous.package):
        package.exclude_stager, package.approvals_required = True, 2
        package.save()

    in_org = stage(alice_token, "agreeing-org")
    in_org.package.org = Org.objects.create(name="agreeing", approvals_required=3)
    in_org.package.save()

    client.force_login(alice)
    queue = page(client, "/staging/")
    assert "0 of 2" in queue and "1 of 2" in queue and "0 of 3" in queue
    assert "<dt>Approvals</dt><dd>0 of 2</dd>" in page(client, review_url(staged))
    assert "<dt>Approvals</dt><dd>1 of 2</dd>" in page(client, review_url(anonymous))
    assert "<dt>Approvals</dt><dd>0 of 3</dd>" in page(client, review_url(in_org))
