"""Counting a staged release's approvals: the approval service, its pages, the CLI and the
emails all count the same way, so each shows what the service will decide."""

from registry.authz import may_approve
from registry.models import StagedRelease
from registry.policy import Policy, package_policy


def approvals_counted(staged: StagedRelease, policy: Policy) -> int:
    """Approvals of people who may still approve now (role, org, second factor, not the
    stager where excluded): an approver who lost access since no longer counts."""
    approvals = staged.approvals.select_related("user")
    return sum(
        may_approve(approval.user, staged.package, policy, stager_id=staged.actor_id)
        for approval in approvals
    )


def approvals_summary(staged: StagedRelease) -> tuple[int, int]:
    """(approvals that count, approvals required), the org's quorum included."""
    policy = package_policy(staged.package)
    return approvals_counted(staged, policy), policy.approvals_required
