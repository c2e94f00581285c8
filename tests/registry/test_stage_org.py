"""Staged releases of an org's packages reach everyone who may approve them."""

import pytest
from django.core import mail

from accounts.actors import Actor
from registry.orgs import services as orgs
from tests.accounts.factors import with_fresh_factor
from tests.conftest import issue_token
from tests.packages import publish_body
from tests.registry.helpers import write

pytestmark = pytest.mark.django_db


def test_org_admins_find_and_hear_of_staged_releases(
    client, alice, bob, django_capture_on_commit_callbacks
):
    owner = with_fresh_factor(alice)
    acme = orgs.org_create(actor=owner, name="acme")
    invitation, _ = orgs.invitation_create(actor=owner, org=acme, username="bob", role="admin")
    orgs.invitation_accept(actor=Actor(user=bob), invitation=invitation)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = write(
            client,
            "post",
            "/-/stage/package/@acme/tool",
            issue_token(alice),
            publish_body("@acme/tool"),
        )
    assert response.status_code == 201, response.content

    listed = client.get("/-/stage", HTTP_AUTHORIZATION=f"Bearer {issue_token(bob)}").json()
    assert [item["packageName"] for item in listed["items"]] == ["@acme/tool"]
    assert "bob@example.com" in {message.to[0] for message in mail.outbox}
    client.force_login(bob)
    assert "@acme/tool" in client.get("/staging/").content.decode()
