"""`npm org`, `npm team` and `npm access list/grant/revoke` (npm-protocol §17-19).

Each view fetches and authorizes the org with `org_for` (members read, owners and admins
manage; anyone else is told the org does not exist), then calls one service. npm calls a
plain member a "developer"; Gatehouse calls them a "member". DELETE requests carry JSON
bodies. What each GET shows is scoped to what the caller may see.
"""

from django.db.models import Q
from django.utils.cache import patch_cache_control
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_actor
from accounts.models import User
from portal.errors import NotFound
from registry.authz import Action, OrgAction, decide_org, packages_visible_to, packages_writable_by
from registry.exceptions import InvalidPayload
from registry.models import Package, TeamGrant
from registry.orgs.models import Membership, Org, Team
from registry.orgs.services import (
    invitation_create,
    invitation_revoke,
    member_remove,
    member_role_set,
    org_for,
    team_create,
    team_destroy,
    team_get,
    team_member_add,
    team_member_remove,
)
from registry.orgs.team_grants import team_grant_remove, team_grant_set, team_packages
from registry.services.common import package_for

Role = Membership.Role
# npm's role names (and Gatehouse's "member", which npm would call "developer").
NPM_ROLES = {
    "owner": Role.OWNER,
    "admin": Role.ADMIN,
    "developer": Role.MEMBER,
    "member": Role.MEMBER,
}


def npm_role(role: str) -> str:
    return "developer" if role == Role.MEMBER else role


def _fields(request, *names: str) -> dict:
    """The JSON body's string fields `names`, each required and non-empty."""
    body = request.data
    if not isinstance(body, dict) or not all(
        isinstance(body.get(n), str) and body[n].strip() for n in names
    ):
        wanted = ", ".join(f'"{n}"' for n in names)
        raise InvalidPayload(f"Send a JSON object with {wanted}. Use the npm CLI.")
    return body


def _no_cache(data) -> Response:
    response = Response(data)
    patch_cache_control(response, no_cache=True, private=True)
    return response


def _team_for(request, org: str, team: str, action: OrgAction) -> Team:
    return team_get(org_for(request_actor(request), org, action), team)


def _access(packages, user) -> dict[str, str]:
    """{name: "write" | "read"}: what `user` may do with each of `packages`."""
    writable = set(packages_writable_by(user).filter(pk__in=packages).values_list("pk", flat=True))
    return {
        p.name: "write" if p.pk in writable else "read"
        for p in packages.filter(unpublished_at__isnull=True).order_by("name")
    }


# npm org ---------------------------------------------------------------------------


class OrgMembers(APIView):
    """`npm org ls|set|rm`: GET {user: role}; PUT {user, role}; DELETE {user}."""

    def get(self, request, org: str):
        org = org_for(request_actor(request), org, OrgAction.READ)
        roles = org.memberships.order_by("user__username").values_list("user__username", "role")
        return _no_cache({username: npm_role(role) for username, role in roles})

    def put(self, request, org: str):
        actor = request_actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        body = _fields(request, "user")
        role = body.get("role") or "developer"
        role = NPM_ROLES.get(role) if isinstance(role, str) else None
        if role is None:
            raise InvalidPayload("The role must be owner, admin or developer.")
        username = body["user"].strip().lstrip("@").lower()
        notice = _member_set_or_invite(actor, org, username, role)
        response = Response(
            {
                "org": {"name": org.name, "size": org.memberships.count()},
                "user": username,
                "role": npm_role(role),
            }
        )
        if notice:
            response["npm-notice"] = notice
        return response

    def delete(self, request, org: str):
        actor = request_actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        username = _fields(request, "user")["user"].strip().lstrip("@").lower()
        invitation = org.invitations.filter(
            user__username=username, accepted_at__isnull=True, revoked_at__isnull=True
        ).first()
        if invitation and not org.memberships.filter(user__username=username).exists():
            # `npm org set` invited them: `npm org rm` takes the invitation back.
            invitation_revoke(actor=actor, invitation=invitation)
        else:
            member_remove(actor=actor, org=org, username=username)
        return Response({"ok": True})


def _member_set_or_invite(actor, org: Org, username: str, role: str) -> str | None:
    """A member's role changes at once; anyone else is invited (npm prints the notice)."""
    if org.memberships.filter(user__username=username).exists():
        member_role_set(actor=actor, org=org, username=username, role=role)
        return None
    invitation_create(actor=actor, org=org, username=username, role=role)
    return (
        f"{username} was invited to @{org.name}; they become a member when they accept the "
        "invitation in the portal"
    )


# npm team --------------------------------------------------------------------------


class OrgTeams(APIView):
    """`npm team ls <org>`: GET ["org:team"]; `npm team create`: PUT {name, description}."""

    def get(self, request, org: str):
        org = org_for(request_actor(request), org, OrgAction.READ)
        names = org.teams.order_by("name").values_list("name", flat=True)
        return _no_cache([f"{org.name}:{name}" for name in names])

    def put(self, request, org: str):
        actor = request_actor(request)
        org = org_for(actor, org, OrgAction.MANAGE)
        body = _fields(request, "name")
        description = body.get("description") or ""
        if not isinstance(description, str):
            raise InvalidPayload('"description" must be a string.')
        team = team_create(actor=actor, org=org, name=body["name"], description=description)
        return Response({"name": team.name, "description": team.description}, status=201)


class TeamDetail(APIView):
    """`npm team destroy <org:team>`: DELETE."""

    def delete(self, request, org: str, team: str):
        team = _team_for(request, org, team, OrgAction.MANAGE)
        team_destroy(actor=request_actor(request), team=team)
        return Response({"ok": True})


class TeamMembers(APIView):
    """`npm team ls <org:team>`: GET [user]; `npm team add|rm`: PUT/DELETE {user}."""

    def get(self, request, org: str, team: str):
        team = _team_for(request, org, team, OrgAction.READ)
        return _no_cache(
            list(team.members.order_by("user__username").values_list("user__username", flat=True))
        )

    def put(self, request, org: str, team: str):
        team = _team_for(request, org, team, OrgAction.MANAGE)
        username = _fields(request, "user")["user"].strip().lstrip("@")
        member = team_member_add(actor=request_actor(request), team=team, username=username)
        return Response({"team": team.name, "user": member.user.username}, status=201)

    def delete(self, request, org: str, team: str):
        team = _team_for(request, org, team, OrgAction.MANAGE)
        username = _fields(request, "user")["user"].strip().lstrip("@")
        team_member_remove(actor=request_actor(request), team=team, username=username)
        return Response({"ok": True})


# npm access ------------------------------------------------------------------------


class TeamPackages(APIView):
    """`npm access list packages <org:team>`: GET {pkg: "read"|"write"};
    `npm access grant|revoke`: PUT {package, permissions} / DELETE {package}."""

    def get(self, request, org: str, team: str):
        actor = request_actor(request)
        team = _team_for(request, org, team, OrgAction.READ)
        return _no_cache(team_packages(team, actor.user))

    def put(self, request, org: str, team: str):
        team = _team_for(request, org, team, OrgAction.MANAGE)
        body = _fields(request, "package", "permissions")
        team_grant_set(
            actor=request_actor(request),
            team=team,
            package_name=body["package"],
            permission=body["permissions"],
        )
        return Response({"package": body["package"], "permissions": body["permissions"]})

    def delete(self, request, org: str, team: str):
        team = _team_for(request, org, team, OrgAction.MANAGE)
        name = _fields(request, "package")["package"]
        team_grant_remove(actor=request_actor(request), team=team, package_name=name)
        return Response({"package": name})


class OrgPackages(APIView):
    """`npm access list packages <org>`: the org's packages the caller sees, with their access.

    A 404 makes npm ask `/-/user/<name>/package` next, which is how a user's name works."""

    def get(self, request, org: str):
        actor = request_actor(request)
        org = org_for(actor, org, OrgAction.READ)
        packages = packages_visible_to(actor.user, Package.objects.filter(org=org))
        return _no_cache(_access(packages, actor.user))


class UserPackages(APIView):
    """`npm access list packages [<user>]`: for yourself, every package you may read or write;
    for someone else, the packages they maintain that you may see."""

    def get(self, request, username: str):
        actor = request_actor(request)
        user = User.objects.filter(username=username.lower(), is_active=True).first()
        if user is None:
            raise NotFound(_not_a_user(actor.user, username))
        if user == actor.user:
            reachable = Q(pk__in=packages_writable_by(user).values("pk")) | Q(
                team_grants__team__members__user=user
            )
            packages = Package.objects.filter(reachable).distinct()
        else:
            packages = packages_visible_to(
                actor.user, Package.objects.filter(maintainers__user=user)
            )
        return _no_cache(_access(Package.objects.filter(pk__in=packages.values("pk")), user))


def _not_a_user(caller, name: str) -> str:
    """npm asks here after any 404 of /-/org/<name>/package or /-/team/<name>/<team>/package,
    so for an org of the caller's the useful answer is where its teams are listed."""
    if caller and Org.objects.filter(name=name.lower(), memberships__user=caller).exists():
        return (
            f"{name} is an organization, not a user, or it has no such team: "
            f"`npm team ls {name}` lists its teams, `npm access list packages {name}` its packages."
        )
    return f"{name} is neither a user nor an organization you belong to."


class Collaborators(APIView):
    """`npm access list collaborators <pkg>`: {user: "read"|"write"}: maintainers, the org's
    owners and admins, and the members of teams granted the package. People outside the
    org see only the maintainers (as `npm owner ls` shows them): org membership is private."""

    def get(self, request, name: str):
        actor = request_actor(request)
        package = package_for(actor, name, Action.READ)
        access = {m: "write" for m in package.maintainers.values_list("user__username", flat=True)}
        # The org's people are for its members to see (registry.authz).
        if package.org_id and decide_org(actor, OrgAction.READ, package.org).allowed:
            access.update(_org_collaborators(package.org, package, exclude=set(access)))
        return _no_cache(dict(sorted(access.items())))


def _org_collaborators(org: Org, package: Package, exclude: set[str]) -> dict[str, str]:
    access: dict[str, str] = {}
    managers = org.memberships.filter(role__in=(Role.OWNER, Role.ADMIN))
    for username in managers.values_list("user__username", flat=True):
        access[username] = "write"
    grants = TeamGrant.objects.filter(package=package).values_list(
        "team__members__user__username", "permission"
    )
    for username, permission in grants:
        if username is None:
            continue  # a team without members
        if permission == TeamGrant.Permission.READ_WRITE:
            access[username] = "write"
        else:
            access.setdefault(username, "read")
    return {u: p for u, p in access.items() if u not in exclude}
