"""What an org's admins should look at: members without 2FA, packages looser than
recommended, and tokens that can write the org's packages for too long or without 2FA."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Token, User
from registry.orgs.models import Org

RECOMMENDED_TOKEN_DAYS = 90


def org_compliance(org: Org) -> dict:
    members = User.objects.filter(memberships__org=org).order_by("username")
    without_2fa = [u.username for u in members if not u.has_two_factor]
    packages = org.packages.filter(unpublished_at__isnull=True).order_by("name")
    loose = []
    for package in packages:
        reasons = []
        if not (package.require_staged or org.require_staged):
            reasons.append("releases are not staged")
        if not (package.publish_requires_tfa or org.publishing_access != Org.PublishingAccess.ANY):
            reasons.append("publishing without a second factor is allowed")
        if reasons:
            loose.append({"package": package.name, "reasons": reasons})
    limit = timedelta(days=org.max_token_days or RECOMMENDED_TOKEN_DAYS)
    now = timezone.now()
    # Who may write the org's packages (registry.authz.package_role): owners and admins,
    # read-write teams, and each package's own maintainers, members of the org or not.
    writers = (
        User.objects.filter(memberships__org=org, memberships__role__in=["owner", "admin"])
        | User.objects.filter(
            team_memberships__team__org=org,
            team_memberships__team__grants__permission="read-write",
        )
        | User.objects.filter(maintainerships__package__org=org)
    )
    tokens = []
    # Only tokens that can still write: an expired or read-only token is no risk to packages.
    for token in (
        Token.objects.active()
        .filter(user__in=writers.distinct(), readonly=False)
        .select_related("user")
        .order_by("created_at")
    ):
        lives = (token.expires_at or now + limit + timedelta(days=1)) - token.created_at
        if lives > limit or not token.user.has_two_factor:
            tokens.append(
                {
                    "owner": token.user.username,
                    "token": token.display_prefix,
                    "name": token.name,
                    "created": token.created_at.isoformat(),
                    "expires": token.expires_at.isoformat() if token.expires_at else None,
                    "reasons": (
                        ["lives longer than " + str(limit.days) + " days"] if lives > limit else []
                    )
                    + ([] if token.user.has_two_factor else ["its owner has no second factor"]),
                }
            )
    return {"members_without_2fa": without_2fa, "loose_packages": loose, "tokens": tokens}
