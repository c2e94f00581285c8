"""npm package names: validation, scope splitting and tarball file names.

The rules follow npm's validate-npm-package-name.  npm distinguishes names
that may be used for *new* packages from names that old packages already
carry (capitals, core module names, ...); the registry must refuse the former
on publish but keep serving the latter, hence two entry points.
"""

from __future__ import annotations

from registry.exceptions import InvalidPackageName
from registry.semver import is_valid_version

MAX_NAME_LENGTH = 214

# Would clash with directories/files that npm or browsers treat specially.
_EXCLUDED = frozenset({"node_modules", "favicon.ico"})

# Node.js core modules: a package named like one would be shadowed by it.
# Copied from `node -e "console.log(require('module').builtinModules)"` on
# Node v20.20.2 (validate-npm-package-name 7.0.2 bundles the same list plus
# "node:"-prefixed names, which can never be valid package names anyway).
_CORE_MODULES = frozenset(
    {
        "_http_agent", "_http_client", "_http_common", "_http_incoming",
        "_http_outgoing", "_http_server", "_stream_duplex", "_stream_passthrough",
        "_stream_readable", "_stream_transform", "_stream_wrap", "_stream_writable",
        "_tls_common", "_tls_wrap", "assert", "assert/strict", "async_hooks",
        "buffer", "child_process", "cluster", "console", "constants", "crypto",
        "dgram", "diagnostics_channel", "dns", "dns/promises", "domain", "events",
        "fs", "fs/promises", "http", "http2", "https", "inspector",
        "inspector/promises", "module", "net", "os", "path", "path/posix",
        "path/win32", "perf_hooks", "process", "punycode", "querystring",
        "readline", "readline/promises", "repl", "stream", "stream/consumers",
        "stream/promises", "stream/web", "string_decoder", "sys", "timers",
        "timers/promises", "tls", "trace_events", "tty", "url", "util",
        "util/types", "v8", "vm", "wasi", "worker_threads", "zlib",
    }
)  # fmt: skip

# The characters encodeURIComponent() leaves alone: names travel in URLs
# (/<name>, /<name>/-/<file>.tgz) and must not need escaping.
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
_SPECIAL = frozenset("~'!()*")

_RENAME = "Rename the package in package.json and publish again."


def _is_url_safe(text: str) -> bool:
    return all(ch in _URL_SAFE for ch in text)


def _scoped_parts(name: str) -> tuple[str, str] | None:
    """("scope", "pkg") for a well-formed "@scope/pkg", else None."""
    if not name.startswith("@") or name.count("/") != 1:
        return None
    scope, _, pkg = name[1:].partition("/")
    return (scope, pkg) if scope and pkg else None


def _problem(name: object, *, new: bool) -> str | None:
    """The first rule ``name`` breaks (as a user-facing message), or None.

    ``new`` adds the rules npm only applies to newly published packages.
    """
    if not isinstance(name, str):
        return 'A package name must be a string. Set "name" in package.json.'
    if not name:
        return 'A package name is required. Set "name" in package.json.'
    shown = name if len(name) <= 80 else name[:77] + "..."
    bad = f'Invalid package name "{shown}": '

    # Rules every name must satisfy, old or new.
    if name.strip() != name:
        return bad + f"names must not start or end with whitespace. {_RENAME}"
    if name[0] in "._":
        return bad + f'names must not start with "{name[0]}". {_RENAME}'
    if name.lower() in _EXCLUDED:
        return bad + f'"{name.lower()}" is a reserved name. {_RENAME}'
    if not _is_url_safe(name):
        # "@scope/pkg" is the one shape allowed a character ("@", "/") that
        # needs escaping; then each part must be URL-safe on its own.
        parts = _scoped_parts(name)
        if parts is None or not all(_is_url_safe(part) for part in parts):
            return bad + (
                "names may only contain URL-safe characters (lowercase letters, "
                "digits and - . _ ~ ' ! ( ) *), optionally as @scope/name. " + _RENAME
            )
        if parts[1][0] in "._":
            return bad + f'the package part must not start with "{parts[1][0]}". {_RENAME}'

    if not new:
        return None
    # Rules npm added later: old packages may break them, new ones may not.
    if name[0] == "-":
        return bad + f'new package names must not start with "-". {_RENAME}'
    if len(name) > MAX_NAME_LENGTH:
        return bad + f"new package names must be at most {MAX_NAME_LENGTH} characters. {_RENAME}"
    if name.lower() != name:
        return bad + f"new package names must be lowercase. {_RENAME}"
    if _SPECIAL & set(name):
        return bad + f"new package names must not contain any of ~'!()*. {_RENAME}"
    if name in _CORE_MODULES:
        return bad + (
            f'"{name}" is a Node.js core module name and would be shadowed by it. '
            "Pick a different name, or publish under a scope (@your-scope/"
            f"{name}). {_RENAME}"
        )
    return None


def validate_new_name(name: str) -> None:
    """Raise ``InvalidPackageName`` unless npm would accept ``name`` for a new package."""
    problem = _problem(name, new=True)
    if problem is not None:
        raise InvalidPackageName(problem)


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is acceptable for reading (legacy names included)."""
    return _problem(name, new=False) is None


def split_name(name: str) -> tuple[str | None, str]:
    """``"@scope/pkg"`` -> ``("scope", "pkg")``; ``"pkg"`` -> ``(None, "pkg")``.

    Only the shape is checked; raises ``InvalidPackageName`` for anything that
    is neither (``"@scope"``, ``"@/pkg"``, ``"a/b"``, ``""``).
    """
    if name and "/" not in name and not name.startswith("@"):
        return None, name
    parts = _scoped_parts(name)
    if parts is None:
        raise InvalidPackageName(
            f'Invalid package name "{name}": expected "name" or "@scope/name".'
        )
    return parts


def tarball_filename(name: str, version: str) -> str:
    """npm's tarball file name: the scope is dropped (``pkg-1.0.0.tgz``)."""
    return f"{split_name(name)[1]}-{version}.tgz"


def version_from_tarball_filename(name: str, filename: str) -> str | None:
    """Inverse of ``tarball_filename``; None when ``filename`` is not one of ``name``'s.

    The version must be valid, otherwise "foo-bar-1.0.0.tgz" would be taken
    as version "bar-1.0.0" of package "foo".
    """
    prefix = f"{split_name(name)[1]}-"
    if not (filename.startswith(prefix) and filename.endswith(".tgz")):
        return None
    version = filename[len(prefix) : -len(".tgz")]
    return version if is_valid_version(version) else None
