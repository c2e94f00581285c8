"""JSON from clients we do not trust: strict, bounded, and storable.

``json_parse`` is what every request body and every package.json goes through. It accepts
what ``JSON.parse`` accepts except what would hurt us later: nesting past a fixed depth
(code walking the value must never meet Python's recursion limit), numbers no database
column holds (NaN, Infinity, integers past 64 bits, floats that overflow), and strings
PostgreSQL refuses (a NUL character, an unpaired surrogate). Each refusal is an
``InputRefused`` whose text ends a sentence the caller shows.
"""

import json
import math
from typing import Any

# Deeper than any package.json or publish body npm sends (a manifest nests a handful of
# levels; a publish body adds three), shallow enough that no code walking the result
# recurses anywhere near Python's limit.
JSON_MAX_DEPTH = 64
_INT_LIMIT = 2**63 - 1  # what a database integer holds


class InputRefused(ValueError):
    """Input no view should see; ``str(exc)`` says why, as the end of a sentence.
    ``syntax`` is true when the text is not JSON at all, false when it is JSON we refuse."""

    def __init__(self, reason: str, *, syntax: bool = False):
        super().__init__(reason)
        self.syntax = syntax


def json_parse(raw: bytes | str, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Parse JSON from a client we do not trust, or raise ``InputRefused``."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputRefused(f"it is not UTF-8 (byte {exc.start})", syntax=True) from None
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise InputRefused(f"it nests deeper than {max_depth} levels") from None
    except InputRefused:
        raise
    except ValueError as exc:
        raise InputRefused(str(exc), syntax=True) from None
    _check(value, max_depth)
    return value


def _refuse_constant(name: str):
    raise InputRefused(f"{name} is not a JSON number", syntax=True)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputRefused(f"the number {_cut(text)} is too large")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > len(str(_INT_LIMIT)) or abs(int(text)) > _INT_LIMIT:
        raise InputRefused(f"the number {_cut(text)} is too large (at most {_INT_LIMIT})")
    return int(text)


def _cut(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _check(value: Any, max_depth: int) -> None:
    """Walk the parsed value without recursion: depth, and strings a database can store."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_string(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise InputRefused(f"it nests deeper than {max_depth} levels")
        if isinstance(item, dict):
            for key in item:
                _check_string(key)
            stack.extend((child, depth + 1) for child in item.values())
        else:
            stack.extend((child, depth + 1) for child in item)


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise InputRefused("a string in it holds a NUL character (\\u0000)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputRefused(
                "a string in it holds an unpaired surrogate (\\ud800-\\udfff)"
            ) from None
