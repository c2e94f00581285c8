import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.exceptions import InvalidTag, InvalidVersion
from registry.semver import (
    SemVer,
    is_valid_range,
    is_valid_version,
    max_version,
    parse_version,
    validate_tag,
    version_sort_key,
)

MAX_SAFE = 2**53 - 1

# --- parse_version ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0", SemVer(0, 0, 0, (), ())),
        ("1.2.3", SemVer(1, 2, 3, (), ())),
        ("1.2.3-alpha.1", SemVer(1, 2, 3, ("alpha", 1), ())),
        ("1.2.3-0a.-.01a", SemVer(1, 2, 3, ("0a", "-", "01a"), ())),
        ("1.2.3+build.007", SemVer(1, 2, 3, (), ("build", "007"))),
        ("1.0.0-rc.1+sha.5114f85", SemVer(1, 0, 0, ("rc", 1), ("sha", "5114f85"))),
        (f"{MAX_SAFE}.0.0", SemVer(MAX_SAFE, 0, 0, (), ())),
    ],
)
def test_parse_version(text, expected):
    assert parse_version(text) == expected
    assert str(parse_version(text)) == text
    assert is_valid_version(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "required"),
        ("v1.2.3", 'without the leading "v" or "=" ("1.2.3")'),
        ("=1.2.3", 'without the leading "v" or "=" ("1.2.3")'),
        ("version", "MAJOR.MINOR.PATCH"),
        (" 1.2.3", "whitespace"),
        ("1.2.3\n", "whitespace"),
        ("1.2", "MAJOR.MINOR.PATCH"),
        ("1.2.3.4", "MAJOR.MINOR.PATCH"),
        ("01.2.3", "leading zeros"),
        ("1.2.3-01", "leading zeros"),
        ("1.2.3-", "leading zeros"),
        ("1.2.3+", "leading zeros"),
        ("1.2.3-a..b", "leading zeros"),
        ("1.2.3-\u03b1", "leading zeros"),  # Greek alpha
        ("\u0661.2.3", "MAJOR.MINOR.PATCH"),  # Arabic-Indic digit: not a digit here
        (f"{MAX_SAFE + 1}.0.0", "at most"),
        ("1.2.3-" + "a" * 251, "256"),
    ],
)
def test_parse_version_refusals_say_what_to_do(text, fragment):
    with pytest.raises(InvalidVersion) as info:
        parse_version(text)
    assert fragment in info.value.message
    assert not is_valid_version(text)


def test_non_string_version():
    assert not is_valid_version(None)


# --- ordering -------------------------------------------------------------------

# The example chain from semver.org section 11, plus build metadata ties.
ORDERED = [
    "0.9.9",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.0+a",
    "1.0.0+b",
    "1.0.1",
    "1.2.0",
    "1.10.0",
    "2.0.0",
]


def test_sort_key_follows_precedence():
    assert sorted(reversed(ORDERED), key=version_sort_key) == ORDERED


def test_sort_key_refuses_invalid():
    with pytest.raises(InvalidVersion):
        version_sort_key("latest")


def test_max_version():
    assert max_version(ORDERED) == "2.0.0"
    assert max_version(["1.0.0", "2.0.0-rc.1"]) == "1.0.0"
    assert max_version(["1.0.0", "2.0.0-rc.1"], include_prerelease=True) == "2.0.0-rc.1"
    assert max_version(["1.0.0-a"]) is None
    assert max_version([]) is None
    assert max_version(["junk", "1.0.0", "v9.0.0"]) == "1.0.0"  # invalid ones skipped
    assert max_version(iter(["1.0.0+b", "1.0.0+a"])) == "1.0.0+b"  # deterministic tie


# --- hypothesis -------------------------------------------------------------------

_ALNUM = "0123456789abcXYZ-"
numbers = st.integers(min_value=0, max_value=MAX_SAFE)
numeric_ids = st.integers(min_value=0, max_value=MAX_SAFE)
alnum_ids = st.text(_ALNUM, min_size=1, max_size=8).filter(lambda s: not s.isdigit())
build_ids = st.text(_ALNUM, min_size=1, max_size=8)


any_pre_id = st.one_of(numeric_ids, alnum_ids)


def versions(number=numbers, pre_id=any_pre_id):
    return st.builds(
        SemVer,
        number,
        number,
        number,
        st.lists(pre_id, max_size=4).map(tuple),
        st.lists(build_ids, max_size=3).map(tuple),
    )


@given(versions())
def test_str_round_trips(v):
    assert parse_version(str(v)) == v


def _precedence(a: SemVer, b: SemVer) -> int:
    """SemVer 2.0.0 section 11, written out rule by rule (build ignored)."""

    def cmp(x, y):
        return (x > y) - (x < y)

    main = cmp((a.major, a.minor, a.patch), (b.major, b.minor, b.patch))
    if main:
        return main
    if not a.prerelease or not b.prerelease:
        # a release outranks its prereleases
        return cmp(not a.prerelease, not b.prerelease)
    for x, y in zip(a.prerelease, b.prerelease, strict=False):
        if isinstance(x, int) and isinstance(y, int):
            result = cmp(x, y)
        elif isinstance(x, int) or isinstance(y, int):
            result = -1 if isinstance(x, int) else 1  # numeric < alphanumeric
        else:
            result = cmp(x, y)  # ASCII order
        if result:
            return result
    return cmp(len(a.prerelease), len(b.prerelease))


# Small alphabets so that equal parts, prefixes and ties actually occur.
small_versions = versions(
    number=st.integers(0, 2),
    pre_id=st.one_of(st.integers(0, 3), st.sampled_from(["a", "b", "B", "-", "1a", "a1"])),
)


@given(st.lists(small_versions.map(str), max_size=12))
def test_sorting_agrees_with_pairwise_precedence(texts):
    ordered = sorted(texts, key=version_sort_key)
    parsed = [parse_version(t) for t in ordered]
    for i in range(len(parsed)):
        for j in range(i + 1, len(parsed)):
            assert _precedence(parsed[i], parsed[j]) <= 0
            if _precedence(parsed[i], parsed[j]) == 0:
                assert ordered[i] <= ordered[j]  # tie broken by the raw string
    # the order does not depend on the input order
    assert ordered == sorted(reversed(texts), key=version_sort_key)
    assert ordered == sorted(texts, key=functools.cmp_to_key(_full_cmp))


def _full_cmp(a: str, b: str) -> int:
    return _precedence(parse_version(a), parse_version(b)) or (a > b) - (a < b)


# --- ranges ---------------------------------------------------------------------

# Whether validRange(text) !== null, observed with node-semver 7.8.5 (bundled in
# npm 11.19.1, Node v20.20.2).
RANGES = [
    ("1", True),
    ("1.x", True),
    ("^1.2", True),
    ("~1", True),
    (">=1 <2", True),
    ("1.2.3 - 2", True),
    ("*", True),
    ("", True),
    ("x", True),
    ("1 || 2", True),
    ("latest", False),
    ("beta", False),
    ("next", False),
    ("canary-2", False),
    ("1.2.3", True),
    ("v1.2.3", True),
    ("=1.2.3", True),
    ("1.2", True),
    ("1.2.x", True),
    ("1.x.x", True),
    ("1.*", True),
    ("X", True),
    ("x.x.x", True),
    ("1.x.3", False),
    ("x.1", False),
    ("^0.0.1", True),
    ("^0", True),
    ("~1.2.3", True),
    ("~>1.2", True),
    ("~ 1", True),
    (" ^ 1.2 ", True),
    ("> 1", True),
    (">=1.2.3-alpha.1", True),
    ("<2.0.0-0", True),
    ("<=1.x", True),
    (">*", True),
    ("<=*", True),
    ("<x", True),
    ("1.2.3 - 2.3.4", True),
    ("1.2 - 2", True),
    ("1.2.3-2", True),
    ("1.2.3 -2", False),
    ("1 - 2 || 3 - 4", True),
    ("||", True),
    ("1 ||| 2", False),
    ("1 | 2", False),
    (">= 1.2.3 < 2", True),
    ("1 2", True),
    ("1.2.3+build", True),
    ("^1.2.3+build.1", True),
    ("01", False),
    ("1.02", False),
    ("1.2.3-01", False),
    ("1.2.3-", False),
    ("^9007199254740990", True),
    ("^9007199254740991", False),  # upper bound 9007199254740992 is not a safe integer
    ("9007199254740992", False),
    ("*1", False),
    ("^~1", False),
    ("~^1", False),
    (">=>1", False),
    ("!1", False),
    ("1.2.3.4", False),
    ("-1", False),
    ("2-beta", False),
    ("v1", True),
    ("vv1", True),
    ("1.0.0-rc.1", True),
    ("next-2", False),
    ("rc", False),
    ("stable", False),
    ("alpha.1", False),
    ("1.x-beta", False),
    ("1-beta", False),
    ("1.2-beta", False),
    (">=latest", False),
    ("\t1\n", True),
    ("1\u00a02", True),  # JavaScript counts NBSP as whitespace
    ("\u00a01", True),
    ("1.2.3-" + "a" * 250, True),  # exactly 256 characters
    ("1.2.3-" + "a" * 251, False),  # longer than 256 characters
]


@pytest.mark.parametrize(("text", "expected"), RANGES)
def test_is_valid_range_matches_node(text, expected):
    assert is_valid_range(text) is expected


# --- dist-tags ------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["latest", "next", "beta", "canary-2", "rc", "v1-lts", "next-2"])
def test_tags_accepted(tag):
    validate_tag(tag)


@pytest.mark.parametrize(
    ("tag", "fragment"),
    [
        ("", "required"),
        ("1.x", "version range"),
        ("2", "version range"),
        ("^1.2", "URL-safe"),
        ("x", "version range"),
        ("v1", "version range"),
        ("1.2.3", "version range"),
        ("my tag", "whitespace"),
        ("a/b", "URL-safe"),
        ("bêta", "URL-safe"),
        ("\ud800", "URL-safe"),  # lone surrogate: encodeURIComponent would throw
    ],
)
def test_tags_refused(tag, fragment):
    with pytest.raises(InvalidTag) as info:
        validate_tag(tag)
    assert fragment in info.value.message
