"""Tests for registry.tarballs: hostile tarballs are refused with InvalidTarball, never crash."""

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from base64 import b64encode
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.exceptions import InvalidTarball
from registry.tarballs import (
    TarballFile,
    TarballInfo,
    TarballLimits,
    tarball_digests,
    tarball_inspect,
    tarball_read_file,
)

LIMITS = TarballLimits(
    max_compressed_bytes=4 * 1024 * 1024, max_unpacked_bytes=10 * 1024 * 1024, max_members=100
)
MANIFEST = json.dumps({"name": "left-pad", "version": "1.0.0"}).encode()
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # leave no .hypothesis folder in the shared tree
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass
class Entry:
    """A tar member to write; ``name`` goes into a pax header so NUL bytes etc. survive."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    mode: int = 0o644
    linkname: str = ""


def tar_bytes(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, errors="surrogateescape"
    ) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type, info.mode, info.linkname = entry.type, entry.mode, entry.linkname
            info.size = len(entry.data) if entry.type == tarfile.REGTYPE else 0
            info.pax_headers = {"path": entry.name}
            tar.addfile(info, io.BytesIO(entry.data) if info.size else None)
    return buffer.getvalue()


def tgz(
    files: dict[str, bytes] | None = None, *, root: str = "package", extra: tuple[Entry, ...] = ()
) -> bytes:
    """A gzip'd tarball like ``npm pack`` makes: ``files`` under ``root/``, then ``extra``."""
    files = {"package.json": MANIFEST} if files is None else files
    entries = [Entry(f"{root}/{path}", data) for path, data in files.items()]
    return gzip.compress(tar_bytes([*entries, *extra]))


def raw_member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE) -> bytes:
    """One ustar header plus padded data, for archives tarfile would not write itself."""
    info = tarfile.TarInfo(name)
    info.size, info.type = len(data), kind
    padding = b"\0" * (-len(data) % tarfile.BLOCKSIZE)
    return info.tobuf(tarfile.USTAR_FORMAT) + data + padding


def refused(data: bytes, match: str | None = None, limits: TarballLimits = LIMITS) -> str:
    with pytest.raises(InvalidTarball, match=match) as caught:
        tarball_inspect(data, limits=limits)
    return caught.value.message


def test_inspect_reads_package_json_and_counts_files():
    data = tgz(
        {"package.json": MANIFEST, "lib/index.js": b"module.exports = 1;\n", "LICENSE": b"MIT"}
    )
    info = tarball_inspect(data, limits=LIMITS)
    assert info.package_json == {"name": "left-pad", "version": "1.0.0"}
    assert [f.path for f in info.files] == ["package.json", "lib/index.js", "LICENSE"]
    assert info.file_count == 3
    assert info.unpacked_size == len(MANIFEST) + 20 + 3
    assert info.readme is None and info.readme_filename is None
    assert not info.has_binding_gyp


def test_directories_are_not_files_and_executable_bit_is_reported():
    data = tgz(
        extra=(
            Entry("package/bin", type=tarfile.DIRTYPE, mode=0o755),
            Entry("package/bin/cli.js", b"#!/usr/bin/env node\n", mode=0o755),
        )
    )
    info = tarball_inspect(data, limits=LIMITS)
    assert info.files == (
        TarballFile("package.json", len(MANIFEST), executable=False),
        TarballFile("bin/cli.js", 20, executable=True),
    )


def test_package_json_bom_is_stripped():
    info = tarball_inspect(tgz({"package.json": b"\xef\xbb\xbf" + MANIFEST}), limits=LIMITS)
    assert info.package_json["name"] == "left-pad"


def test_refuses_symlink_member():
    link = Entry("package/x", type=tarfile.SYMTYPE, linkname="/etc/passwd")
    assert "symbolic link (package/x)" in refused(tgz(extra=(link,)), "may not contain links")


def test_refuses_hardlink():
    link = Entry("package/y", type=tarfile.LNKTYPE, linkname="package/package.json")
    refused(tgz(extra=(link,)), "hard link")


def test_refuses_device():
    refused(tgz(extra=(Entry("package/tty", type=tarfile.CHRTYPE),)), "device file")
    refused(tgz(extra=(Entry("package/sda", type=tarfile.BLKTYPE),)), "device file")


def test_refuses_fifo():
    refused(tgz(extra=(Entry("package/pipe", type=tarfile.FIFOTYPE),)), "FIFO")


def test_refuses_path_traversal():
    refused(tgz(extra=(Entry("package/../../etc/cron.d/x", b"x"),)), r"'\.\.'")


def test_refuses_absolute_path():
    refused(tgz(extra=(Entry("/package/evil.js", b"x"),)), "absolute path")


def test_refuses_backslash_traversal_and_manifest_aliases():
    # Windows npm reads backslashes as separators; "..\\" and ".\\package.json" must not slip by.
    refused(tgz(extra=(Entry("package/a\\..\\..\\x.js", b"x"),)), "'..'")
    refused(tgz(extra=(Entry("package/.\\package.json", b"{}"),)), "twice")
    info = tarball_inspect(tgz(extra=(Entry("package/a\\b.js", b"x"),)), limits=LIMITS)
    assert info.files[-1].path == "a\\b.js"


def test_refuses_nul_in_name():
    refused(tgz(extra=(Entry("package/a\0.js", b"x"),)), "NUL byte")


def test_refuses_name_that_is_not_utf8():
    refused(tgz(extra=(Entry("package/\udcff.js", b"x"),)), "not UTF-8")


def test_refuses_not_gzip():
    message = refused(tar_bytes([Entry("package/package.json", MANIFEST)]))
    assert message.startswith("The tarball is not gzip-compressed: publish with the npm CLI")


def test_refuses_truncated():
    data = tgz({"package.json": MANIFEST, "index.js": bytes(range(256)) * 64})
    refused(data[: len(data) // 2], "truncated or corrupt")
    refused(data[:-4], "truncated or corrupt")  # gzip trailer (size) missing
    refused(data[:3], "truncated or corrupt")


def test_refuses_bad_gzip_checksum():
    data = bytearray(tgz())
    data[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    refused(bytes(data), "truncated or corrupt")


def test_refuses_tar_bomb_quickly():
    # A valid little package followed by 200 MiB of zeros (under 1 MiB compressed):
    # reading must stop at the 10 MiB cap instead of inflating all of it.
    deflate = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [deflate.compress(tar_bytes([Entry("package/package.json", MANIFEST)]))]
    zeros = bytes(1024 * 1024)
    parts += [deflate.compress(zeros) for _ in range(200)]
    bomb = b"".join([*parts, deflate.flush()])
    assert len(bomb) < LIMITS.max_compressed_bytes
    refused(bomb, "unpacks to more than 10.0 MiB")


def test_refuses_member_declaring_more_than_the_unpacked_cap():
    limits = TarballLimits(max_compressed_bytes=10**6, max_unpacked_bytes=4096, max_members=10)
    refused(tgz({"package.json": MANIFEST, "big.bin": bytes(8192)}), "unpacks to more than", limits)


def test_refuses_missing_package_json():
    message = refused(tgz({"index.js": b""}))
    assert message.startswith("The tarball has no package/package.json")


def test_refuses_package_json_not_object():
    refused(tgz({"package.json": b"[1, 2]"}), "not an object")
    refused(tgz({"package.json": b'{"name": '}), "not valid")
    refused(tgz({"package.json": b'{"n": NaN}'}), "NaN")
    refused(tgz({"package.json": b"\xff{}"}), "not UTF-8")
    refused(tgz({"package.json": b"[" * 100_000}), "not valid")


def test_refuses_oversized_package_json():
    limits = TarballLimits(10**6, 10**6, 10, max_package_json_bytes=16)
    refused(tgz(), "package.json is", limits)


def test_refuses_duplicate_package_json():
    evil = Entry("package/package.json", b'{"name": "evil", "scripts": {"install": "curl"}}')
    refused(tgz(extra=(evil,)), "package/package.json twice")
    refused(tgz(extra=(Entry("package/PACKAGE.JSON", b"{}"),)), "twice")


def test_refuses_too_many_members():
    files = {"package.json": MANIFEST} | {f"f{i}.js": b"" for i in range(10)}
    limits = TarballLimits(max_compressed_bytes=10**6, max_unpacked_bytes=10**6, max_members=5)
    refused(tgz(files), "more than 5 entries", limits)


def test_refuses_oversized_compressed():
    limits = TarballLimits(
        max_compressed_bytes=2 * 1024 * 1024, max_unpacked_bytes=1, max_members=1
    )
    refused(b"\x1f\x8b" + bytes(3 * 1024 * 1024), "is 3.0 MiB, over the limit of 2.0 MiB", limits)


def test_refuses_entries_hidden_after_a_zero_block():
    # tarfile stops at the first zero block; npm's tar reads on until two, and would see this.
    hidden = raw_member("package/package.json", b'{"name": "evil"}')
    data = raw_member("package/package.json", MANIFEST) + bytes(512) + hidden + bytes(1024)
    refused(gzip.compress(data), "after its end-of-archive marker")


def test_refuses_invalid_header_in_the_middle():
    data = raw_member("package/package.json", MANIFEST) + b"\x01" * 512 + bytes(1024)
    refused(gzip.compress(data), "truncated or corrupt")


def test_refuses_folder_entry_carrying_data():
    # tarfile would read the "folder data" as entries; other readers skip it as content.
    hidden = raw_member("package/package.json", b'{"name": "evil"}')
    data = raw_member("package/d", hidden, tarfile.DIRTYPE) + raw_member(
        "package/package.json", MANIFEST
    )
    refused(gzip.compress(data + bytes(1024)), "folder entry that carries data")


def test_refuses_pax_header_with_absurd_length():
    pax = raw_member("././@PaxHeader", b"9" * 40 + b" path=x\n", tarfile.XHDTYPE)
    data = pax + raw_member("package/package.json", MANIFEST) + bytes(1024)
    refused(gzip.compress(data), "truncated or corrupt")


def test_refuses_second_gzip_member():
    refused(tgz() + gzip.compress(b"more"), "after its compressed stream")


def test_accepts_trailing_zero_padding():
    assert tarball_inspect(tgz() + bytes(100), limits=LIMITS).file_count == 1


def test_readme_prefers_markdown():
    files = {
        "package.json": MANIFEST,
        "README": b"plain",
        "readme.MD": b"# md",
        "lib/README.md": b"no",
    }
    info = tarball_inspect(tgz(files), limits=LIMITS)
    assert (info.readme_filename, info.readme) == ("readme.MD", "# md")


def test_readme_is_truncated_and_decoded_leniently():
    limits = TarballLimits(10**6, 10**6, 10, max_readme_bytes=4)
    info = tarball_inspect(
        tgz({"package.json": MANIFEST, "README.txt": b"ab\xffcdef"}), limits=limits
    )
    assert (info.readme_filename, info.readme) == ("README.txt", "ab\ufffdc")


def test_binding_gyp_detected():
    assert tarball_inspect(
        tgz({"package.json": MANIFEST, "binding.gyp": b"{}"}), limits=LIMITS
    ).has_binding_gyp
    assert not tarball_inspect(
        tgz({"package.json": MANIFEST, "src/binding.gyp": b"{}"}), limits=LIMITS
    ).has_binding_gyp


def test_refuses_package_json_a_database_cannot_store():
    refused(tgz({"package.json": b'{"name": "a\\u0000b"}'}), "NUL character")
    refused(tgz({"package.json": b'{"name": "\\ud800"}'}), "unpaired surrogate")
    refused(tgz({"package.json": b'{"size": 1e400}'}), "too large")
    refused(tgz({"package.json": b"{" + b'"a":{' * 100 + b"}" * 101}), "nests deeper than 64")


# --- package.json files below the package's own: bundled dependencies -------------------


def manifest(**fields) -> bytes:
    return json.dumps({"name": "dep", "version": "1.0.0", **fields}).encode()


def test_reads_every_nested_package_json_at_any_depth():
    files = {
        "package.json": MANIFEST,
        "node_modules/dep/package.json": manifest(scripts={"postinstall": "node x.js"}),
        "node_modules/dep/node_modules/@s/deep/package.json": manifest(bin="cli.js"),
        "node_modules/dep/node_modules/@s/deep/binding.gyp": b"{}",
        "lib/esm/package.json": b'{"type": "module"}',
    }

    nested = tarball_inspect(tgz(files), limits=LIMITS).nested

    assert [(n.path, n.folder, n.has_binding_gyp) for n in nested] == [
        ("node_modules/dep/package.json", "node_modules/dep", False),
        (
            "node_modules/dep/node_modules/@s/deep/package.json",
            "node_modules/dep/node_modules/@s/deep",
            True,
        ),
        ("lib/esm/package.json", "lib/esm", False),
    ]
    # Only what decides what an install runs is kept.
    assert nested[0].manifest == {
        "name": "dep",
        "version": "1.0.0",
        "scripts": {"postinstall": "node x.js"},
    }
    assert nested[2].manifest == {}


def test_nested_package_json_in_any_case_or_with_backslashes_counts():
    files = {
        "package.json": MANIFEST,
        "node_modules/a/Package.JSON": manifest(),
        "node_modules\\b\\package.json": manifest(),
    }

    nested = tarball_inspect(tgz(files), limits=LIMITS).nested

    assert [n.folder for n in nested] == ["node_modules/a", "node_modules\\b"]


def test_unreadable_nested_package_json_is_kept_with_its_problem():
    files = {
        "package.json": MANIFEST,
        "node_modules/a/package.json": b"[" * 5000,
        "node_modules/b/package.json": b"[1]",
        "node_modules/c/package.json": b'{"scripts": {"install": "x\\u0000"}}',
    }

    nested = tarball_inspect(tgz(files), limits=LIMITS).nested

    assert [n.manifest for n in nested] == [None, None, None]
    assert "nests deeper" in nested[0].problem
    assert nested[1].problem == "it holds a list, not an object"
    assert "NUL" in nested[2].problem


def test_refuses_oversized_nested_package_json():
    limits = TarballLimits(10**6, 10**7, 100, max_package_json_bytes=100)
    big = manifest(description="x" * 200)
    refused(
        tgz({"package.json": MANIFEST, "node_modules/a/package.json": big}),
        "package/node_modules/a/package.json is",
        limits,
    )


def test_refuses_too_many_or_too_large_nested_package_json_files():
    files = {
        "package.json": MANIFEST,
        **{f"node_modules/d{i}/package.json": manifest() for i in range(4)},
    }
    few = TarballLimits(10**6, 10**7, 100, max_nested_manifests=3)
    small = TarballLimits(10**6, 10**7, 100, max_nested_manifest_bytes=3 * len(manifest()))

    refused(tgz(files), "more than 3 package.json files", few)
    refused(tgz(files), "of package.json files", small)
    assert len(tarball_inspect(tgz(files), limits=LIMITS).nested) == 4


def test_strips_single_nonstandard_root():
    info = tarball_inspect(
        tgz({"package.json": MANIFEST, "a.js": b""}, root="node-foo"), limits=LIMITS
    )
    assert [f.path for f in info.files] == ["package.json", "a.js"]


def test_refuses_two_roots():
    refused(tgz(extra=(Entry("other/x.js", b""),)), "two top-level folders, package/ and other/")


def test_refuses_file_outside_any_folder():
    refused(gzip.compress(tar_bytes([Entry("package.json", MANIFEST)])), "outside")


def test_digests_match_hashlib():
    data = tgz()
    digests = tarball_digests(data)
    assert digests.integrity == "sha512-" + b64encode(hashlib.sha512(data).digest()).decode()
    assert digests.sha512_hex == hashlib.sha512(data).hexdigest()
    assert digests.shasum == hashlib.sha1(data).hexdigest()  # noqa: S324 - npm's legacy field


def test_read_file_returns_content():
    data = tgz({"package.json": MANIFEST, "lib/index.js": b"module.exports = 1;\n"})
    assert (
        tarball_read_file(data, "lib/index.js", limits=LIMITS, max_bytes=100)
        == b"module.exports = 1;\n"
    )
    assert tarball_read_file(data, "lib/index.js", limits=LIMITS, max_bytes=6) == b"module"
    assert tarball_read_file(data, "lib/missing.js", limits=LIMITS, max_bytes=100) is None
    with pytest.raises(InvalidTarball):
        tarball_read_file(data[:-10], "lib/index.js", limits=LIMITS, max_bytes=100)


# --- fuzzing: whatever arrives, the answer is a TarballInfo or an InvalidTarball ---------

VALID = tgz({"package.json": MANIFEST, "README.md": b"# hi", "lib/a.js": b"x" * 700})
VALID_TAR = gzip.decompress(VALID)


def inspect_or_refuse(data: bytes) -> TarballInfo | None:
    try:
        info = tarball_inspect(data, limits=LIMITS)
    except InvalidTarball:
        return None
    assert isinstance(info, TarballInfo)
    for file in info.files:
        assert "\0" not in file.path and not file.path.startswith("/")
        assert ".." not in file.path.split("/")
    return info


def flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    mutated = bytearray(data)
    for position, mask in flips:
        mutated[position % len(mutated)] ^= mask
    return bytes(mutated)


flips = st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=8)


@FUZZ
@given(st.binary(max_size=2048) | st.binary(max_size=2048).map(lambda b: b"\x1f\x8b" + b))
def test_fuzz_arbitrary_bytes(data):
    inspect_or_refuse(data)


@FUZZ
@given(st.integers(0, len(VALID)))
def test_fuzz_truncated_tarball(cut):
    inspect_or_refuse(VALID[:cut])


@FUZZ
@given(flips)
def test_fuzz_flipped_bytes_in_gzip(changes):
    inspect_or_refuse(flip(VALID, changes))


@FUZZ
@given(flips, st.integers(0, len(VALID_TAR)))
def test_fuzz_flipped_bytes_in_tar(changes, cut):
    # Recompressing after the damage gets past gzip's CRC, so the tar parser gets fuzzed.
    inspect_or_refuse(gzip.compress(flip(VALID_TAR, changes)[:cut]))


name_parts = st.sampled_from(["package", "..", ".", "", "\0", "\\", "é", "📦", "\udcff", "a b"])
names = st.lists(name_parts | st.text(max_size=8), min_size=1, max_size=6).map("/".join)


@FUZZ
@given(names, st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE]))
def test_fuzz_member_names(name, kind):
    data = tgz(extra=(Entry(name, b"x", type=kind),))
    info = inspect_or_refuse(data)
    if info is not None and kind == tarfile.REGTYPE:
        assert len(info.files) == 2
