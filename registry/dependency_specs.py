"""Where npm fetches a dependency from, read off its spec as npm-package-arg does.

The review dossier flags dependencies that bypass the registry, and org policies refuse
them; both ask ``dependency_source``.
"""

import re

_GIT_PREFIXES = ("git+", "git://", "github:", "gitlab:", "bitbucket:", "gist:")
_SCP_GIT = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:user/repo.git
_LOCAL_PATH = re.compile(r"^(?:\.|~/|/|\\|[a-zA-Z]:)")  # as npm-package-arg decides
_LOCAL_TARBALL = re.compile(r"\.(?:tgz|tar\.gz|tar)$", re.IGNORECASE)


def dependency_source(spec: str) -> str:
    """Where npm would fetch a dependency spec from: "registry", "url", "git", "file",
    "directory" or "alias" (``npm:other@^1``). Anything npm cannot resolve from the
    registry by version, range or tag counts as not "registry"."""
    spec = spec.strip()
    lower = spec.lower()
    if lower.startswith("npm:"):
        return "alias"
    if lower.startswith(("file:", "link:", "workspace:")) or _LOCAL_PATH.match(spec):
        # As npm's --allow-file: a tarball on disk is a file; any other local path a directory.
        return "file" if _LOCAL_TARBALL.search(spec) else "directory"
    if lower.startswith(_GIT_PREFIXES) or _SCP_GIT.match(spec):
        return "git"
    if "://" in spec:
        return "git" if lower.split("#")[0].endswith(".git") else "url"
    if "/" in spec or "#" in spec:
        return "git"  # user/repo shorthand for GitHub, optionally #ref
    return "url" if ":" in spec else "registry"  # unknown protocols are not the registry
