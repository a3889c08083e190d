"""Reading pattern JSON the way EventBridge does: repeated keys kept, parser errors in its words.

A key that appears twice in one object is validated both times, but only its last value
applies (AWS-recorded: the earlier filter is ignored). `Pairs` keeps every (key, value) pair
in document order so the compiler can do both. Malformed text is reported with the
wording of the JSON parser AWS uses (Jackson), for example ``Unrecognized token 'this':
was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any


class Pairs:
    """A JSON object as its (key, value) pairs in document order, repeated keys included."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[tuple[str, Any]] = ()) -> None:
        self.items: list[tuple[str, Any]] = list(items)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[str, Any]:
        return self.items[index]

    def __repr__(self) -> str:
        return f"Pairs({self.items!r})"


class PatternJSONError(ValueError):
    """Text that is not one JSON value; the message is the parser's reason."""


def _no_constant(name: str) -> Any:
    raise ValueError(name)


_TOKEN = re.compile(r"[A-Za-z0-9_$\-+.]+")
_EXPECTING = "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"


def _reason(text: str, pos: int, msg: str) -> str:
    """Jackson's wording for a parse failure at ``pos``."""
    rest = text[pos:]
    if not rest.strip():
        return "Unexpected end-of-input"
    ch = rest[0]
    if ch.isalpha() or ch in "_$":
        token = _TOKEN.match(rest)
        word = token.group(0) if token else ch
        return f"Unrecognized token '{word}': {_EXPECTING}"
    if msg.startswith("Extra data"):
        return (
            f"Unexpected character ('{ch}' (code {ord(ch)})): expected end of input"
            if ch not in '{["' and not ch.isdigit()
            else "Unexpected content after the JSON value"
        )
    if ch == "'":
        return (
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name"
            if "property name" in msg
            else f"Unexpected character (''' (code 39)): expected a valid value ({_EXPECTING[16:-1]})"
        )
    if "property name" in msg:
        return (
            f"Unexpected character ('{ch}' (code {ord(ch)})): was expecting double-quote to start field name"
        )
    return f"Unexpected character ('{ch}' (code {ord(ch)})): expected a valid value"


def loads_pairs(text: str | bytes) -> Any:
    """Parse JSON text keeping repeated keys (objects become `Pairs`)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        return json.loads(text, object_pairs_hook=Pairs, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PatternJSONError(_reason(text, exc.pos, exc.msg)) from None
    except ValueError as exc:  # NaN / Infinity
        raise PatternJSONError(f"Unrecognized token '{exc}': {_EXPECTING}") from None


def to_pairs(value: Any) -> Any:
    """A parsed JSON value (dicts) in the `Pairs` form that the compiler reads."""
    if isinstance(value, Pairs):
        return value
    if isinstance(value, dict):
        return Pairs((str(k), to_pairs(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [to_pairs(v) for v in value]
    return value
