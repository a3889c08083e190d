"""Validate a pattern as AWS does and compile it into `Branch`es.

Validation walks the pattern in document order, as EventBridge's streaming parser does, so
the first mistake in the text is the one reported, in AWS's words
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
The reasons below were checked against AWS-recorded outcomes where such records exist
(``../shared/conformance``); the rest follow aws/event-ruler's documented rule compiler.

The `Dialect` says which operators a pattern language has and how its errors read, so SNS
filter policies and Lambda/Pipes filter criteria compile through the same code.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cloudlet.errors import CloudletError, InvalidEventPattern
from cloudlet.patterns.jsontext import Pairs, PatternJSONError, loads_pairs, to_pairs
from cloudlet.patterns.model import (
    AbsentStep,
    AnythingBut,
    Branch,
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    FieldStep,
    Matcher,
    Numeric,
    Prefix,
    Step,
    Suffix,
    Wildcard,
    step_order,
)
from cloudlet.patterns.values import MAX_CODE, exact_key, is_number, number_code, wildcard_regex

#: Every match-expression keyword; an object in ``$or`` naming one makes ``$or`` a plain field.
OPERATORS = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"}
)
#: EventBridge rejects wildcard patterns whose matching would be too non-deterministic.
MAX_WILDCARDS = 5
#: A pattern whose ``$or`` alternatives multiply out to more branches than this is too complex.
MAX_BRANCHES = 10_000


def _eventbridge_error(reason: str) -> CloudletError:
    return InvalidEventPattern(f"Event pattern is not valid. Reason: {reason}")


@dataclass(frozen=True)
class Dialect:
    """A pattern language built on the EventBridge grammar."""

    name: str
    #: Builds the error raised for an invalid pattern from the reason text.
    error: Callable[[str], CloudletError]
    operators: frozenset[str] = OPERATORS
    #: Whether fields may nest (SNS attribute policies are flat).
    nested: bool = True
    max_branches: int = MAX_BRANCHES
    too_complex: str = (
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
        "sequences after a wildcard character"
    )


EVENTBRIDGE = Dialect("eventbridge", _eventbridge_error)


class _Invalid(Exception):
    """Internal: the reason a pattern is invalid (wrapped into the dialect's error)."""


def _fail(reason: str) -> None:
    raise _Invalid(reason)


def _token(value: Any) -> str:
    """A JSON value as the parser names it in messages."""
    if isinstance(value, Pairs):
        return "{"
    if isinstance(value, list):
        return "["
    return json.dumps(value)


def parse(pattern: str | bytes | dict[str, Any] | Pairs, dialect: Dialect = EVENTBRIDGE) -> Any:
    """The pattern document in `Pairs` form; malformed JSON raises the dialect's error."""
    if isinstance(pattern, str | bytes):
        try:
            return loads_pairs(pattern)
        except PatternJSONError as exc:
            raise dialect.error(str(exc)) from None
    return to_pairs(pattern)


def compile_pattern(
    pattern: str | bytes | dict[str, Any] | Pairs, dialect: Dialect = EVENTBRIDGE
) -> tuple[Branch, ...]:
    """Validate a pattern and compile it into branches; raises the dialect's error."""
    doc = parse(pattern, dialect)
    try:
        if not isinstance(doc, Pairs):
            _fail("Filter is not an object")
        alternatives = _Compiler(dialect).object(doc, "")
    except _Invalid as exc:
        raise dialect.error(str(exc)) from None
    branches: list[Branch] = []
    seen: set[tuple[Step, ...]] = set()
    for steps in alternatives:
        ordered = tuple(sorted(dict.fromkeys(steps), key=step_order))
        if ordered not in seen:
            seen.add(ordered)
            branches.append(Branch(ordered))
    return tuple(branches)


def _as_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _affix_form(value: Any) -> bool:
    """True for ``anything-but`` with a prefix/suffix/wildcard object (its own closing rules)."""
    return isinstance(value, Pairs) and bool(value) and value[0][0] in ("prefix", "suffix", "wildcard")


def _product(left: list[list[Step]], right: list[list[Step]], limit: int, why: str) -> list[list[Step]]:
    if len(left) * len(right) > limit:
        _fail(why)
    return [a + b for a in left for b in right]


class _Compiler:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def object(self, pairs: Pairs, prefix: str) -> list[list[Step]]:
        """An object of fields: the conjunction of its fields, as DNF alternatives."""
        if not pairs:
            _fail("Empty objects are not allowed")
        result: list[list[Step]] = [[]]
        limit, why = self.dialect.max_branches, self.dialect.too_complex
        # A repeated key: the last occurrence wins (as the JSON parser AWS uses keeps it);
        # earlier ones are still validated.
        last = {key: n for n, (key, _) in enumerate(pairs)}
        for n, (key, value) in enumerate(pairs):
            if key == "$or" and self._is_or(value):
                alternatives: list[list[Step]] = []
                for member in value:
                    alternatives.extend(self.object(member, prefix))
            elif isinstance(value, Pairs):
                if not self.dialect.nested:
                    _fail(f'"{key}" must be an object or an array')
                alternatives = self.object(value, f"{prefix}{key}.")
            elif isinstance(value, list):
                alternatives = self.field(f"{prefix}{key}", value)
            else:
                _fail(f'"{key}" must be an object or an array')
            if last[key] == n:
                result = _product(result, alternatives, limit, why)
        return result

    @staticmethod
    def _is_or(value: Any) -> bool:
        """``$or`` is the OR primitive only for an array of 2+ objects free of operator keywords."""
        return (
            isinstance(value, list)
            and len(value) >= 2
            and all(isinstance(m, Pairs) and not any(k in OPERATORS for k, _ in m) for m in value)
        )

    def field(self, path: str, values: list[Any]) -> list[list[Step]]:
        """A field's value list: any of its values may match."""
        if not values:
            _fail("Empty arrays are not allowed")
        matchers: list[Matcher] = []
        absent = False
        for value in values:
            if isinstance(value, Pairs):
                matcher = self.expression(value)
                if matcher is None:
                    absent = True
                else:
                    matchers.append(matcher)
            elif isinstance(value, list):
                _fail("Match value must be String, number, true, false, or null")
            elif isinstance(value, str) and (ip := _as_ip(value)) is not None:
                # AWS reads a plain value that is an IP address as that one address
                width = 32 if ip.version == 4 else 128
                matchers.append(Cidr(ip.version, int(ip), width))
            else:
                matchers.append(Exact(exact_key(value)))
        alternatives: list[list[Step]] = []
        if matchers:
            alternatives.append([FieldStep(path, tuple(dict.fromkeys(matchers)))])
        if absent:
            alternatives.append([AbsentStep(path)])
        return alternatives

    def expression(self, expr: Pairs) -> Matcher | None:
        """One match expression (``{"prefix": ...}``); None stands for ``{"exists": false}``."""
        if not expr:
            _fail("Match expression name not found")
        (name, value), rest = expr[0], expr.items[1:]
        if name not in self.dialect.operators:
            _fail(f"Unrecognized match type {name}")
        matcher = getattr(self, "op_" + name.replace("-", "_"))(value)
        if rest:
            if name == "numeric" or (
                name == "anything-but" and isinstance(matcher, AnythingBut) and not _affix_form(value)
            ):
                _fail("Too many elements in numeric expression")
            _fail("Only one key allowed in match expression")
        return matcher

    # -- operators ---------------------------------------------------------------------

    def op_prefix(self, value: Any) -> Matcher:
        return self._affix(value, "prefix", Prefix)

    def op_suffix(self, value: Any) -> Matcher:
        return self._affix(value, "suffix", Suffix)

    def _affix(self, value: Any, name: str, kind: type[Prefix] | type[Suffix]) -> Matcher:
        if isinstance(value, str):
            return kind(value)
        if isinstance(value, Pairs):
            if not value:
                _fail(f"{name.capitalize()} expression name not found")
            op, inner = value[0]
            if op != "equals-ignore-case":
                _fail(f"Unsupported {name} pattern: {op}")
            if not isinstance(inner, str):
                _fail("equals-ignore-case match pattern must be a string")
            if len(value) > 1:
                _fail("Only one key allowed in match expression")
            return kind(inner.lower(), ignore_case=True)
        _fail(f"{name} match pattern must be a string")
        raise AssertionError  # unreachable

    def op_equals_ignore_case(self, value: Any) -> Matcher:
        if not isinstance(value, str):
            _fail("equals-ignore-case match pattern must be a string")
        return EqualsIgnoreCase(value.lower())

    def op_wildcard(self, value: Any) -> Matcher:
        if not isinstance(value, str):
            _fail("wildcard match pattern must be a string")
        return self._wildcard(value)

    def _wildcard(self, text: str) -> Wildcard:
        stars = 0
        previous_star = False
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                if i + 1 >= len(text) or text[i + 1] not in "*\\":
                    _fail(f"Invalid escape character at pos {i}")
                i += 2
                previous_star = False
                continue
            if ch == "*":
                if previous_star:
                    _fail(f"Consecutive wildcard characters at pos {i}")
                stars += 1
                previous_star = True
            else:
                previous_star = False
            i += 1
        if stars > MAX_WILDCARDS:
            _fail(self.dialect.too_complex)
        return Wildcard(text, wildcard_regex(text))

    def op_exists(self, value: Any) -> Matcher | None:
        if value is True:
            return Exists()
        if value is False:
            return None
        _fail("exists match pattern must be either true or false.")
        raise AssertionError  # unreachable

    def op_cidr(self, value: Any) -> Matcher:
        if not isinstance(value, str):
            _fail("prefix match pattern must be a string")
        parts = value.split("/")
        if len(parts) != 2:
            _fail("Malformed CIDR, one '/' required")
        address, bits = parts
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            _fail(f"Nonstandard IP address: {address}")
        width = 32 if ip.version == 4 else 128
        if not bits.isdigit() or int(bits) > width:
            _fail("Malformed CIDR, mask bits must be an integer")
        plen = int(bits)
        network = (int(ip) >> (width - plen)) << (width - plen) if plen else 0
        return Cidr(ip.version, network, plen)

    def op_numeric(self, value: Any) -> Matcher:
        if not isinstance(value, list):
            _fail("Value of numeric must be an array.")
        if not value:
            _fail("Invalid member in numeric match: ]")
        low, high = 0, MAX_CODE
        op, rest = value[0], value[1:]
        low, high = self._bound(op, rest, low, high, first=True)
        if len(value) > 2:
            if op not in (">", ">="):
                _fail("Too many elements in numeric expression")
            op2, rest2 = value[2], value[3:]
            if not isinstance(op2, str):
                _fail(f"Bad value in numeric range: {_token(op2)}")
            if op2 not in ("<", "<="):
                _fail(f"Bad numeric range operator: {op2}")
            if not rest2 or not is_number(rest2[0]):
                _fail(f"Value of {op2} must be numeric")
            if len(value) > 4:
                _fail("Too many terms in numeric range expression")
            if rest2[0] <= value[1]:
                _fail("Bottom must be less than top")
            low, high = self._bound(op2, rest2, low, high, first=False)
        return Numeric(low, high)

    @staticmethod
    def _bound(op: Any, rest: list[Any], low: int, high: int, *, first: bool) -> tuple[int, int]:
        if not isinstance(op, str):
            _fail(f"Invalid member in numeric match: {_token(op)}")
        if op not in ("<", "<=", "=", ">", ">="):
            _fail(f"Unrecognized numeric range operator: {op}")
        if not rest or not is_number(rest[0]):
            _fail(f"Value of {'equals' if op == '=' else op} must be numeric")
        number = rest[0]
        code = number_code(number)
        if code is None:  # beyond the numeric range: the bound lies outside every code
            code = -1 if number < 0 else MAX_CODE + 1
        if op == "=":
            return code, code
        if op == ">":
            return max(low, code + 1), high
        if op == ">=":
            return max(low, code), high
        if op == "<":
            return low, min(high, code - 1)
        return low, min(high, code)

    def op_anything_but(self, value: Any) -> Matcher:
        message = "Value of anything-but must be an array or single string/number value."
        if isinstance(value, str) or is_number(value):
            return AnythingBut(keys=frozenset([exact_key(value)]))
        if isinstance(value, list):
            for v in value:
                if not (isinstance(v, str) or is_number(v)):
                    _fail("Inside anything but list, start|null|boolean is not supported.")
            strings = sum(isinstance(v, str) for v in value)
            if not value or 0 < strings < len(value):
                _fail(
                    "Inside anything but list, either all values are number or string, "
                    "mixed type is not supported"
                )
            return AnythingBut(keys=frozenset(exact_key(v) for v in value))
        if not isinstance(value, Pairs):
            _fail(message)
        if not value:
            _fail("Anything-But expression name not found")
        (name, inner), rest = value[0], value.items[1:]
        result: AnythingBut
        if name in ("prefix", "suffix"):
            texts = self._anything_but_affixes(inner, message)
            result = AnythingBut(prefixes=texts) if name == "prefix" else AnythingBut(suffixes=texts)
        elif name == "equals-ignore-case":
            if isinstance(inner, list):
                if not all(isinstance(v, str) for v in inner):
                    _fail(
                        "Inside anything-but/equals-ignore-case list, "
                        "number|start|null|boolean is not supported."
                    )
                result = AnythingBut(ignore_case=frozenset(v.lower() for v in inner))
            elif isinstance(inner, str):
                result = AnythingBut(ignore_case=frozenset([inner.lower()]))
            elif is_number(inner):
                _fail(
                    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
                )
            else:
                _fail(message)
        elif name == "wildcard":
            items = inner if isinstance(inner, list) else [inner]
            if not items:
                _fail("Empty arrays are not allowed")
            wildcards = []
            for item in items:
                if not isinstance(item, str):
                    _fail("wildcard match pattern must be a string")
                wildcards.append(self._wildcard(item))
            result = AnythingBut(wildcards=tuple(wildcards))
        else:
            _fail(f"Unsupported anything-but pattern: {name}")
        if rest:
            _fail("Only one key allowed in match expression")
        return result

    @staticmethod
    def _anything_but_affixes(inner: Any, message: str) -> tuple[str, ...]:
        items = inner if isinstance(inner, list) else [inner]
        if isinstance(inner, list) and not inner:
            _fail("Empty arrays are not allowed")
        texts: list[str] = []
        for item in items:
            if isinstance(item, Pairs):
                _fail(message)
            if not isinstance(item, str):
                _fail("prefix/suffix match pattern must be a string")
            if item == "":
                _fail("Null prefix/suffix not allowed")
            texts.append(item)
        return tuple(texts)
