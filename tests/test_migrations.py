"""Migrations keep the data: organizations moved from accounts to the registry app with
their rows, and the way back works too."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

# The last migrations before organizations moved to the registry app.
BEFORE_MOVE = [("accounts", "0004_orgs"), ("registry", "0003_orgs")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_move():
    apps = _migrate(BEFORE_MOVE)
    yield apps
    _migrate(_latest())


def _orgs_rows(apps, app_label):
    """One row of every org model, the way the data looked in `app_label`."""
    User = apps.get_model("accounts", "User")
    alice = User.objects.create(username="alice", email="alice@example.com")
    Org = apps.get_model(app_label, "Org")
    org = Org.objects.create(name="acme", require_2fa=True)
    apps.get_model(app_label, "Membership").objects.create(org=org, user=alice, role="owner")
    team = apps.get_model(app_label, "Team").objects.create(org=org, name="developers")
    apps.get_model(app_label, "TeamMember").objects.create(team=team, user=alice)
    apps.get_model(app_label, "Invitation").objects.create(
        org=org, email="bob@example.com", expires_at=timezone.now() + timedelta(days=1)
    )
    package = apps.get_model("registry", "Package").objects.create(
        name="@acme/tool", scope="acme", org=org
    )
    apps.get_model("registry", "TeamGrant").objects.create(
        team=team, package=package, permission="read-write"
    )
    apps.get_model("accounts", "SecurityEvent").objects.create(
        action="org:create", actor=alice, user=alice, org=org
    )
    return org.pk


def _assert_rows_kept(apps, app_label, org_pk):
    org = apps.get_model(app_label, "Org").objects.get(pk=org_pk)
    assert org.name == "acme" and org.require_2fa
    assert [(m.user.username, m.role) for m in org.memberships.all()] == [("alice", "owner")]
    team = org.teams.get()
    assert [member.user.username for member in team.members.all()] == ["alice"]
    assert [grant.package.name for grant in team.grants.all()] == ["@acme/tool"]
    assert org.invitations.get().email == "bob@example.com"
    assert apps.get_model("registry", "Package").objects.get(name="@acme/tool").org_id == org_pk
    assert apps.get_model("accounts", "SecurityEvent").objects.get().org_id == org_pk


def test_orgs_move_to_the_registry_app_with_their_rows(before_move):
    org_pk = _orgs_rows(before_move, "accounts")

    apps = _migrate(_latest())

    _assert_rows_kept(apps, "registry", org_pk)
    Org = apps.get_model("registry", "Org")
    assert Org._meta.db_table == "registry_org"
    # A new row after the move gets a fresh id (the table's sequence came along).
    assert Org.objects.create(name="other").pk != org_pk


def test_content_types_follow_the_models(before_move):
    ContentType = before_move.get_model("contenttypes", "ContentType")
    ContentType.objects.get_or_create(app_label="accounts", model="org")

    apps = _migrate(_latest())

    ContentType = apps.get_model("contenttypes", "ContentType")
    assert ContentType.objects.filter(app_label="registry", model="org").exists()
    assert not ContentType.objects.filter(app_label="accounts", model="org").exists()


def test_the_move_can_be_undone(before_move):
    apps = _migrate(_latest())
    org_pk = _orgs_rows(apps, "registry")

    apps = _migrate(BEFORE_MOVE)

    _assert_rows_kept(apps, "accounts", org_pk)
