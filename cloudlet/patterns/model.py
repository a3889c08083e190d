"""The compiled form of an event pattern: immutable matchers, steps and branches.

A pattern compiles to a tuple of `Branch`es (its ``$or`` alternatives multiplied out). A
branch matches when every one of its steps holds:

* `FieldStep`: some leaf value at ``path`` satisfies at least one of its matchers. The
  leaves chosen for the steps of one branch must be array-consistent: no two of them may
  lie in different elements of the same event array (event-ruler's ``rulesForJSONEvent``).
* `AbsentStep`: no leaf value exists at ``path`` (``{"exists": false}``).

Each matcher's ``test(value)`` is the reference semantics of one operator on one leaf value
(a JSON scalar); `PatternIndex` indexes the same matchers by kind and must agree with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cloudlet.patterns.values import exact_key, is_number, number_code, parse_ip


class Matcher:
    """One operator of a field's value list."""

    __slots__ = ()

    #: How selective a matcher kind usually is; steps are ordered by it (lower first).
    rank: int = 5

    def test(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Exact(Matcher):
    """An exact value: string, number (by value), true, false or null."""

    key: Any
    rank = 0

    def test(self, value: Any) -> bool:
        return exact_key(value) == self.key


@dataclass(frozen=True, slots=True)
class Prefix(Matcher):
    """``{"prefix": "..."}``, optionally with ``equals-ignore-case`` (``text`` is lowered then)."""

    text: str
    ignore_case: bool = False
    rank = 1

    def test(self, value: Any) -> bool:
        if type(value) is not str:
            return False
        return (value.lower() if self.ignore_case else value).startswith(self.text)


@dataclass(frozen=True, slots=True)
class Suffix(Matcher):
    """``{"suffix": "..."}``, optionally with ``equals-ignore-case`` (``text`` is lowered then)."""

    text: str
    ignore_case: bool = False
    rank = 1

    def test(self, value: Any) -> bool:
        if type(value) is not str:
            return False
        return (value.lower() if self.ignore_case else value).endswith(self.text)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase(Matcher):
    """``{"equals-ignore-case": "..."}``; ``text`` is lowered."""

    text: str
    rank = 1

    def test(self, value: Any) -> bool:
        return type(value) is str and value.lower() == self.text


@dataclass(frozen=True, slots=True)
class Wildcard(Matcher):
    """``{"wildcard": "..."}`` (validated source text; ``regex`` matches whole values)."""

    source: str
    regex: re.Pattern[str] = field(compare=False, hash=False)
    rank = 3

    def test(self, value: Any) -> bool:
        return type(value) is str and self.regex.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Numeric(Matcher):
    """``{"numeric": [...]}`` as an inclusive interval of number codes (see `values.number_code`)."""

    low: int
    high: int
    rank = 2

    def test(self, value: Any) -> bool:
        if not is_number(value):
            return False
        code = number_code(value)
        return code is not None and self.low <= code <= self.high


@dataclass(frozen=True, slots=True)
class Cidr(Matcher):
    """``{"cidr": "..."}``: an IPv4 or IPv6 address inside the network."""

    version: int
    network: int  # the network address as an integer
    prefixlen: int
    rank = 1

    def test(self, value: Any) -> bool:
        ip = parse_ip(value)
        if ip is None or ip.version != self.version:
            return False
        bits = 32 if self.version == 4 else 128
        return (int(ip) >> (bits - self.prefixlen)) == (self.network >> (bits - self.prefixlen))


@dataclass(frozen=True, slots=True)
class Exists(Matcher):
    """``{"exists": true}``: any leaf value, null included."""

    rank = 4

    def test(self, value: Any) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class AnythingBut(Matcher):
    """``{"anything-but": ...}``: every leaf value that the excluded forms do not match.

    Values of another type than the excluded ones (a number against a string list, null)
    are not excluded, so they match.
    """

    keys: frozenset[Any] = frozenset()  # exact keys (strings or number codes)
    ignore_case: frozenset[str] = frozenset()  # lowered strings
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    wildcards: tuple[Wildcard, ...] = ()
    rank = 4

    def excludes(self, value: Any) -> bool:
        """True when the value is one of those this anything-but rules out."""
        if self.keys and exact_key(value) in self.keys:
            return True
        if type(value) is not str:
            return False
        if self.ignore_case and value.lower() in self.ignore_case:
            return True
        if any(value.startswith(p) for p in self.prefixes):
            return True
        if any(value.endswith(s) for s in self.suffixes):
            return True
        return any(w.test(value) for w in self.wildcards)

    def test(self, value: Any) -> bool:
        return not self.excludes(value)


@dataclass(frozen=True, slots=True)
class FieldStep:
    """Some leaf at ``path`` satisfies one of ``matchers``."""

    path: str
    matchers: tuple[Matcher, ...]

    @property
    def rank(self) -> int:
        return max(m.rank for m in self.matchers)

    def test(self, value: Any) -> bool:
        return any(m.test(value) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class AbsentStep:
    """No leaf exists at ``path``."""

    path: str
    rank = 6


Step = FieldStep | AbsentStep


@dataclass(frozen=True, slots=True)
class Branch:
    """A conjunction of steps, ordered for the index (most selective kinds first)."""

    steps: tuple[Step, ...]


def step_order(step: Step) -> tuple[int, int, str, str]:
    """Sort key of a step inside a branch: kind rank, fewer alternatives, path, canonical text.

    Steps that rule out the most events (one exact value) come first, so the index parts
    ways early and an event walks few nodes.
    """
    return (step.rank, len(step.matchers) if isinstance(step, FieldStep) else 0, step.path, repr(step))
