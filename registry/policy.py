"""The rules a package lives by: its own settings joined with its organization's.

A package may be stricter than its org, never looser, so every effective value is the
stricter of the two. Authorization (registry.authz) and the staging services ask here.
"""

from dataclasses import dataclass

from registry.dossier import dependency_source
from registry.exceptions import DependencySourceRefused
from registry.manifests import DEPENDENCY_FIELDS
from registry.models import Package
from registry.orgs.models import Org

SOURCE_FLAGS = {
    "url": "allow_remote",
    "git": "allow_git",
    "file": "allow_file",
    "directory": "allow_directory",
}
SOURCE_NAMES = {"url": "remote URL", "git": "git", "file": "file:", "directory": "directory"}


@dataclass(frozen=True)
class Policy:
    require_2fa: bool
    require_staged: bool
    approvals_required: int
    exclude_stager: bool
    publish_requires_tfa: bool
    stage_only_without_second_factor: bool
    max_token_days: int | None
    org: Org | None


def package_policy(package: Package) -> Policy:
    org = package.org
    if org is None:
        return Policy(
            require_2fa=False,
            require_staged=package.require_staged,
            approvals_required=package.approvals_required,
            exclude_stager=package.exclude_stager,
            publish_requires_tfa=package.publish_requires_tfa,
            stage_only_without_second_factor=False,
            max_token_days=None,
            org=None,
        )
    access = Org.PublishingAccess
    org_tfa = org.publishing_access == access.SECOND_FACTOR
    return Policy(
        require_2fa=org.require_2fa,
        require_staged=package.require_staged or org.require_staged,
        approvals_required=max(package.approvals_required, org.approvals_required),
        exclude_stager=package.exclude_stager or org.exclude_stager,
        publish_requires_tfa=package.publish_requires_tfa or org_tfa,
        stage_only_without_second_factor=org.publishing_access == access.STAGE_AUTOMATION,
        max_token_days=org.max_token_days,
        org=org,
    )


def dependencies_check(org: Org | None, manifest: dict) -> None:
    """Refuse dependencies whose source the org does not allow (publish and stage alike)."""
    if org is None:
        return
    for field in DEPENDENCY_FIELDS:
        dependencies = manifest.get(field) or {}
        if not isinstance(dependencies, dict):
            continue
        for name, spec in dependencies.items():
            source = dependency_source(str(spec))
            flag = SOURCE_FLAGS.get(source)
            if flag and not getattr(org, flag):
                raise DependencySourceRefused(
                    f"@{org.name} does not allow {SOURCE_NAMES[source]} dependencies, but {field} has "
                    f'"{name}": "{spec}". Depend on a version from the registry instead, or ask an '
                    f"@{org.name} owner to allow {SOURCE_NAMES[source]} dependencies."
                )
