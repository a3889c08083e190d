"""Payload templates: Parameters, ResultSelector, ItemSelector, legacy Map Parameters, and
JSONPath-mode Assign.

https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html

A template is compiled once into a tree of closures. Literal sub-trees (no ``.$`` key
anywhere below them) are kept as-is and deep-copied cheaply only when they are containers,
so a fully literal payload costs one copy per evaluation and no parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudlet.asl.expressions import MISSING, EvalContext, copy_json, definition_error
from cloudlet.asl.intrinsics import IntrinsicSyntaxError, is_intrinsic, parse_intrinsic, path_not_found
from cloudlet.asl.jsonpath import JsonPath, PathSyntaxError, parse_path

__all__ = ["Payload", "ValueExpression", "compile_payload", "compile_value_expression"]

_Build = Callable[[Any, EvalContext], Any]


_copy = copy_json


class ValueExpression:
    """One ``.$``-style value: a path (``$.x``, ``$$.x``, ``$var.x``) or an intrinsic call."""

    __slots__ = ("_get", "field", "text")

    def __init__(self, text: str, field: str, get: Callable[[Any, EvalContext, str | None], Any]) -> None:
        self.text = text
        self.field = field
        self._get = get

    def __repr__(self) -> str:
        return f"ValueExpression({self.text!r})"

    def evaluate(self, data: Any, ctx: EvalContext) -> Any:
        """The value; ``States.Runtime`` naming ``field`` when a path selects nothing."""
        return self._get(data, ctx, self.field)

    def bound(self) -> Callable[[Any, EvalContext], Any]:
        """``evaluate`` as a plain function (data, ctx) -> value, for building closures."""
        get, field = self._get, self.field
        return lambda data, ctx: get(data, ctx, field)


def _path_getter(path: JsonPath) -> Callable[[Any, EvalContext, str | None], Any]:
    text = path.text
    find = path.find

    def get(data: Any, ctx: EvalContext, field: str | None) -> Any:
        value = find(data, ctx)
        if value is MISSING:
            raise path_not_found(text, data, field)
        return value

    return get


def compile_value_expression(text: Any, *, where: str, field: str) -> ValueExpression:
    """Compile a ``.$`` value (path or intrinsic call); ``InvalidDefinition`` when invalid.

    ``field`` is the key as written (``"name.$"``), used in runtime causes; ``where`` is the
    JSON location of the object holding it (AWS reports ``at /States/S/Parameters``).
    """
    if isinstance(text, str):
        try:
            if is_intrinsic(text.lstrip()):
                return ValueExpression(text, field, parse_intrinsic(text))
            root, variable, steps = parse_path(text)
            return ValueExpression(text, field, _path_getter(JsonPath(text, root, variable, steps)))
        except (PathSyntaxError, IntrinsicSyntaxError):
            pass
    raise definition_error(
        f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call",
        where,
    )


def _compile(node: Any, where: str) -> tuple[bool, Any]:
    """Return (is_literal, value_or_builder) for one template node."""
    if isinstance(node, dict):
        parts: list[tuple[str, bool, Any]] = []
        literal = True
        for key, value in node.items():
            if isinstance(key, str) and key.endswith(".$"):
                expr = compile_value_expression(value, where=where, field=key)
                parts.append((key[:-2], False, expr.bound()))
                literal = False
            else:
                is_lit, built = _compile(value, f"{where}/{key}")
                parts.append((key, is_lit, built))
                literal = literal and is_lit
        if literal:
            return True, node
        entries = tuple(parts)

        def build_object(data: Any, ctx: EvalContext) -> Any:
            out: dict[str, Any] = {}
            for key, is_lit, built in entries:
                out[key] = _copy(built) if is_lit else built(data, ctx)
            return out

        return False, build_object
    if isinstance(node, list):
        items = [_compile(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if all(is_lit for is_lit, _ in items):
            return True, node
        frozen = tuple(items)

        def build_list(data: Any, ctx: EvalContext) -> Any:
            return [_copy(b) if is_lit else b(data, ctx) for is_lit, b in frozen]

        return False, build_list
    return True, node


class Payload:
    """A compiled payload template; ``evaluate`` builds a fresh JSON value each call."""

    __slots__ = ("_build", "_literal", "is_literal")

    def __init__(self, is_literal: bool, built: Any) -> None:
        self.is_literal = is_literal
        self._literal = built if is_literal else None
        self._build: _Build | None = None if is_literal else built

    def evaluate(self, data: Any, ctx: EvalContext) -> Any:
        """Build the payload: ``"k.$"`` entries become ``"k"`` with the path/intrinsic value.

        Raises ``ExecutionError("States.Runtime", "The JSONPath '$.x' specified for the field
        'k.$' could not be found in the input '<input JSON>'")`` when a path selects nothing,
        ``States.IntrinsicFailure`` when an intrinsic call fails.
        """
        if self._build is None:
            return _copy(self._literal)
        return self._build(data, ctx)


def compile_payload(template: Any, *, where: str) -> Payload:
    """Compile a template (any JSON value) once; ``InvalidDefinition`` naming the location."""
    is_literal, built = _compile(template, where)
    return Payload(is_literal, built)
