"""How event values compare: exact keys, numbers, wildcards and IP addresses.

Both matchers (the reference `EventPattern` and the compiled `PatternIndex`) use these
functions, so a value means the same thing to both.

* Exact matching is typed: the string ``"300"`` never equals the number ``300``, and
  ``true`` never equals ``1``. Numbers compare by value (``300``, ``300.0`` and ``3e2`` are
  equal) within EventBridge's numeric range.
* Numeric matching works on JSON numbers between -5.0e9 and +5.0e9 inclusive with six
  digits to the right of the decimal point
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-numeric-matching).
  `number_code` maps such a number to an integer in an order-preserving way, so ranges
  become integer intervals.
* Wildcards: ``*`` matches any run of characters, ``\\*`` a literal star and ``\\\\`` a
  literal backslash.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

#: Numbers beyond this magnitude take no part in numeric (range) matching.
NUMERIC_LIMIT = 5_000_000_000
#: Six digits to the right of the decimal point.
NUMERIC_SCALE = 1_000_000
#: Offset that makes every code non-negative; codes fit in 54 bits.
_CODE_OFFSET = NUMERIC_LIMIT * NUMERIC_SCALE
#: Width in bits of the number codes (2 * 5e15 < 2**54).
CODE_BITS = 54
MAX_CODE = 2 * _CODE_OFFSET


class _Sentinel:
    """A unique, hashable stand-in for a JSON literal in exact-match keys."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NULL = _Sentinel("null")
TRUE = _Sentinel("true")
FALSE = _Sentinel("false")


def is_number(value: Any) -> bool:
    """True for a JSON number (Python int or float, never a bool)."""
    t = type(value)
    return t is int or t is float


def number_code(value: float | int) -> int | None:
    """The order-preserving integer code of a number, or None outside the numeric range."""
    if value != value or value < -NUMERIC_LIMIT or value > NUMERIC_LIMIT:  # NaN or out of range
        return None
    if type(value) is int:
        return value * NUMERIC_SCALE + _CODE_OFFSET
    return round(value * NUMERIC_SCALE) + _CODE_OFFSET


def exact_key(value: Any) -> Any:
    """The key under which a JSON scalar matches exactly (typed, numbers by value)."""
    t = type(value)
    if t is str:
        return value
    if value is None:
        return NULL
    if value is True:
        return TRUE
    if value is False:
        return FALSE
    if t is int or t is float:
        code = number_code(value)
        if code is not None:
            return code
        # beyond the numeric range: by value; 64-bit integers keep every digit, larger ones
        # compare as the double that the event parser (orjson) reads them as
        if t is int and -(2**63) <= value < 2**63:
            return ("number", value)
        return ("number", float(value))
    raise TypeError(f"not a JSON scalar: {value!r}")


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """Compile a validated wildcard pattern into a regex that must match the whole value."""
    parts: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            literal.append(pattern[i + 1])
            i += 2
            continue
        if ch == "*":
            parts.append(re.escape("".join(literal)))
            literal = []
            parts.append(".*")
        else:
            literal.append(ch)
        i += 1
    parts.append(re.escape("".join(literal)))
    return re.compile("".join(parts), re.DOTALL)


def wildcard_literal_ends(pattern: str) -> tuple[str, str, bool]:
    """(literal head before the first ``*``, literal tail after the last, has any ``*``)."""
    chars: list[tuple[str, bool]] = []  # (character, is_wildcard)
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            chars.append((pattern[i + 1], False))
            i += 2
            continue
        chars.append((ch, ch == "*"))
        i += 1
    stars = [n for n, (_, w) in enumerate(chars) if w]
    if not stars:
        text = "".join(c for c, _ in chars)
        return text, text, False
    head = "".join(c for c, _ in chars[: stars[0]])
    tail = "".join(c for c, _ in chars[stars[-1] + 1 :])
    return head, tail, True


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An event value as an IP address, or None when it is not a string holding one."""
    if type(value) is not str:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
