"""Reading npm package tarballs uploaded by clients we do not trust.

A publish carries a gzip'd tar made by ``npm pack``. Until proven otherwise it may be a
decompression bomb, hide links or device files, climb out of its folder with ``..``, or
carry two manifests so that what we check differs from what npm installs (manifest
confusion). So we read it once, as a stream, with every size capped, keep only
package.json and the README in memory, and refuse anything npm would not produce. Every
refusal is an ``InvalidTarball`` whose message is the one line the npm user will see.

Every other package.json in the tarball is read too, under the same caps: a bundled
dependency (``node_modules/<dep>/package.json``, at any depth) is installed as it is, and
its install scripts run like the package's own.
"""

import base64
import hashlib
import re
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.json_input import InputRefused, json_parse
from registry.exceptions import InvalidTarball

_MIB = 1024 * 1024
_CHUNK = 64 * 1024
# data_filter wants a destination to resolve names against; nothing is ever written there.
_FILTER_DEST = "/nonexistent/gatehouse-tarball"
# Names are UTF-8; undecodable bytes survive as surrogates so that we can refuse them.
_NAMES = {"encoding": "utf-8", "errors": "surrogateescape"}
# What tarfile, zlib and the codecs raise on hostile input; all of it means "corrupt".
_CORRUPT = (
    tarfile.TarError,
    zlib.error,
    EOFError,
    OSError,
    UnicodeError,
    ValueError,
    OverflowError,
)
# npm shows a Markdown README first; among equals, the first in the tarball wins.
_README_RANK = {".md": 0, ".markdown": 1, "": 2, ".txt": 3}
_OnFile = Callable[["TarballFile", Callable[[int], bytes]], None]


@dataclass(frozen=True)
class TarballLimits:
    """Caps chosen by the caller (settings), so a hostile upload costs bounded work."""

    max_compressed_bytes: int
    max_unpacked_bytes: int
    max_members: int
    max_package_json_bytes: int = 1024 * 1024
    max_readme_bytes: int = 256 * 1024
    # Other package.json files (bundled dependencies): how many, and their bytes together.
    # npm's own tarball bundles a few hundred packages.
    max_nested_manifests: int = 5000
    max_nested_manifest_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class TarballFile:
    """One regular file, as shown in file listings; content is read only on demand."""

    path: str  # relative to the package folder, e.g. "lib/index.js"
    size: int
    executable: bool


@dataclass(frozen=True)
class NestedPackage:
    """A package.json below the package's own, usually a bundled dependency.

    Only what decides what an install runs is kept: name, version, scripts, bin, gypfile.
    ``manifest`` is None when the file cannot be read as JSON; npm might still read it,
    so callers assume the worst.
    """

    path: str  # of the package.json, e.g. "node_modules/dep/package.json"
    manifest: dict[str, Any] | None
    problem: str | None  # why it cannot be read
    has_binding_gyp: bool  # a binding.gyp beside it: npm runs node-gyp on install

    @property
    def folder(self) -> str:
        return self.path[: -len("package.json")].rstrip("/\\")


@dataclass(frozen=True)
class TarballInfo:
    """What publishing needs from the tarball, read in one pass."""

    package_json: dict[str, Any]
    files: tuple[TarballFile, ...]
    file_count: int
    unpacked_size: int
    readme: str | None
    readme_filename: str | None
    has_binding_gyp: bool
    nested: tuple[NestedPackage, ...] = ()


@dataclass(frozen=True)
class Digests:
    """The hashes npm clients verify downloads against."""

    integrity: str  # "sha512-<base64>", what npm puts in dist.integrity and lockfiles
    sha512_hex: str
    shasum: str  # SHA-1 hex, npm's legacy dist.shasum


def tarball_digests(data: bytes) -> Digests:
    """Hash the tarball exactly as uploaded: installers check these against the bytes."""
    sha512 = hashlib.sha512(data)
    return Digests(
        integrity="sha512-" + base64.b64encode(sha512.digest()).decode("ascii"),
        sha512_hex=sha512.hexdigest(),
        # Kept only because old npm clients still read dist.shasum; integrity is the check.
        shasum=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
    )


def tarball_inspect(data: bytes, *, limits: TarballLimits) -> TarballInfo:
    """Validate the whole tarball and return its manifest, file list, README and the
    package.json files below its own."""
    manifest: bytes | None = None
    readme: tuple[int, str, bytes] | None = None  # (rank, filename, head of content)
    nested: list[tuple[str, dict[str, Any] | None, str | None]] = []
    nested_bytes = 0

    def on_file(file: TarballFile, read: Callable[[int], bytes]) -> None:
        nonlocal manifest, readme, nested_bytes
        if file.path == "package.json":
            _check_manifest_size(file, limits)
            manifest = read(file.size)
        elif _is_nested_manifest(file.path):
            _check_manifest_size(file, limits)
            nested_bytes += file.size
            if len(nested) >= limits.max_nested_manifests:
                raise _too_big(f"has more than {limits.max_nested_manifests} package.json files")
            if nested_bytes > limits.max_nested_manifest_bytes:
                raise _too_big(
                    f"has more than {_size(limits.max_nested_manifest_bytes)} of package.json files"
                )
            nested.append((file.path, *_read_nested(read(file.size))))
        rank = _readme_rank(file.path)
        if rank is not None and (readme is None or rank < readme[0]):
            readme = (rank, file.path, read(limits.max_readme_bytes))

    files = _walk(data, limits, on_file)
    if manifest is None:
        raise InvalidTarball(
            "The tarball has no package/package.json: run npm publish in the folder that "
            "holds your package.json."
        )
    return TarballInfo(
        package_json=_parse_package_json(manifest),
        files=tuple(files),
        file_count=len(files),
        unpacked_size=sum(f.size for f in files),
        readme=readme[2].decode("utf-8", errors="replace") if readme else None,
        readme_filename=readme[1] if readme else None,
        has_binding_gyp=any(f.path == "binding.gyp" for f in files),
        nested=_nested_packages(nested, files),
    )


def _check_manifest_size(file: TarballFile, limits: TarballLimits) -> None:
    if file.size > limits.max_package_json_bytes:
        raise InvalidTarball(
            f"package/{_show(file.path)} is {_size(file.size)}, over the limit of "
            f"{_size(limits.max_package_json_bytes)}: shrink it and publish again."
        )


def _is_nested_manifest(path: str) -> bool:
    """Any package.json below the root, in any case and with either separator: on macOS
    and Windows "Package.json" and "node_modules\\dep\\package.json" are what npm reads."""
    parts = _windows_parts(path.lower())
    return len(parts) > 1 and parts[-1] == "package.json"


# What decides what installing a bundled package runs; the rest is not kept.
_NESTED_FIELDS = ("name", "version", "scripts", "bin", "gypfile")


def _read_nested(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        value = json_parse(raw.removeprefix(b"\xef\xbb\xbf"))
    except InputRefused as exc:
        return None, str(exc)
    if not isinstance(value, dict):
        return None, f"it holds a {type(value).__name__}, not an object"
    return {key: value[key] for key in _NESTED_FIELDS if key in value}, None


def _nested_packages(nested: list, files: list[TarballFile]) -> tuple[NestedPackage, ...]:
    gyp_folders = {
        tuple(parts[:-1])
        for parts in (_windows_parts(f.path.lower()) for f in files)
        if parts[-1] == "binding.gyp"
    }
    return tuple(
        NestedPackage(
            path=path,
            manifest=manifest,
            problem=problem,
            has_binding_gyp=tuple(_windows_parts(path.lower())[:-1]) in gyp_folders,
        )
        for path, manifest, problem in nested
    )


def tarball_read_file(
    data: bytes, path: str, *, limits: TarballLimits, max_bytes: int
) -> bytes | None:
    """Return the first ``max_bytes`` of one regular file, or None if there is no such file.

    The whole tarball is still validated, so a tarball refused at publish is refused here.
    """
    found: bytes | None = None

    def on_file(file: TarballFile, read: Callable[[int], bytes]) -> None:
        nonlocal found
        if file.path == path:
            found = read(max(0, min(max_bytes, file.size)))

    _walk(data, limits, on_file)
    return found


class _CappedGunzip:
    """A read-only file that gunzips ``data`` and refuses once ``cap`` bytes come out.

    tarfile's own "r|gz" would inflate a bomb as far as it goes; counting here stops us
    after at most ``cap`` bytes plus one chunk, whatever the headers claim.
    """

    def __init__(self, data: bytes, cap: int):
        self._data = memoryview(data)
        self._pos = 0
        self._cap = cap
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.total = 0

    def read(self, size: int = _CHUNK) -> bytes:
        # zlib treats max_length=0 as "unlimited", so never pass it through.
        size = min(size, _CHUNK) if size and size > 0 else _CHUNK
        out = b""
        while not out and not self._inflater.eof:
            pending = self._inflater.unconsumed_tail
            if not pending:
                if self._pos >= len(self._data):
                    raise EOFError("the compressed stream ends early")
                pending = self._data[self._pos : self._pos + _CHUNK]
                self._pos += len(pending)
            out = self._inflater.decompress(pending, size)
        self.total += len(out)
        if self.total > self._cap:
            raise _too_big(f"unpacks to more than {_size(self._cap)}")
        return out

    def check_trailer(self) -> None:
        """Refuse bytes after the gzip stream: npm would inflate a second gzip member, we not."""
        trailing = self._inflater.unused_data + self._data[self._pos :].tobytes()
        if trailing.strip(b"\0"):
            raise _repack("has data after its compressed stream")


class _StrictTarInfo(tarfile.TarInfo):
    """tarfile quietly ends the archive at a bad header; npm's tar skips it and reads on.

    Refusing closes that gap, where entries only npm sees could hide.
    """

    @classmethod
    def frombuf(cls, buf: bytes, encoding: str, errors: str) -> tarfile.TarInfo:
        try:
            return super().frombuf(buf, encoding, errors)
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as exc:
            raise _corrupt(exc) from exc


def _walk(data: bytes, limits: TarballLimits, on_file: _OnFile) -> list[TarballFile]:
    """Check every member and call ``on_file(file, read)`` for each regular file, in order."""
    if len(data) > limits.max_compressed_bytes:
        raise _too_big(
            f"is {_size(len(data))}, over the limit of {_size(limits.max_compressed_bytes)}"
        )
    if not data.startswith(b"\x1f\x8b"):
        raise InvalidTarball(
            "The tarball is not gzip-compressed: publish with the npm CLI (npm publish), "
            "which packs it for you."
        )
    stream = _CappedGunzip(data, limits.max_unpacked_bytes)
    try:
        # Stream mode ("r|"): one forward pass, never a seek, so nothing beyond the cap is read.
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=_StrictTarInfo, **_NAMES) as tar:
            files = _walk_members(tar, limits, on_file)
            # tarfile stops at the first zero block, npm's tar only at two; anything after
            # it would be read by npm and not by us.
            while chunk := tar.fileobj.read(_CHUNK):
                if chunk.strip(b"\0"):
                    raise _repack("has data after its end-of-archive marker")
    except _CORRUPT as exc:
        raise _corrupt(exc) from exc
    stream.check_trailer()
    return files


def _walk_members(
    tar: tarfile.TarFile, limits: TarballLimits, on_file: _OnFile
) -> list[TarballFile]:
    files: list[TarballFile] = []
    root: str | None = None
    seen: set[str] = set()
    manifests = 0
    for count, member in enumerate(tar, start=1):
        if count > limits.max_members:
            raise _too_big(f"has more than {limits.max_members} entries")
        shown = _show(member.name)
        parts = _name_parts(member.name, shown)
        _check_type(member, shown)
        if len(parts) < 2 and not member.isdir():
            raise _repack(f"has {shown} outside the package/ folder that holds every file")
        if not parts:
            continue  # "./", the archive's own folder
        # npm uses "package/", some old tarballs another name: any single folder will do.
        root = root or parts[0]
        if parts[0] != root:
            raise _repack(f"has two top-level folders, {_show(root)}/ and {_show(parts[0])}/")
        if len(parts) == 1:
            continue  # the package folder itself
        try:
            tarfile.data_filter(member, _FILTER_DEST)  # the stdlib's own extraction rules
        except (tarfile.FilterError, ValueError, OSError) as exc:
            raise _repack(f"has an unsafe entry ({shown})") from exc
        if member.isdir():
            continue
        if member.offset_data + member.size > limits.max_unpacked_bytes:
            raise _too_big(f"unpacks to more than {_size(limits.max_unpacked_bytes)}")
        path = "/".join(parts[1:])
        # Two copies of a path, or a package.json differing only in case or separator (one
        # file on macOS and Windows), let what we check differ from what npm installs.
        if _windows_parts(path.lower()) == ["package.json"]:
            manifests += 1
        if path in seen or manifests > 1:
            raise _repack(f"has {shown} twice")
        seen.add(path)
        file = TarballFile(path=path, size=member.size, executable=bool(member.mode & 0o111))
        files.append(file)
        on_file(file, lambda n, member=member: tar.extractfile(member).read(n))
    return files


def _name_parts(name: str, shown: str) -> list[str]:
    """Split a member name into components, refusing names that could escape the folder."""
    if "\0" in name:
        raise _repack(f"has a name with a NUL byte ({shown})")
    try:
        name.encode("utf-8")  # tarfile keeps undecodable bytes as surrogates
    except UnicodeEncodeError:
        raise _repack(f"has a name that is not UTF-8 ({shown})") from None
    if name.startswith("/"):
        raise _repack(f"has an absolute path ({shown})")
    # Backslashes are plain characters here, but separators to npm on Windows.
    if ".." in _windows_parts(name):
        raise _repack(f"has a path that climbs out with '..' ({shown})")
    return [part for part in name.split("/") if part not in ("", ".")]


def _windows_parts(name: str) -> list[str]:
    return [part for part in re.split(r"[/\\]", name) if part not in ("", ".")]


def _check_type(member: tarfile.TarInfo, shown: str) -> None:
    """Only regular files and folders: links and devices are how extraction gets subverted."""
    if member.issym() or member.islnk():
        kind = "symbolic" if member.issym() else "hard"
        raise InvalidTarball(
            f"The tarball contains a {kind} link ({shown}): npm packages may not contain "
            "links; remove it and publish again."
        )
    if member.isdir() and member.size:
        # Readers disagree on whether a folder's declared size covers data blocks: tarfile
        # reads them as entries, others skip them. Either way something could hide there.
        raise _repack(f"has a folder entry that carries data ({shown})")
    if member.isdir() or (member.isreg() and not member.issparse()):
        return
    if member.ischr() or member.isblk():
        kind = "a device file"
    elif member.isfifo():
        kind = "a FIFO (named pipe)"
    else:
        kind = "a sparse file" if member.issparse() else f"an entry of type {member.type!r}"
    raise InvalidTarball(
        f"The tarball contains {kind} ({shown}): npm packages may only contain regular "
        "files and folders; remove it and publish again."
    )


def _parse_package_json(raw: bytes) -> dict[str, Any]:
    try:
        # npm's JSON.parse rejects NaN and Infinity too; the rest no database could store.
        value = json_parse(raw.removeprefix(b"\xef\xbb\xbf"))
    except InputRefused as exc:
        problem = str(exc)
    else:
        if isinstance(value, dict):
            return value
        problem = f"it holds a {type(value).__name__}, not an object"
    raise InvalidTarball(
        f"package/package.json is not valid ({problem}): fix it and publish again."
    )


def _readme_rank(path: str) -> int | None:
    lower = path.lower()
    if "/" in path or not (lower == "readme" or lower.startswith("readme.")):
        return None
    return _README_RANK.get(lower[len("readme") :], len(_README_RANK))


def _repack(problem: str) -> InvalidTarball:
    return InvalidTarball(
        f"The tarball {problem}: pack it with the npm CLI (npm publish packs it for you) "
        "and publish again."
    )


def _too_big(problem: str) -> InvalidTarball:
    return InvalidTarball(
        f"The tarball {problem}: ship fewer or smaller files (check with npm pack --dry-run) "
        "and publish again."
    )


def _corrupt(exc: Exception) -> InvalidTarball:
    return _repack(f"is truncated or corrupt ({_show(str(exc))})")


def _size(n: int) -> str:
    return f"{n / _MIB:.1f} MiB" if n >= _MIB // 10 else f"{n} bytes"


def _show(name: str) -> str:
    """A member name safe to echo: hostile names carry control characters or run long."""
    clean = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in name[:200])
    return clean + ("…" if len(name) > 200 else "")
