"""npm-flavoured semantic versions, as much as the registry needs.

Versions follow SemVer 2.0.0 exactly as node-semver's strict ``valid()`` does,
except that only the canonical spelling is accepted: the registry stores the
string it is given, so ``v1.2.3`` or `` 1.2.3`` would become a second spelling
of ``1.2.3``.

Ranges are only ever *recognised* here (``is_valid_range``), never matched:
npm refuses dist-tags that look like ranges, so the registry must agree with
node-semver's ``validRange()`` on what a range is, quirks included.  That part
therefore replays node-semver's (regex-driven) range desugaring step by step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from registry.exceptions import InvalidTag, InvalidVersion

# node-semver refuses longer version strings and larger version numbers
# (JavaScript numbers stop being exact integers past 2**53 - 1).
MAX_LENGTH = 256
MAX_SAFE_INTEGER = 2**53 - 1


@dataclass(frozen=True, order=False)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str | int, ...] = ()
    build: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(part) for part in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


# --- versions ---------------------------------------------------------------

_NUM = r"0|[1-9][0-9]*"  # no leading zeros
_PRE_ID = rf"[0-9]*[A-Za-z-][0-9A-Za-z-]*|{_NUM}"  # alphanumeric first: it is longer
_BUILD_ID = r"[0-9A-Za-z-]+"  # build metadata may have leading zeros
_VERSION_RE = re.compile(
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)
_EXAMPLE = 'canonical SemVer such as "1.2.3", "1.2.3-beta.1" or "1.2.3+build.5"'


def parse_version(text: str) -> SemVer:
    """Parse a canonical SemVer 2.0.0 string or raise ``InvalidVersion``."""
    if not isinstance(text, str) or not text:
        raise InvalidVersion(f'A version is required: set "version" to {_EXAMPLE}.')
    shown = text if len(text) <= 80 else text[:77] + "..."
    prefix = f'Invalid version "{shown}"'
    if len(text) > MAX_LENGTH:
        raise InvalidVersion(
            f"{prefix}: versions may be at most {MAX_LENGTH} characters long. "
            "Shorten the prerelease or build part."
        )
    if text.strip() != text:
        raise InvalidVersion(f"{prefix}: remove the surrounding whitespace.")
    if text[0] in "v=" and _VERSION_RE.fullmatch(text.lstrip("v=")):
        raise InvalidVersion(
            f'{prefix}: write it without the leading "v" or "=" '
            f'("{text.lstrip("v=")}"); the registry stores {_EXAMPLE}.'
        )
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", text.split("-")[0].split("+")[0]):
            hint = (
                "numeric parts must not have leading zeros and prerelease/build "
                "parts are dot-separated [0-9A-Za-z-] identifiers"
            )
        else:
            hint = "use MAJOR.MINOR.PATCH"
        raise InvalidVersion(f"{prefix}: {hint}; write it as {_EXAMPLE}.")
    major, minor, patch = (int(match[part]) for part in ("major", "minor", "patch"))
    if max(major, minor, patch) > MAX_SAFE_INTEGER:
        raise InvalidVersion(
            f"{prefix}: major, minor and patch must be at most {MAX_SAFE_INTEGER} "
            "(npm clients cannot represent larger numbers). Choose a smaller version."
        )
    # Numeric prerelease identifiers compare as numbers, so store them as ints.
    # (node-semver keeps ones above 2**53 - 1 as strings but still compares them
    # numerically; Python ints compare exactly, so no limit is needed here.)
    pre = tuple(
        int(part) if part.isdigit() else part
        for part in (match["pre"].split(".") if match["pre"] else ())
    )
    build = tuple(match["build"].split(".")) if match["build"] else ()
    return SemVer(major, minor, patch, pre, build)


def is_valid_version(text: str) -> bool:
    try:
        parse_version(text)
    except InvalidVersion:
        return False
    return True


def version_sort_key(text: str) -> tuple:
    """Sort key giving SemVer precedence; raises ``InvalidVersion`` if invalid.

    Build metadata has no precedence, so versions differing only in build
    compare by their raw string last: that keeps sorting deterministic.
    """
    v = parse_version(text)
    # A prerelease sorts before its release; numeric identifiers sort before
    # alphanumeric ones; a shorter identifier list that is a prefix of a
    # longer one sorts first (plain tuple comparison already does that).
    pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in v.prerelease)
    return (v.major, v.minor, v.patch, not v.prerelease, pre, text)


def max_version(versions: Iterable[str], *, include_prerelease: bool = False) -> str | None:
    """Highest valid version in ``versions`` (invalid strings are skipped).

    Prereleases are ignored unless ``include_prerelease``; returns None when
    nothing qualifies (also when there are only prereleases).
    """
    candidates = [
        v
        for v in versions
        if is_valid_version(v) and (include_prerelease or not parse_version(v).prerelease)
    ]
    return max(candidates, key=version_sort_key, default=None)


# --- ranges (node-semver's validRange, loose=false) --------------------------
# Token sources spelled as in node-semver's internal/re.js, so each step below
# can be checked against it.  node-semver runs them through "safe" variants
# that bound the greedy quantifiers; _safe() applies the same bounds, which
# also changes what matches for absurdly long identifiers.

_R_NUM = r"0|[1-9]\d*"
_R_PRE_ID = rf"(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|{_R_NUM})"
_R_PRERELEASE = rf"(?:-({_R_PRE_ID}(?:\.{_R_PRE_ID})*))"
_R_BUILD = r"(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))"
_R_FULLPLAIN = rf"v?({_R_NUM})\.({_R_NUM})\.({_R_NUM}){_R_PRERELEASE}?{_R_BUILD}?"
_R_LOOSEPLAIN = (
    r"[v=\s]*(\d+)\.(\d+)\.(\d+)"
    r"(?:-?((?:\d*[a-zA-Z-][a-zA-Z0-9-]*|\d+)(?:\.(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|\d+))*))?"
    rf"{_R_BUILD}?"
)
_R_GTLT = r"((?:<|>)?=?)"
_R_XID = rf"{_R_NUM}|x|X|\*"
_R_XRANGEPLAIN = (
    rf"[v=\s]*({_R_XID})(?:\.({_R_XID})(?:\.({_R_XID})(?:{_R_PRERELEASE})?{_R_BUILD}?)?)?"
)


def _safe(src: str) -> str:
    for token, limit in ((r"\s", 1), (r"\d", MAX_LENGTH), ("[a-zA-Z0-9-]", MAX_LENGTH - 6)):
        src = src.replace(token + "*", f"{token}{{0,{limit}}}")
        src = src.replace(token + "+", f"{token}{{1,{limit}}}")
    return src


def _re(src: str) -> re.Pattern[str]:
    # ASCII: JavaScript's \d is ASCII-only (and all whitespace is already ' ').
    # \Z, not $: Python's $ would also match before a trailing newline.
    return re.compile(_safe(src).replace("$", r"\Z"), re.ASCII)


_BUILD_STRIP = re.compile(_R_BUILD, re.ASCII)  # node strips it unbounded
_BUILD = _re(_R_BUILD)
_HYPHEN = _re(rf"^\s*({_R_XRANGEPLAIN})\s+-\s+({_R_XRANGEPLAIN})\s*$")
_COMPARATOR_TRIM = _re(rf"(\s*){_R_GTLT}\s*({_R_LOOSEPLAIN}|{_R_XRANGEPLAIN})")
_TILDE_TRIM = _re(r"(\s*)(?:~>?)\s+")
_CARET_TRIM = _re(r"(\s*)(?:\^)\s+")
_TILDE = _re(rf"^(?:~>?){_R_XRANGEPLAIN}$")
_CARET = _re(rf"^(?:\^){_R_XRANGEPLAIN}$")
_XRANGE = _re(rf"^{_R_GTLT}\s*{_R_XRANGEPLAIN}$")
_STAR = _re(r"(<|>)?=?\s*\*")
_GTE0 = _re(r"^\s*>=\s*0\.0\.0\s*$")
_COMPARATOR = _re(rf"^{_R_GTLT}\s*({_R_FULLPLAIN})$|^$")
_FULL = _re(rf"^{_R_FULLPLAIN}$")

# JavaScript's String.prototype.trim() and /\s/ whitespace.  Ranges are
# normalised to single ' ' first, so later steps only split/strip on ' ' (with
# ASCII \s): Python's own notion of whitespace differs from JavaScript's.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_SPACES = re.compile(f"[{_JS_SPACE}]+")
_split = re.compile(r"\s+", re.ASCII).split


def _js_trim(text: str) -> str:
    return re.sub(f"^[{_JS_SPACE}]+|[{_JS_SPACE}]+$", "", text)


def _is_x(part: str | None) -> bool:
    return not part or part.lower() == "x" or part == "*"


# The desugaring only has to produce the same comparator strings as node does;
# their meaning is irrelevant here, but a bound such as "<9007199254740992.0.0"
# is what makes "^9007199254740991" invalid, so the arithmetic is kept.


def _tilde(m: re.Match[str]) -> str:
    major, minor, patch, pre = m.group(1, 2, 3, 4)
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{int(major) + 1}.0.0-0"
    if _is_x(patch):
        return f">={major}.{minor}.0 <{major}.{int(minor) + 1}.0-0"
    low = f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    return f">={low} <{major}.{int(minor) + 1}.0-0"


def _caret(m: re.Match[str]) -> str:
    major, minor, patch, pre = m.group(1, 2, 3, 4)
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{int(major) + 1}.0.0-0"
    if _is_x(patch):
        if major == "0":
            return f">={major}.{minor}.0 <{major}.{int(minor) + 1}.0-0"
        return f">={major}.{minor}.0 <{int(major) + 1}.0.0-0"
    low = f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    if major != "0":
        return f">={low} <{int(major) + 1}.0.0-0"
    if minor != "0":
        return f">={low} <{major}.{int(minor) + 1}.0-0"
    return f">={low} <{major}.{minor}.{int(patch) + 1}-0"


def _xrange(m: re.Match[str]) -> str:
    op, major, minor, patch = m.group(1, 2, 3, 4)
    if (_is_x(major) and not _is_x(minor)) or (_is_x(minor) and patch and not _is_x(patch)):
        return m.string  # e.g. "1.x.3": left alone, so the comparator fails
    x_major = _is_x(major)
    x_minor = x_major or _is_x(minor)
    any_x = x_minor or _is_x(patch)
    if op == "=" and any_x:
        op = ""
    if x_major:
        return "<0.0.0-0" if op in (">", "<") else "*"
    if op and any_x:
        major, minor, patch = int(major), 0 if x_minor else int(minor), 0
        if op == ">":
            op = ">="
            major, minor = (major + 1, 0) if x_minor else (major, minor + 1)
        elif op == "<=":
            op = "<"
            major, minor = (major + 1, minor) if x_minor else (major, minor + 1)
        return f"{op}{major}.{minor}.{patch}" + ("-0" if op == "<" else "")
    if x_minor:
        return f">={major}.0.0 <{int(major) + 1}.0.0-0"
    if any_x:
        return f">={major}.{minor}.0 <{major}.{int(minor) + 1}.0-0"
    return m[0]


def _hyphen(m: re.Match[str]) -> str:
    start, s_major, s_minor, s_patch = m.group(1, 2, 3, 4)
    end, e_major, e_minor, e_patch, e_pre = m.group(7, 8, 9, 10, 11)
    if _is_x(s_major):
        low = ""
    elif _is_x(s_minor):
        low = f">={s_major}.0.0"
    elif _is_x(s_patch):
        low = f">={s_major}.{s_minor}.0"
    else:
        low = f">={start}"
    if _is_x(e_major):
        high = ""
    elif _is_x(e_minor):
        high = f"<{int(e_major) + 1}.0.0-0"
    elif _is_x(e_patch):
        high = f"<{e_major}.{int(e_minor) + 1}.0-0"
    elif e_pre:
        high = f"<={e_major}.{e_minor}.{e_patch}-{e_pre}"
    else:
        high = f"<={end}"
    return f"{low} {high}".strip(" ")


def _each_word(pattern: re.Pattern[str], replace, text: str) -> str:
    return " ".join(pattern.sub(replace, word, count=1) for word in _split(text))


def _is_valid_comparator(comp: str) -> bool:
    m = _COMPARATOR.search(" ".join(_split(comp.strip(" "))))
    if m is None:
        return False
    version = m[2]
    if not version:
        return True  # "" or a bare operator means "any version"
    if len(version) > MAX_LENGTH:
        return False
    full = _FULL.search(version.strip(" "))
    return full is not None and max(int(n) for n in full.group(1, 2, 3)) <= MAX_SAFE_INTEGER


def _is_valid_range_part(part: str) -> bool:
    part = _BUILD_STRIP.sub("", part)
    part = _HYPHEN.sub(_hyphen, part, count=1)
    part = _COMPARATOR_TRIM.sub(r"\1\2\3", part)
    part = _TILDE_TRIM.sub(r"\1~", part)
    part = _CARET_TRIM.sub(r"\1^", part)
    comparators = []
    for comp in part.split(" "):
        comp = _BUILD.sub("", comp, count=1)
        comp = _each_word(_CARET, _caret, comp.strip(" "))
        comp = _each_word(_TILDE, _tilde, comp.strip(" "))
        comp = _each_word(_XRANGE, _xrange, comp)
        comp = _STAR.sub("", comp.strip(" "), count=1)
        comparators.append(comp)
    words = _split(" ".join(comparators))
    return all(_is_valid_comparator(_GTE0.sub("", w.strip(" "), count=1)) for w in words)


def is_valid_range(text: str) -> bool:
    """True when node-semver's ``validRange(text)`` (loose=false) is non-null."""
    if not isinstance(text, str):
        return False
    raw = _JS_SPACES.sub(" ", _js_trim(text))
    return all(_is_valid_range_part(part.strip(" ")) for part in raw.split("||"))


# --- dist-tags ----------------------------------------------------------------

# The characters encodeURIComponent() leaves alone.
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")


def _is_url_safe(text: str) -> bool:
    return all(ch in _URL_SAFE for ch in text)


# npm sets no limit on a tag's length; the one it sets on package names is generous for a
# tag too, and it is what the database stores.
MAX_TAG_LENGTH = 214


def validate_tag(tag: str) -> None:
    """Refuse dist-tags npm refuses; raise ``InvalidTag`` with what to do."""
    if not isinstance(tag, str) or not tag:
        raise InvalidTag('A dist-tag name is required, for example "latest" or "next".')
    shown = tag if len(tag) <= 80 else tag[:77] + "..."
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidTag(
            f'Invalid dist-tag "{shown}": tags may be at most {MAX_TAG_LENGTH} characters long '
            f"(this one has {len(tag)}), as package names. Use a short name such as "
            '"next" or "beta".'
        )
    if any(ch.isspace() for ch in tag):
        raise InvalidTag(f'Invalid dist-tag "{shown}": tags must not contain whitespace.')
    if not _is_url_safe(tag):
        raise InvalidTag(
            f'Invalid dist-tag "{shown}": tags must be URL-safe; use only letters, '
            "digits and - _ . ! ~ * ' ( )."
        )
    if is_valid_range(tag):
        raise InvalidTag(
            f'Invalid dist-tag "{shown}": it would be read as the version range '
            f'"{shown}" by npm clients. Use a name such as "latest", "next" or "beta".'
        )
