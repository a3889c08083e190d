"""Choice rules: compiled once, evaluated against a state's input.

https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html

JSONPath rules are trees of :class:`And` / :class:`Or` / :class:`Not` over
:class:`Comparison` leaves; a JSONata rule is one :class:`Condition`. Comparisons of
mismatched types are false (``StringEquals`` against a number), as on AWS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudlet.asl.expressions import MISSING, EvalContext
from cloudlet.asl.jsonpath import compile_path
from cloudlet.errors import ExecutionError, InvalidDefinition

__all__ = [
    "OPERATORS",
    "And",
    "Comparison",
    "Condition",
    "Not",
    "Or",
    "compile_rule",
    "evaluate_rule",
    "parse_timestamp",
]

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})\Z",
)


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``2016-08-18T17:33:00Z``) as an aware datetime, else ``None``."""
    if not isinstance(value, str):
        return None
    m = _TIMESTAMP.match(value)
    if m is None:
        return None
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    zone = m.group(8)
    text = f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}"
    try:
        dt = datetime.fromisoformat(text + ("+00:00" if zone in ("Z", "z") else zone))
    except ValueError:
        return None
    return dt.replace(microsecond=micro)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _str_op(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(a: Any, b: Any) -> bool:
        return isinstance(a, str) and isinstance(b, str) and op(a, b)

    return test


def _num_op(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(a: Any, b: Any) -> bool:
        return _is_number(a) and _is_number(b) and op(a, b)

    return test


def _ts_op(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(a: Any, b: Any) -> bool:
        ta = parse_timestamp(a)
        tb = parse_timestamp(b) if not isinstance(b, datetime) else b
        return ta is not None and tb is not None and op(ta, tb)

    return test


def _bool_eq(a: Any, b: Any) -> bool:
    return isinstance(a, bool) and isinstance(b, bool) and a is b


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def _lt(a: Any, b: Any) -> bool:
    return bool(a < b)


def _gt(a: Any, b: Any) -> bool:
    return bool(a > b)


def _le(a: Any, b: Any) -> bool:
    return bool(a <= b)


def _ge(a: Any, b: Any) -> bool:
    return bool(a >= b)


def _matches(a: Any, pattern: Any) -> bool:
    return isinstance(a, str) and pattern.fullmatch(a) is not None


def _type_test(pred: Callable[[Any], bool]) -> Callable[[Any, Any], bool]:
    def test(a: Any, expected: Any) -> bool:
        return pred(a) is expected

    return test


_BINARY: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {}
for _kind, _wrap in (("String", _str_op), ("Numeric", _num_op), ("Timestamp", _ts_op)):
    for _name, _op in (
        ("Equals", _eq),
        ("LessThan", _lt),
        ("GreaterThan", _gt),
        ("LessThanEquals", _le),
        ("GreaterThanEquals", _ge),
    ):
        _BINARY[_kind + _name] = (_kind, _wrap(_op))
_BINARY["BooleanEquals"] = ("Boolean", _bool_eq)

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}

#: Every comparison operator name (without the ``Path`` variants).
OPERATORS: frozenset[str] = frozenset(
    [*_BINARY, *(k + "Path" for k in _BINARY), "StringMatches", *_TYPE_TESTS, "IsPresent"]
)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``{"Variable": ..., "<Operator>": value}``; ``value_path`` set for ``...Path`` operators."""

    variable: Any
    operator: str
    value: Any
    value_path: Any
    test: Callable[[Any, Any], bool]


@dataclass(frozen=True, slots=True)
class And:
    """All of ``rules`` hold."""

    rules: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``rules`` holds."""

    rules: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``rule`` does not hold."""

    rule: Any


@dataclass(frozen=True, slots=True)
class Condition:
    """A JSONata ``Condition``: a compiled template that must yield a boolean."""

    template: Any
    text: str
    field: str = "Condition"


def _fail(msg: str, where: str) -> InvalidDefinition:
    return InvalidDefinition(
        f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {msg} at {where}'", path=where
    )


def _string_matches_pattern(text: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.S)


_RULE_KEYS = frozenset({"Next", "Comment", "Assign", "Output"})


def compile_rule(rule: Any, *, where: str, top: bool = True) -> Any:
    """Compile one JSONPath choice rule (a ``Choices`` entry or a nested And/Or/Not operand)."""
    if not isinstance(rule, dict):
        raise _fail("Choice rule must be an object", where)
    ops = [k for k in rule if k in ("And", "Or", "Not") or k in OPERATORS]
    unknown = [k for k in rule if k not in OPERATORS and k not in ("And", "Or", "Not", "Variable")]
    unknown = [k for k in unknown if not (k in _RULE_KEYS if top else k == "Comment")]
    if unknown:
        raise _fail(f"Field '{unknown[0]}' is not supported", where)
    if not top and "Next" in rule:
        raise _fail("Nested choice rules cannot have 'Next'", f"{where}/Next")
    if len(ops) != 1:
        raise _fail(
            "A choice rule must contain exactly one comparison operator or 'And', 'Or', 'Not'"
            if ops
            else "A choice rule must contain a comparison operator or 'And', 'Or', 'Not'",
            where,
        )
    op = ops[0]
    if op in ("And", "Or"):
        operands = rule[op]
        if "Variable" in rule:
            raise _fail("Field 'Variable' is not supported with " + op, f"{where}/Variable")
        if not isinstance(operands, list) or not operands:
            raise _fail(f"'{op}' must be a non-empty array", f"{where}/{op}")
        compiled = tuple(
            compile_rule(r, where=f"{where}/{op}[{i}]", top=False) for i, r in enumerate(operands)
        )
        return And(compiled) if op == "And" else Or(compiled)
    if op == "Not":
        if "Variable" in rule:
            raise _fail("Field 'Variable' is not supported with Not", f"{where}/Variable")
        return Not(compile_rule(rule["Not"], where=f"{where}/Not", top=False))
    if "Variable" not in rule:
        raise _fail("The field 'Variable' is required but was missing", where)
    var_text = rule["Variable"]
    if not isinstance(var_text, str):
        raise _fail("The value of 'Variable' must be a string", f"{where}/Variable")
    variable = compile_path(var_text, where=f"{where}/Variable")
    value = rule[op]
    loc = f"{where}/{op}"
    if op.endswith("Path") and op[:-4] in _BINARY:
        if not isinstance(value, str):
            raise _fail(f"The value of '{op}' must be a path", loc)
        return Comparison(variable, op, None, compile_path(value, where=loc), _BINARY[op[:-4]][1])
    if op in _BINARY:
        kind, test = _BINARY[op]
        if kind == "String" and not isinstance(value, str):
            raise _fail(f"The value of '{op}' must be a string", loc)
        if kind == "Numeric" and not _is_number(value):
            raise _fail(f"The value of '{op}' must be a number", loc)
        if kind == "Boolean" and not isinstance(value, bool):
            raise _fail(f"The value of '{op}' must be a boolean", loc)
        if kind == "Timestamp":
            ts = parse_timestamp(value)
            if ts is None:
                raise _fail(f"The value of '{op}' must be an ISO-8601 timestamp", loc)
            return Comparison(variable, op, ts, None, test)
        return Comparison(variable, op, value, None, test)
    if op == "StringMatches":
        if not isinstance(value, str):
            raise _fail("The value of 'StringMatches' must be a string", loc)
        return Comparison(variable, op, _string_matches_pattern(value), None, _matches)
    # IsNull, IsPresent, IsNumeric, IsString, IsBoolean, IsTimestamp
    if not isinstance(value, bool):
        raise _fail(f"The value of '{op}' must be a boolean", loc)
    if op == "IsPresent":
        return Comparison(variable, op, value, None, _eq)
    return Comparison(variable, op, value, None, _type_test(_TYPE_TESTS[op]))


def evaluate_rule(rule: Any, data: Any, ctx: EvalContext) -> bool:
    """True when the compiled JSONPath ``rule`` holds for ``data``.

    A ``Variable`` that selects nothing is false for ``IsPresent: true`` and a
    ``States.Runtime`` error for any other operator, as on AWS.
    """
    if type(rule) is Comparison:
        if rule.operator == "IsPresent":
            found = rule.variable.find(data, ctx)
            present = found is not MISSING and not (not rule.variable.definite and found == [])
            return present is rule.value
        value = rule.variable.find(data, ctx)
        if value is MISSING:
            raise ExecutionError(
                "States.Runtime",
                f"Invalid path '{rule.variable.text}': The choice state's condition path references "
                "an invalid value.",
            )
        if rule.value_path is not None:
            other = rule.value_path.find(data, ctx)
            if other is MISSING:
                raise ExecutionError(
                    "States.Runtime",
                    f"Invalid path '{rule.value_path.text}': The choice state's condition path "
                    "references an invalid value.",
                )
            return rule.test(value, other)
        return rule.test(value, rule.value)
    if type(rule) is And:
        return all(evaluate_rule(r, data, ctx) for r in rule.rules)
    if type(rule) is Or:
        return any(evaluate_rule(r, data, ctx) for r in rule.rules)
    if type(rule) is Not:
        return not evaluate_rule(rule.rule, data, ctx)
    raise TypeError(f"not a JSONPath choice rule: {rule!r}")
