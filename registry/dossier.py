"""The review dossier: what a maintainer should look at before approving a staged release.

Computed once when a release is staged and stored as JSON, so everything here is plain
data. It lists the staged files, diffs them against the previous release, and raises risk
signals for what supply-chain attacks use: install scripts, dependencies fetched from
outside the registry, new commands, opaque or minified files, a sudden size change, an
unfamiliar publisher. Each tarball is validated by ``tarball_inspect`` and then read in
one streaming pass that hashes every file and keeps the text of files worth diffing.

Bundled dependencies count as much as the package itself: npm installs them from the
tarball as they are and runs their install scripts, so every package.json below the
package's own is checked for scripts and commands too.
"""

import codecs
import difflib
import hashlib
import io
import tarfile
from dataclasses import dataclass
from typing import Any

from registry.bundled import is_bundled, nested_bins, nested_scripts
from registry.dependency_specs import dependency_source
from registry.exceptions import InvalidTarball
from registry.tarballs import NestedPackage, TarballInfo, TarballLimits, tarball_inspect

_KIB = 1024
_FILE_CAP = 256 * _KIB  # larger files are compared by hash only
_SIDE_BUDGET = 2 * 1024 * _KIB  # text kept per tarball, for diffs
_PATCH_LINES = 2000
_PATCH_CHARS = 200 * _KIB
_SEVERITIES = ("high", "medium", "low")
# npm runs these on every install; prepare only when installing from git.
_INSTALL_SCRIPTS = {
    "preinstall": "high",
    "install": "high",
    "postinstall": "high",
    "prepare": "medium",
}
# Consumers never install devDependencies, so changes there matter less.
_DEP_KINDS = {
    "dependencies": "medium",
    "optionalDependencies": "medium",
    "peerDependencies": "medium",
    "devDependencies": "low",
}
_SOURCES = {
    "url": "a URL",
    "git": "a git repository",
    "file": "a local file",
    "directory": "a local folder",
}


@dataclass(frozen=True)
class Release:
    """One side of the comparison: the version manifest, its tarball, who published it."""

    manifest: dict
    tarball: bytes
    publisher: str  # e.g. "user:alice", "oidc:github:org/repo@.github/workflows/release.yml"


@dataclass
class _Content:
    """One file as read from the tarball: its hash, a few facts, and its text if kept."""

    sha256: str
    size: int
    binary: bool
    longest_line: int
    lines: int
    text: str | None


def dossier_build(
    *, staged: Release, previous: Release | None, known_publishers: set[str], limits: TarballLimits
) -> dict[str, Any]:
    """Describe ``staged`` against ``previous`` (None for a first release) as plain JSON.

    Raises ``InvalidTarball`` if the staged tarball would be refused at publish. A previous
    one refused by checks newer than it is compared as if there were none, and said so.
    """
    staged_info = tarball_inspect(staged.tarball, limits=limits)
    previous, previous_info, unreadable = _previous_inspected(previous, limits)
    common = {f.path for f in staged_info.files}
    common &= {f.path for f in previous_info.files} if previous_info else set()
    before = _scan(previous.tarball, common, {}) if previous else {}
    after = _scan(staged.tarball, common, {p: c.sha256 for p, c in before.items()})
    diff = _diff(before, after)
    risks = [
        *_script_risks(staged, staged_info, previous, previous_info),
        *_dependency_risks(staged.manifest, previous.manifest if previous else None),
        *_bin_risks(staged.manifest, previous.manifest if previous else None),
        *_nested_bin_risks(staged_info, previous_info),
        *_bundled_risks(staged_info, previous_info),
        *_file_risks(staged, staged_info, after, diff["added"]),
        *_history_risks(staged, staged_info, previous_info, known_publishers),
    ]
    if unreadable:  # there is a previous release, just none to compare with
        risks = [risk for risk in risks if risk["code"] != "first-release"] + unreadable
    risks.sort(key=lambda risk: _SEVERITIES.index(risk["severity"]))
    counts = {level: sum(r["severity"] == level for r in risks) for level in _SEVERITIES}
    return {
        "files": [
            {"path": f.path, "size": f.size, "executable": f.executable}
            for f in sorted(staged_info.files, key=lambda f: f.path)
        ],
        "file_count": staged_info.file_count,
        "unpacked_size": staged_info.unpacked_size,
        "size": len(staged.tarball),
        "compared_with": _show(previous.manifest.get("version", "")) if previous else None,
        "diff": diff,
        "risks": risks,
        "summary": {
            "files_added": len(diff["added"]),
            "files_removed": len(diff["removed"]),
            "files_changed": len(diff["changed"]),
            **counts,
            "headline": _headline(risks),
        },
    }


def _previous_inspected(previous: Release | None, limits: TarballLimits) -> tuple:
    """The previous release and its tarball's facts; one that checks added since it was
    published refuse is not compared with, and the dossier says so."""
    if previous is None:
        return None, None, []
    try:
        return previous, tarball_inspect(previous.tarball, limits=limits), []
    except InvalidTarball as exc:
        version = _show(previous.manifest.get("version", ""))
        message = f"Not compared with {version}, which today's checks refuse: {exc.message}"
        return None, None, [_risk("previous-unreadable", "low", message, {"version": version})]


def _scan(data: bytes, wanted: set[str], unchanged: dict[str, str]) -> dict[str, _Content]:
    """Read an already validated tarball once; keep the text of ``wanted`` files that fit
    the caps and whose hash differs from ``unchanged``."""
    budget, found = _SIDE_BUDGET, {}
    stream = io.BytesIO(data)
    with tarfile.open(
        fileobj=stream, mode="r|gz", encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for member in tar:
            if not member.isreg():
                continue
            parts = [part for part in member.name.split("/") if part not in ("", ".")]
            path = "/".join(parts[1:])  # drop the package/ folder, as tarball_inspect does
            keep = path in wanted and member.size <= min(_FILE_CAP, budget)
            content = _read(tar.extractfile(member), keep)
            if content.text is not None and unchanged.get(path) == content.sha256:
                content.text = None
            budget -= member.size if content.text is not None else 0
            found[path] = content
    return found


def _read(stream: Any, keep: bool) -> _Content:
    sha, decoder = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")()
    size = newlines = longest = run = 0
    binary, chunks = False, []
    while chunk := stream.read(64 * _KIB):
        sha.update(chunk)
        size += len(chunk)
        pieces = chunk.split(b"\n")
        run += len(pieces[0])
        if len(pieces) > 1:
            longest = max(longest, run, *map(len, pieces[1:-1]))
            run, newlines = len(pieces[-1]), newlines + len(pieces) - 1
        binary = binary or b"\0" in chunk
        if not binary:
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                binary = True
            else:
                if keep:
                    chunks.append(text)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        binary = True
    text = "".join(chunks) if keep and not binary else None
    lines = newlines + (run > 0)
    return _Content(sha.hexdigest(), size, binary, max(longest, run), lines, text)


def _diff(before: dict[str, _Content], after: dict[str, _Content]) -> dict[str, list]:
    changed = []
    for path in sorted(before.keys() & after.keys()):
        old, new = before[path], after[path]
        if old.sha256 == new.sha256:
            continue
        binary = old.binary or new.binary
        patch, truncated = None, not binary  # text too large to keep: no patch
        if not binary and old.text is not None and new.text is not None:
            patch, truncated = _patch(path, old.text, new.text)
        changed.append(
            {
                "path": path,
                "size_before": old.size,
                "size_after": new.size,
                "binary": binary,
                "patch": patch,
                "truncated": truncated,
            }
        )
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": changed,
    }


def _patch(path: str, before: str, after: str) -> tuple[str, bool]:
    """A unified diff as git prints it, cut after _PATCH_LINES lines or _PATCH_CHARS."""
    lines = difflib.unified_diff(_lines(before), _lines(after), f"a/{path}", f"b/{path}", n=3)
    out: list[str] = []
    used = 0
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        if len(out) >= _PATCH_LINES or used + len(line) > _PATCH_CHARS:
            return "".join(out), True
        out.append(line)
        used += len(line)
    return "".join(out), False


def _lines(text: str) -> list[str]:
    """Split on \\n only (str.splitlines also splits on \\r, \\f, U+2028, …)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _script_risks(
    staged: Release,
    staged_info: TarballInfo,
    previous: Release | None,
    previous_info: TarballInfo | None,
) -> list[dict]:
    now = _install_scripts(staged.manifest, staged_info)
    before = _install_scripts(previous.manifest, previous_info) if previous else {}
    risks = []
    for name, command in now.items():
        when = "from git" if name == "prepare" else "on install"
        detail = {"script": name, "command": _show(command)}
        if name not in before:
            message = f"Adds a {name} script, which npm runs {when}."
            risks.append(_risk("install-script-added", _INSTALL_SCRIPTS[name], message, detail))
        elif before[name] != command:
            message = f"Changes the {name} script, which npm runs {when}."
            detail["previous"] = _show(before[name])
            risks.append(_risk("install-script-changed", _INSTALL_SCRIPTS[name], message, detail))
    return risks + _nested_script_risks(staged_info, previous_info)


def _nested_script_risks(info: TarballInfo, previous_info: TarballInfo | None) -> list[dict]:
    before = {(n.folder, name): command for n, name, command in nested_scripts(previous_info)}
    risks = []
    for nested, name, command in nested_scripts(info):
        where, when = _where(nested)
        detail = {"script": name, "command": _show(command), "package": _show(nested.folder)}
        old = before.get((nested.folder, name))
        if old is None:
            message = f"Adds a {name} script in {where}, which npm runs {when}."
            risks.append(_risk("install-script-added", "high", message, detail))
        elif old != command:
            message = f"Changes the {name} script in {where}, which npm runs {when}."
            detail["previous"] = _show(old)
            risks.append(_risk("install-script-changed", "high", message, detail))
    return risks


def _where(nested: NestedPackage) -> tuple[str, str]:
    """How a risk names a nested package, and when npm runs its install scripts."""
    if is_bundled(nested):
        return f"the bundled package {_show(nested.folder)}", "on install"
    return _show(nested.path), "if that folder is installed as a package"


def _bundled_risks(info: TarballInfo, previous_info: TarballInfo | None) -> list[dict]:
    """Packages npm installs from the tarball rather than the registry, and package.json
    files that cannot be read here (npm's parser might)."""
    before = {n.folder for n in previous_info.nested} if previous_info else set()
    added = [n.folder for n in info.nested if is_bundled(n) and n.folder not in before]
    risks = []
    if added:
        message = (
            f"Bundles {_count(added, 'package')} that npm installs from the tarball as they "
            f"are, not from the registry: {_paths(added)}."
        )
        risks.append(_risk("bundled-packages", "medium", message, {"paths": added}))
    for nested in (n for n in info.nested if n.manifest is None):
        message = (
            f"{_show(nested.path)} cannot be read ({_show(nested.problem)}), so what it runs "
            "on install could not be checked."
        )
        detail = {"path": _show(nested.path), "problem": _show(nested.problem)}
        risks.append(_risk("bundled-manifest-unreadable", "high", message, detail))
    return risks


def _install_scripts(manifest: dict, info: TarballInfo) -> dict[str, str]:
    scripts = _strings(manifest.get("scripts"))
    found = {name: scripts[name] for name in _INSTALL_SCRIPTS if scripts.get(name)}
    # With a binding.gyp and no install script of its own, npm runs node-gyp on install.
    implied = info.has_binding_gyp and manifest.get("gypfile") is not False
    if implied and "install" not in found and "preinstall" not in found:
        found["install"] = "node-gyp rebuild"
    return found


def _dependency_risks(manifest: dict, previous: dict | None) -> list[dict]:
    risks = []
    for kind, severity in _DEP_KINDS.items():
        now = _strings(manifest.get(kind))
        before = _strings(previous.get(kind)) if previous else {}
        for name, spec in now.items():
            detail = {"kind": kind, "name": _show(name), "spec": _show(spec)}
            if name not in before:
                message = f"Adds {_show(name)} to {kind} ({_show(spec)})."
                risks.append(_risk("dependency-added", severity, message, detail))
            elif before[name] != spec:
                message = (
                    f"Changes {_show(name)} in {kind} from {_show(before[name])} to {_show(spec)}."
                )
                detail["previous"] = _show(before[name])
                risks.append(_risk("dependency-changed", "low", message, detail))
            risks.extend(_source_risks(name, spec, kind, detail))
    return risks


def _source_risks(name: str, spec: str, kind: str, detail: dict) -> list[dict]:
    source = dependency_source(spec)
    detail = {**detail, "source": source}
    if source == "alias":
        target = spec.strip()[4:]
        target = target[: target.find("@", 1)] if target.find("@", 1) > 0 else target
        if target == name:
            return []
        message = f"{_show(name)} in {kind} installs a different package, {_show(target)}."
        return [_risk("dependency-source", "medium", message, {**detail, "target": _show(target)})]
    if source == "registry":
        return []
    message = (
        f"{_show(name)} in {kind} comes from {_SOURCES[source]} ({_show(spec)}), not the registry."
    )
    severity = "low" if kind == "devDependencies" else "high"
    return [_risk("dependency-source", severity, message, detail)]


def _bin_risks(manifest: dict, previous: dict | None) -> list[dict]:
    before = _bins(previous) if previous else {}
    return [
        _risk(
            "bin-added",
            "medium",
            f"Adds the command {_show(name)}, which runs {_show(target)}.",
            {"name": _show(name), "path": _show(target)},
        )
        for name, target in _bins(manifest).items()
        if name not in before
    ]


def _nested_bin_risks(info: TarballInfo, previous_info: TarballInfo | None) -> list[dict]:
    before = {(nested.folder, name) for nested, name, _ in nested_bins(previous_info)}
    risks = []
    for nested, name, target in nested_bins(info):
        if (nested.folder, name) not in before:
            message = f"Adds the command {_show(name)} in {_where(nested)[0]}, which runs {_show(target)}."
            detail = {"name": _show(name), "path": _show(target), "package": _show(nested.folder)}
            risks.append(_risk("bin-added", "medium", message, detail))
    return risks


def _bins(manifest: dict) -> dict[str, str]:
    value = manifest.get("bin")
    if isinstance(value, str):  # "bin": "cli.js" names the command after the package
        return {str(manifest.get("name", "")).rpartition("/")[2]: value}
    return _strings(value)


def _file_risks(
    staged: Release, info: TarballInfo, contents: dict[str, _Content], added: list[str]
) -> list[dict]:
    targets = {target.removeprefix("./") for target in _bins(staged.manifest).values()}
    executable = {f.path for f in info.files if f.executable}
    opaque = [
        path
        for path in added
        if contents[path].binary
        or (path in executable and not path.startswith("bin/") and path not in targets)
    ]
    minified = [path for path in added if _looks_minified(path, contents[path])]
    risks = []
    if opaque:
        message = f"Adds {_count(opaque, 'binary or executable file')}: {_paths(opaque)}."
        risks.append(_risk("binary-added", "medium", message, {"paths": opaque}))
    if minified:
        message = f"Adds {_count(minified, 'minified script')}: {_paths(minified)}."
        risks.append(_risk("minified-added", "medium", message, {"paths": minified}))
    return risks


def _looks_minified(path: str, content: _Content) -> bool:
    if content.binary or not path.endswith((".js", ".mjs", ".cjs")):
        return False
    average = content.size / max(content.lines, 1)
    return path.endswith(".min.js") or content.longest_line > 1000 or average > 200


def _history_risks(
    staged: Release, info: TarballInfo, previous_info: TarballInfo | None, known: set[str]
) -> list[dict]:
    risks = []
    if previous_info is None:
        message = "This is the package's first release, so there is nothing to compare with."
        risks.append(_risk("first-release", "low", message, {}))
    else:
        old, new = previous_info.unpacked_size, info.unpacked_size
        detail = {"size_before": old, "size_after": new}
        if new > 2 * old and new - old > 100 * _KIB:
            message = f"Unpacked size grew from {_size(old)} to {_size(new)}."
            risks.append(_risk("size-jump", "medium", message, detail))
        elif new < old / 10:
            message = f"Unpacked size shrank from {_size(old)} to {_size(new)}."
            risks.append(_risk("size-jump", "low", message, detail))
    if staged.publisher not in known and (previous_info or known):
        message = f"Staged by {_show(staged.publisher)}, who has not published this package before."
        risks.append(
            _risk("new-publisher", "medium", message, {"publisher": _show(staged.publisher)})
        )
    return risks


def _headline(risks: list[dict]) -> str:
    for level in _SEVERITIES:
        hits = [risk for risk in risks if risk["severity"] == level]
        if hits:
            labels = list(dict.fromkeys(_label(risk) for risk in hits))
            shown = ", ".join(labels[:4]) + (
                f" and {len(labels) - 4} more" if len(labels) > 4 else ""
            )
            return f"{_count(hits, f'{level}-risk signal')}: {shown}"
    return "No risk signals"


def _label(risk: dict) -> str:
    if risk["code"] == "dependency-source":
        source = risk["detail"]["source"]
        return "npm alias" if source == "alias" else f"{source} dependency"
    if risk["code"] == "size-jump" and risk["severity"] == "low":
        return "size drop"
    return risk["code"].replace("-", " ")  # "install-script-added" -> "install script added"


def _risk(code: str, severity: str, message: str, detail: dict) -> dict:
    return {"code": code, "severity": severity, "message": message, "detail": detail}


def _strings(value: Any) -> dict[str, str]:
    """A manifest field that should map names to strings; anything else reads as empty."""
    if not isinstance(value, dict):
        return {}
    return {str(key): item if isinstance(item, str) else str(item) for key, item in value.items()}


def _show(value: Any) -> str:
    """Manifest text safe to store and echo: no control characters, at most 200 chars."""
    text = str(value)
    clean = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text[:200])
    return clean + ("…" if len(text) > 200 else "")


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _paths(paths: list[str]) -> str:
    more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
    return ", ".join(_show(path) for path in paths[:5]) + more


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KiB"
