import pytest

from registry.exceptions import InvalidPackageName
from registry.names import (
    is_valid_name,
    split_name,
    tarball_filename,
    validate_new_name,
    version_from_tarball_filename,
)

# (name, valid for new packages, valid for reading), as reported by npm's
# validate-npm-package-name 7.0.2 (validForNewPackages, validForOldPackages)
# unless marked "deviation".
NAMES = [
    ("foo", True, True),
    ("foo-bar", True, True),
    ("foo.bar", True, True),
    ("a", True, True),
    ("some_pkg", True, True),
    ("@scope/pkg", True, True),
    ("@scope/pkg.js", True, True),
    ("@scope/http", True, True),
    ("a" * 214, True, True),
    # legacy: refused for new packages, still served
    ("Foo", False, True),
    ("@Scope/pkg", False, True),
    ("http", False, True),
    ("fs", False, True),
    ("HTTP", False, True),
    ("a" * 215, False, True),
    ("crazy!", False, True),
    ("it's", False, True),
    ("x~y", False, True),
    ("(x)", False, True),
    ("@scope/pkg!", False, True),
    # refused everywhere
    ("", False, False),
    (".hidden", False, False),
    ("_private", False, False),
    (" foo", False, False),
    ("foo ", False, False),
    ("foo bar", False, False),
    ("node_modules", False, False),
    ("favicon.ico", False, False),
    ("Node_Modules", False, False),
    ("@scope/.pkg", False, False),
    ("@/pkg", False, False),
    ("@scope/", False, False),
    ("@scope", False, False),
    ("a/b", False, False),
    ("@a/b/c", False, False),
    ("é", False, False),
    ("foo%20", False, False),
    ("foo?", False, False),
    ("foo#x", False, False),
    ("foo:bar", False, False),
    ("😀", False, False),
    # deviation: npm accepts these; the brief refuses "_" in the package part
    ("@scope/_pkg", False, False),
    # deviation: npm 7 refuses a leading "-" outright; the registry still serves it
    ("-", False, True),
    ("-foo", False, True),
    # deviation: npm only checks ~'!()* in the package part; refused anywhere here
    ("@s!/x", False, True),
]


@pytest.mark.parametrize(("name", "new_ok", "read_ok"), NAMES)
def test_name_rules(name, new_ok, read_ok):
    assert is_valid_name(name) is read_ok
    if new_ok:
        validate_new_name(name)
    else:
        with pytest.raises(InvalidPackageName):
            validate_new_name(name)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Foo", "must be lowercase"),
        ("http", "core module"),
        ("a" * 215, "at most 214"),
        ("crazy!", "~'!()*"),
        (".x", 'start with "."'),
        ("_x", 'start with "_"'),
        ("node_modules", "reserved"),
        ("foo bar", "URL-safe"),
        ("@s/.x", 'must not start with "."'),
        ("", "required"),
    ],
)
def test_refusals_name_the_rule_and_the_fix(name, fragment):
    with pytest.raises(InvalidPackageName) as info:
        validate_new_name(name)
    message = info.value.message
    assert fragment in message
    assert "package.json" in message


def test_lowercase_message_reads_well():
    with pytest.raises(InvalidPackageName) as info:
        validate_new_name("Foo")
    assert info.value.message == (
        'Invalid package name "Foo": new package names must be lowercase. '
        "Rename the package in package.json and publish again."
    )


def test_non_strings_are_refused():
    assert not is_valid_name(None)
    with pytest.raises(InvalidPackageName):
        validate_new_name(42)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("@scope/pkg", ("scope", "pkg")), ("pkg", (None, "pkg")), ("@s/P.x", ("s", "P.x"))],
)
def test_split_name(name, expected):
    assert split_name(name) == expected


@pytest.mark.parametrize("name", ["", "@scope", "@/pkg", "@scope/", "a/b", "@a/b/c"])
def test_split_name_refuses_other_shapes(name):
    with pytest.raises(InvalidPackageName):
        split_name(name)


@pytest.mark.parametrize(
    ("name", "version", "filename"),
    [
        ("@s/pkg", "1.0.0", "pkg-1.0.0.tgz"),
        ("a", "1.0.0", "a-1.0.0.tgz"),
        ("foo-bar", "2.0.0-beta.1+b", "foo-bar-2.0.0-beta.1+b.tgz"),
    ],
)
def test_tarball_filename_round_trip(name, version, filename):
    assert tarball_filename(name, version) == filename
    assert version_from_tarball_filename(name, filename) == version


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("foo", "foo-bar-1.0.0.tgz"),  # belongs to "foo-bar"
        ("foo", "bar-1.0.0.tgz"),
        ("foo", "foo-1.0.0.tar.gz"),
        ("foo", "foo-.tgz"),
        ("foo", "foo1.0.0.tgz"),
        ("@s/foo", "s-foo-1.0.0.tgz"),
        ("foo", "foo-v1.0.0.tgz"),
        ("foo", "foo-1.0.0/../x.tgz"),
    ],
)
def test_version_from_foreign_filename_is_none(name, filename):
    assert version_from_tarball_filename(name, filename) is None


def test_prerelease_that_looks_like_a_name_suffix():
    # "a-1.0.0-1.0.0.tgz" is version "1.0.0-1.0.0" of "a" (and 1.0.0 of "a-1.0.0").
    assert version_from_tarball_filename("a", "a-1.0.0-1.0.0.tgz") == "1.0.0-1.0.0"
    assert version_from_tarball_filename("a-1.0.0", "a-1.0.0-1.0.0.tgz") == "1.0.0"
