"""JSONata for Step Functions (QueryLanguage "JSONata"), on the ``jsonata-python`` library.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html

A field value (Arguments, Output, Assign, Items, Condition, Seconds, ...) is compiled once:
every string of the form ``{% expression %}`` at any depth becomes a compiled
``jsonata.Jsonata`` expression; everything else stays literal. Evaluation binds ``$states``
(input, context, and where the state has them result and errorOutput), the workflow variables
as ``$name``, and AWS's extra functions:

- ``$partition(array, size)``, ``$range(start, end, step)`` (end inclusive, like
  ``States.ArrayPartition`` / ``States.ArrayRange``),
- ``$hash(value, algorithm)`` (MD5, SHA-1, SHA-256, SHA-384, SHA-512),
- ``$random([seed])`` (a float in [0, 1), reproducible with a seed),
- ``$uuid()``, ``$parse(jsonString)``;
- ``$eval`` is not bound (as on AWS: calling it fails with T1006).

``$uuid`` and unseeded ``$random`` draw from the evaluation context's entropy, so a durable
replay reproduces them. The library keeps JSON ``null`` distinct from "undefined" (no value);
AWS fails a field that evaluates to undefined, so this module does too.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from jsonata import Jsonata
from jsonata.functions import Functions
from jsonata.jexception import JException
from jsonata.utils import Utils

from cloudlet.asl.expressions import (
    MISSING,
    EvalContext,
    JavaRandom,
    copy_json,
    definition_error,
    to_json,
    type_name,
)
from cloudlet.errors import ExecutionError, InvalidDefinition

__all__ = ["JsonataTemplate", "compile_jsonata", "is_jsonata_template", "unexpected_type"]

_ERROR = "States.QueryEvaluationError"
_NULL = Utils.NULL_VALUE


def is_jsonata_template(value: Any) -> bool:
    """True when ``value`` is a string of the form ``{% expression %}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


class _FunctionError(Exception):
    """An error raised by one of AWS's functions: a message without a JSONata code."""


def _function_error(message: str) -> _FunctionError:
    return _FunctionError(message)


def _query_error(cause: str) -> ExecutionError:
    return ExecutionError(_ERROR, cause)


# --- AWS's extra functions -----------------------------------------------------------------


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise _function_error(f"The {name} argument must be an integer, but was: {to_json(_plain(value))}")
    return int(value)


def _partition(array: Any, size: Any) -> list[Any]:
    if not isinstance(array, list):
        raise _function_error(
            f"$partition expects an array as its first argument, but was: {to_json(_plain(array))}"
        )
    n = _integer("$partition chunk size", size)
    if n <= 0:
        raise _function_error(f"$partition chunk size must be greater than 0, but was: {n}")
    items = list(array)
    return [items[i : i + n] for i in range(0, len(items), n)]


def _range(start: Any, end: Any, step: Any) -> list[int]:
    a, b, s = _integer("$range start", start), _integer("$range end", end), _integer("$range step", step)
    if s == 0:
        raise _function_error("$range step must not be 0")
    values = list(range(a, b + (1 if s > 0 else -1), s))
    if len(values) > 1000:
        raise _function_error(f"$range cannot produce more than 1000 items, but would produce {len(values)}")
    return values


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(value: Any, algorithm: Any = "SHA-256") -> str:
    if algorithm not in _HASHES:
        raise _function_error(
            f"$hash algorithm '{_plain(algorithm)}' is not supported; "
            "supported algorithms are MD5, SHA-1, SHA-256, SHA-384, SHA-512"
        )
    text = value if isinstance(value, str) else to_json(_plain(value))
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise _function_error(f"$parse expects a string, but was: {to_json(_plain(text))}")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _function_error(f"$parse could not parse the string as JSON: {text}") from None
    return _NULL if value is None else value


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?")
_RADIX = re.compile(r"0[xX][0-9A-Fa-f]+|0[oO][0-7]+|0[bB][01]+")


class _Standard:
    """Standard JSONata functions where the Python port differs from jsonata-js 2.0."""

    @staticmethod
    def number(arg: Any) -> Any:
        """``$number``: JSON-number strings, 0x/0o/0b strings and booleans; else D3030."""
        if arg is None:
            return None
        if isinstance(arg, bool):
            return 1 if arg else 0
        if isinstance(arg, int | float):
            return arg
        if isinstance(arg, str):
            if _DECIMAL.fullmatch(arg):
                value = float(arg)
                if math.isfinite(value):
                    return int(value) if value.is_integer() and abs(value) < 2**53 else value
            elif _RADIX.fullmatch(arg):
                return int(arg, 0)
        raise JException("D3030", -1, arg)


_STATIC_FUNCTIONS: dict[str, Any] = {
    "number": Jsonata.function("number", "<(nsb)-:n>", _Standard, "number"),
    # Step Functions implements JSONata 2.0.6 without $eval ($parse replaces it): calling it
    # fails as a call of an unbound name does (T1006), as measured on AWS
    "eval": None,
    "partition": Jsonata.JLambda(_partition),
    "range": Jsonata.JLambda(_range),
    "hash": Jsonata.JLambda(_hash),
    "parse": Jsonata.JLambda(_parse),
}


def _entropy_functions(ctx: EvalContext) -> dict[str, Any]:
    entropy = ctx.entropy

    def uuid() -> str:
        return entropy.uuid4()

    def random(seed: Any = None) -> float:
        if seed is None or seed is _NULL:
            return entropy.random()
        if isinstance(seed, bool) or not isinstance(seed, int | float):
            raise _function_error(f"The $random seed must be a number, but was: {to_json(_plain(seed))}")
        return JavaRandom(int(seed)).next_double()

    functions = {"uuid": Jsonata.JLambda(uuid), "random": Jsonata.JLambda(random)}
    if ctx.now is not None:
        millis_now = int(ctx.now * 1000)

        def now(picture: Any = None, timezone: Any = None) -> Any:
            return Functions.datetime_from_millis(millis_now, picture, timezone)

        def millis() -> int:
            return millis_now

        functions["now"] = Jsonata.JLambda(now)
        functions["millis"] = Jsonata.JLambda(millis)
    return functions


# --- values in and out ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """The library's value as plain JSON: ``null`` markers to None, sequences to lists."""
    if value is _NULL:
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


#: jsonata-js's names for array subtypes in T0412 ("must be an array of "numbers"").
_ARRAY_TYPES = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}
_PLACEHOLDER = re.compile(r"\{\{\{\w+\}\}\}|\{\{\w+\}\}")


def js_message(exc: JException) -> str:
    """The error message as the JavaScript reference implementation words it.

    jsonata-js fills ``{{x}}`` with ``JSON.stringify(x)`` and ``{{{x}}}`` raw, so AWS says
    ``Expected "]", got ","`` where the Python port says ``Expected ], got ,``.
    """
    template = JException.error_codes.get(exc.error)
    if template is None or template == "{{{message}}}":
        return str(exc)
    # the Python port's table says "Object" wherever jsonata-js says "function"
    template = re.sub(r"\bObject\b", "function", template)
    extra = exc.extra
    if exc.error == "T0412" and isinstance(extra, str):
        extra = _ARRAY_TYPES.get(extra, extra)
    args = iter((exc.current, exc.expected, extra))

    def fill(m: re.Match[str]) -> str:
        value = next(args, None)
        if m.group(0).startswith("{{{"):
            return "" if value is None else str(value)
        if value is None:
            return "undefined"
        if value is _NULL:
            return "null"
        try:
            return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            return str(value)

    return _PLACEHOLDER.sub(fill, template)


class _Undefined(Exception):
    """An expression evaluated to nothing (JSONata's undefined)."""


# --- compiled templates --------------------------------------------------------------------

_Eval = Callable[["_Env"], Any]


class _Env:
    """One evaluation's inputs; the library's bindings are built only if an expression needs them."""

    __slots__ = ("_bindings", "ctx", "states")

    def __init__(self, states: Mapping[str, Any], ctx: EvalContext) -> None:
        self.states = states
        self.ctx = ctx
        self._bindings: dict[str, Any] | None = None

    def bindings(self) -> dict[str, Any]:
        if self._bindings is None:
            self._bindings = bindings(self.states, self.ctx)
        return self._bindings


# ``$states.input.a.b`` / ``$var.a``: plain member lookups through objects, which JSONata
# answers with the value itself; evaluated without the library (fall back on anything else).
_SIMPLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_NOT_NAMES = frozenset({"and", "or", "in", "true", "false", "null", "function"})


def _fast_path(source: str) -> Callable[[_Env], Any] | None:
    m = _SIMPLE.fullmatch(source)
    if m is None:
        return None
    root = m.group(1)
    keys = tuple(k for k in m.group(2).split(".") if k)
    if (
        root in _STATIC_FUNCTIONS
        or root in ("uuid", "random", "now", "millis")
        or _NOT_NAMES.intersection(keys)
    ):
        return None

    def lookup(env: _Env) -> Any:
        node: Any = env.states if root == "states" else env.ctx.variables.get(root, MISSING)
        for key in keys:
            if type(node) is not dict:
                return MISSING
            node = node.get(key, MISSING)
        return node

    return lookup


class _Expression:
    """One ``{% %}`` expression: its source, the field it sits in and the compiled query."""

    __slots__ = ("fast", "field", "members", "query", "source")

    def __init__(self, source: str, field: str, query: Jsonata) -> None:
        self.source = source
        self.field = field
        self.query = query
        self.fast = _fast_path(source)
        self.members = frozenset(states_members(query.ast))

    def __call__(self, env: _Env) -> Any:
        if self.fast is not None:
            value = self.fast(env)
            if value is not MISSING:
                return value
        try:
            result = self.query.evaluate(None, env.bindings())
        except ExecutionError:
            raise
        except _FunctionError as exc:
            raise _query_error(
                f"The JSONata expression '{self.source}' specified for the field '{self.field}' "
                f"threw an error during evaluation: {exc}"
            ) from None
        except JException as exc:
            raise _query_error(
                f"The JSONata expression '{self.source}' specified for the field '{self.field}' "
                f"threw an error during evaluation. {exc.error}: {js_message(exc)}"
            ) from None
        except RecursionError:
            raise _query_error(
                f"The JSONata expression '{self.source}' specified for the field '{self.field}' "
                "threw an error during evaluation. Stack overflow"
            ) from None
        except Exception as exc:  # the library raises plain Python errors for some bad inputs
            # AWS separates a message without a JSONata code with ": " rather than ". "
            raise _query_error(
                f"The JSONata expression '{self.source}' specified for the field '{self.field}' "
                f"threw an error during evaluation: {exc}"
            ) from None
        if result is None or isinstance(result, Jsonata.JLambda | Jsonata.JFunction):
            raise _query_error(
                f"The JSONata expression '{self.source}' specified for the field '{self.field}' "
                "returned nothing (undefined)."
            )
        return _plain(result)


def _compile_expression(text: str, field: str, where: str) -> _Expression:
    source = text[2:-2].strip()
    try:
        query = Jsonata(source)
    except Exception as exc:  # JException, and plain errors the parser raises for some inputs
        # AWS reports the parser's message without JSONata's code (S0207, ...)
        message = js_message(exc) if isinstance(exc, JException) else str(exc)
        raise definition_error(message, where, code="INVALID_JSONATA_EXPRESSION") from None
    names = top_level_references(query.ast)
    if names:
        # one diagnostic per distinct name, joined the way AWS joins diagnostics
        raise InvalidDefinition(
            "Invalid State Machine Definition: '"
            + ", ".join(
                f"UNSUPPORTED_JSONATA_EXPRESSION: Reference to '{name}' at the top level is not supported. "
                f"at {where}"
                for name in names
            )
            + "'",
            path=where,
        )
    query.set_output_convert_nulls(False)
    return _Expression(source, field, query)


# AST attributes that hold sub-expressions evaluated in the same context as their parent.
# Left out on purpose: a path's later steps, predicates/filters (``stages``, ``predicate``),
# group-by (``group``/``rhs_object``) and sort terms, which all read relative to an item.
_SAME_CONTEXT = (
    "lhs",
    "rhs",
    "lhs_object",
    "expressions",
    "condition",
    "then",
    "_else",
    "procedure",
    "arguments",
    "body",
    "expr",
    "expression",
    "update",
    "delete",
)


def top_level_references(ast: Any) -> list[str]:
    """Field names an expression reads from the (absent) top-level context item, in order.

    Step Functions evaluates JSONata with no context item: data comes from ``$states`` and
    variables, and AWS rejects a definition whose expression starts a path with a bare name
    (``UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not
    supported.``).
    """
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list | tuple):
            for item in node:
                walk(item)
            return
        kind = getattr(node, "type", None)
        if not isinstance(kind, str):
            return
        if kind == "path":
            steps = getattr(node, "steps", None) or []
            if steps:
                first = steps[0]
                if getattr(first, "type", None) == "name":
                    if first.value not in found:
                        found.append(first.value)
                else:
                    walk(first)
            return
        if kind == "name":
            if node.value not in found:
                found.append(node.value)
            return
        for attr in _SAME_CONTEXT:
            child = getattr(node, attr, None)
            if child is not None:
                walk(child)

    walk(ast)
    return found


def _compile(node: Any, field: str, where: str, found: list[_Expression]) -> tuple[bool, Any]:
    """(is_literal, value_or_evaluator) for one node of a field value."""
    if isinstance(node, str):
        if is_jsonata_template(node):
            expr = _compile_expression(node, field, where)
            found.append(expr)
            return False, expr
        return True, node
    if isinstance(node, dict):
        parts = [(k, *_compile(v, f"{field}/{k}", f"{where}/{k}", found)) for k, v in node.items()]
        if all(is_lit for _, is_lit, _ in parts):
            return True, node
        entries = tuple(parts)

        def build_object(env: _Env) -> Any:
            return {k: (_copy(v) if is_lit else v(env)) for k, is_lit, v in entries}

        return False, build_object
    if isinstance(node, list):
        items = [_compile(v, f"{field}[{i}]", f"{where}/{i}", found) for i, v in enumerate(node)]
        if all(is_lit for is_lit, _ in items):
            return True, node
        frozen = tuple(items)

        def build_list(env: _Env) -> Any:
            return [(_copy(v) if is_lit else v(env)) for is_lit, v in frozen]

        return False, build_list
    return True, node


_copy = copy_json


_ALL_CHILDREN = (*_SAME_CONTEXT, "steps", "stages", "predicate", "group", "rhs_object", "terms")


def states_members(ast: Any) -> set[str]:
    """The ``$states`` members an expression reads (``input``, ``result``, ``errorOutput``,
    ``context``); ``"*"`` when it uses ``$states`` as a whole, ``"$$"`` for a ``$$`` reference."""
    found: set[str] = set()
    seen: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list | tuple):
            for item in node:
                walk(item)
            return
        if not isinstance(getattr(node, "type", None), str) or id(node) in seen:
            return
        seen.add(id(node))
        if node.type == "variable":
            if node.value == "states":
                found.add("*")
            elif node.value == "$":
                found.add("$$")
        if node.type == "path":
            steps = getattr(node, "steps", None) or []
            if len(steps) >= 2 and steps[0].type == "variable" and steps[0].value == "states":
                if steps[1].type == "name":
                    found.add(steps[1].value)
                    seen.add(id(steps[0]))
        for attr in _ALL_CHILDREN:
            child = getattr(node, attr, None)
            if child is not None:
                walk(child)

    walk(ast)
    return found


class JsonataTemplate:
    """A compiled JSON value whose ``{% %}`` strings (at any depth) are JSONata expressions.

    ``expressions`` lists the source of each expression; ``is_literal`` is True when there
    are none (the value is returned as a fresh copy); ``states_members`` names the
    ``$states`` members read, so the parser can reject e.g. ``errorOutput`` outside a Catch.
    """

    __slots__ = ("_build", "_literal", "expressions", "field", "is_literal", "states_members")

    def __init__(
        self,
        field: str,
        is_literal: bool,
        built: Any,
        expressions: tuple[str, ...],
        members: frozenset[str] = frozenset(),
    ) -> None:
        self.field = field
        self.is_literal = is_literal
        self._literal = built if is_literal else None
        self._build: _Eval | None = None if is_literal else built
        self.expressions = expressions
        #: ``$states`` members the expressions read (see :func:`states_members`)
        self.states_members = members

    def __repr__(self) -> str:
        return f"JsonataTemplate({self.field!r}, {self.expressions!r})"

    def evaluate(self, states: Mapping[str, Any], ctx: EvalContext) -> Any:
        """Evaluate with ``$states`` bound to ``states`` and ``ctx.variables`` as ``$name``.

        ``states`` holds ``input`` and ``context`` and, where the state defines them,
        ``result`` and ``errorOutput``. Raises ``ExecutionError("States.QueryEvaluationError",
        <AWS cause>)``.
        """
        if self._build is None:
            return _copy(self._literal)
        return self._build(_Env(states, ctx))


def bindings(states: Mapping[str, Any], ctx: EvalContext) -> dict[str, Any]:
    """The JSONata variable bindings for one evaluation (shared by all of a state's fields)."""
    out: dict[str, Any] = {k: (_NULL if v is None else v) for k, v in ctx.variables.items()}
    out["states"] = states
    out.update(_STATIC_FUNCTIONS)
    out.update(_entropy_functions(ctx))
    return out


def compile_jsonata(value: Any, *, where: str, field: str) -> JsonataTemplate:
    """Compile a field value once; ``InvalidDefinition`` naming ``where`` on a bad expression.

    ``field`` is the field name used in runtime error causes, e.g. ``"Output"`` (nested
    entries are reported as ``"Output/result"``).
    """
    found: list[_Expression] = []
    is_literal, built = _compile(value, field, where, found)
    members = frozenset().union(*(e.members for e in found)) if found else frozenset()
    return JsonataTemplate(field, is_literal, built, tuple(e.source for e in found), members)


def unexpected_type(template: JsonataTemplate, field: str, expected: str, value: Any) -> ExecutionError:
    """AWS's cause when a field's expression returns a value of the wrong JSON type."""
    source = template.expressions[0] if template.expressions else to_json(value)
    return _query_error(
        f"The JSONata expression '{source}' specified for the field '{field}' returned an unexpected "
        f"result type. Expected '{expected}', but was '{type_name(value)}' for value: {to_json(value)}"
    )
