"""Intrinsic functions (States.Format, States.Array, ..., States.UUID), parsed once.

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html

A call such as ``States.Format('Hello {}', States.ArrayGetItem($.names, 0))`` is parsed into
a tree of closures once, when the definition is loaded: string literals (with the escapes
``\\'``, ``\\{``, ``\\}``, ``\\\\``), numbers, ``null``/``true``/``false``, paths (``$.x``,
``$$.Execution.Id``, ``$var.field``) and nested calls. The function name and its argument
count are checked at parse time (an invalid call is an ``InvalidDefinition``); argument types
and values are checked when the call is evaluated (``States.IntrinsicFailure``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from cloudlet.asl.expressions import MISSING, EvalContext, JavaRandom, definition_error, to_json
from cloudlet.asl.jsonpath import JsonPath, PathSyntaxError, parse_path
from cloudlet.errors import ExecutionError

__all__ = [
    "FUNCTIONS",
    "Intrinsic",
    "IntrinsicSyntaxError",
    "compile_intrinsic",
    "is_intrinsic",
    "parse_intrinsic",
]


def is_intrinsic(text: str) -> bool:
    """True when a ``.$`` value is an intrinsic call rather than a path (``States.`` prefix)."""
    return text.startswith("States.")


class IntrinsicSyntaxError(ValueError):
    """An intrinsic call that does not parse (surfaces as ``InvalidDefinition``)."""


#: Evaluates one argument: (input, context, field) -> JSON value.
_Arg = Callable[[Any, EvalContext, "str | None"], Any]


def _failure(cause: str) -> ExecutionError:
    return ExecutionError("States.IntrinsicFailure", cause)


# --- value rendering ---------------------------------------------------------------------


def java_number(v: int | float) -> str:
    """A number as Java's ``toString`` prints it (AWS formats numbers the Java way)."""
    if isinstance(v, int):
        return str(v)
    if math.isnan(v) or math.isinf(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if v == 0 or 1e-3 <= abs(v) < 1e7:
        text = repr(v)
        if "e" in text:  # Python switches to exponents earlier than Java for tiny values
            text = f"{v:.20f}".rstrip("0")
        return text if not text.endswith(".") else text + "0"
    sign, digits, exponent = Decimal(repr(v)).as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    exp = len(digits) - 1 + exponent
    return f"{'-' if sign else ''}{ds[0]}.{ds[1:] or '0'}E{exp}"


def format_value(v: Any) -> str:
    """How States.Format prints an argument: raw strings, Java ``toString`` for the rest."""
    if isinstance(v, str):
        return v
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return java_number(v)
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={format_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_integer(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())


def _java_round(v: int | float) -> int:
    """Java's ``Math.round``: half rounds toward positive infinity."""
    return math.floor(v + 0.5)


def _json_equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


# --- the functions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Function:
    """One intrinsic: its arity and its implementation (args, ctx) -> value."""

    name: str
    min_args: int
    max_args: int | None
    run: Callable[[list[Any], EvalContext], Any]


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "number": _is_number,
    "integer": _is_integer,
    "boolean": lambda v: isinstance(v, bool),
}


def _expect(name: str, position: int, value: Any, kind: str) -> None:
    if not _KIND_CHECKS[kind](value):
        raise _failure(
            f"Invalid arguments in {name}: argument {position} must be of type {kind} "
            f"but was {to_json(value)}"
        )


def _format(args: list[Any], ctx: EvalContext) -> str:
    template = args[0]
    _expect("States.Format", 1, template, "string")
    values = args[1:]
    segments = _split_placeholders(template)
    if len(segments) - 1 != len(values):
        raise _failure(
            "Invalid arguments in States.Format: the number of arguments "
            f"({len(values)}) does not match the number of placeholders ({len(segments) - 1})"
        )
    out = [segments[0]]
    for value, seg in zip(values, segments[1:], strict=True):
        out.append(format_value(value))
        out.append(seg)
    return "".join(out)


def _split_placeholders(template: str) -> list[str]:
    """Split a runtime template string at its ``{}`` placeholders."""
    return template.split("{}")


def _string_to_json(args: list[Any], ctx: EvalContext) -> Any:
    _expect("States.StringToJson", 1, args[0], "string")
    text = args[0]
    if not text.strip():
        raise _failure("Invalid arguments in States.StringToJson: the string is not valid JSON: ''")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _failure(
            f"Invalid arguments in States.StringToJson: the string is not valid JSON: '{text}'"
        ) from None


def _json_to_string(args: list[Any], ctx: EvalContext) -> str:
    return to_json(args[0])


def _array(args: list[Any], ctx: EvalContext) -> list[Any]:
    return list(args)


def _array_partition(args: list[Any], ctx: EvalContext) -> list[Any]:
    array, size = args
    _expect("States.ArrayPartition", 1, array, "array")
    _expect("States.ArrayPartition", 2, size, "integer")
    n = int(size)
    if n <= 0:
        raise _failure(
            f"Invalid arguments in States.ArrayPartition: chunk size must be greater than 0, but was {n}"
        )
    return [array[i : i + n] for i in range(0, len(array), n)]


def _array_contains(args: list[Any], ctx: EvalContext) -> bool:
    array, value = args
    _expect("States.ArrayContains", 1, array, "array")
    return any(_json_equal(x, value) for x in array)


def _array_range(args: list[Any], ctx: EvalContext) -> list[int]:
    for i, v in enumerate(args, 1):
        _expect("States.ArrayRange", i, v, "integer")
    start, end, step = (int(v) for v in args)
    if step == 0:
        raise _failure("Invalid arguments in States.ArrayRange: step must not be 0")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > 1000:
        raise _failure(
            "Invalid arguments in States.ArrayRange: the array cannot contain more than 1000 items "
            f"but would contain {len(values)}"
        )
    return values


def _array_get_item(args: list[Any], ctx: EvalContext) -> Any:
    array, index = args
    _expect("States.ArrayGetItem", 1, array, "array")
    _expect("States.ArrayGetItem", 2, index, "integer")
    i = int(index)
    if not 0 <= i < len(array):
        raise _failure(
            f"Invalid arguments in States.ArrayGetItem: index {i} is out of bounds "
            f"for an array of length {len(array)}"
        )
    return array[i]


def _array_length(args: list[Any], ctx: EvalContext) -> int:
    _expect("States.ArrayLength", 1, args[0], "array")
    return len(args[0])


def _array_unique(args: list[Any], ctx: EvalContext) -> list[Any]:
    _expect("States.ArrayUnique", 1, args[0], "array")
    out: list[Any] = []
    for x in args[0]:
        if not any(_json_equal(x, y) for y in out):
            out.append(x)
    return out


_MAX_CODEC_LENGTH = 10000


def _base64_encode(args: list[Any], ctx: EvalContext) -> str:
    _expect("States.Base64Encode", 1, args[0], "string")
    if len(args[0]) > _MAX_CODEC_LENGTH:
        raise _failure(
            f"Invalid arguments in States.Base64Encode: "
            f"the input string cannot exceed {_MAX_CODEC_LENGTH} characters"
        )
    return base64.b64encode(args[0].encode()).decode()


def _base64_decode(args: list[Any], ctx: EvalContext) -> str:
    _expect("States.Base64Decode", 1, args[0], "string")
    if len(args[0]) > _MAX_CODEC_LENGTH:
        raise _failure(
            f"Invalid arguments in States.Base64Decode: "
            f"the input string cannot exceed {_MAX_CODEC_LENGTH} characters"
        )
    try:
        return base64.b64decode(args[0].encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _failure(
            f"Invalid arguments in States.Base64Decode: the input is not valid base64: '{args[0]}'"
        ) from None


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(args: list[Any], ctx: EvalContext) -> str:
    data, algorithm = args
    _expect("States.Hash", 2, algorithm, "string")
    if algorithm not in _HASHES:
        raise _failure(
            f"Invalid arguments in States.Hash: the hashing algorithm '{algorithm}' is not supported; "
            "supported algorithms are MD5, SHA-1, SHA-256, SHA-384, SHA-512"
        )
    text = data if isinstance(data, str) else format_value(data)
    if len(text) > _MAX_CODEC_LENGTH:
        raise _failure(
            f"Invalid arguments in States.Hash: the input data cannot exceed {_MAX_CODEC_LENGTH} characters"
        )
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _json_merge(args: list[Any], ctx: EvalContext) -> dict[str, Any]:
    left, right, deep = args
    _expect("States.JsonMerge", 1, left, "object")
    _expect("States.JsonMerge", 2, right, "object")
    _expect("States.JsonMerge", 3, deep, "boolean")
    if deep:
        raise _failure(
            "Invalid arguments in States.JsonMerge: only shallow merge is supported (deep must be false)"
        )
    return {**left, **right}


def _math_random(args: list[Any], ctx: EvalContext) -> int:
    for i, v in enumerate(args, 1):
        _expect("States.MathRandom", i, v, "number")
    start, end = _java_round(args[0]), _java_round(args[1])
    if start >= end:
        raise _failure(
            f"Invalid arguments in States.MathRandom: start ({start}) must be less than end ({end})"
        )
    if len(args) == 3:
        return start + JavaRandom(_java_round(args[2])).next_int(end - start)
    return start + int(ctx.entropy.random() * (end - start))


def _math_add(args: list[Any], ctx: EvalContext) -> int:
    a, b = args
    if type(a) is int and type(b) is int:  # the common case: a loop counter
        return a + b
    _expect("States.MathAdd", 1, a, "number")
    _expect("States.MathAdd", 2, b, "number")
    return _java_round(a) + _java_round(b)


def _string_split(args: list[Any], ctx: EvalContext) -> list[str]:
    text, delimiters = args
    _expect("States.StringSplit", 1, text, "string")
    _expect("States.StringSplit", 2, delimiters, "string")
    # Java StringTokenizer: every character of the second argument is a delimiter; no empty tokens
    tokens: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in delimiters:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        tokens.append("".join(current))
    return tokens


def _uuid(args: list[Any], ctx: EvalContext) -> str:
    return ctx.entropy.uuid4()


FUNCTIONS: dict[str, _Function] = {
    f.name: f
    for f in (
        _Function("States.Format", 1, None, _format),
        _Function("States.StringToJson", 1, 1, _string_to_json),
        _Function("States.JsonToString", 1, 1, _json_to_string),
        _Function("States.Array", 0, None, _array),
        _Function("States.ArrayPartition", 2, 2, _array_partition),
        _Function("States.ArrayContains", 2, 2, _array_contains),
        _Function("States.ArrayRange", 3, 3, _array_range),
        _Function("States.ArrayGetItem", 2, 2, _array_get_item),
        _Function("States.ArrayLength", 1, 1, _array_length),
        _Function("States.ArrayUnique", 1, 1, _array_unique),
        _Function("States.Base64Encode", 1, 1, _base64_encode),
        _Function("States.Base64Decode", 1, 1, _base64_decode),
        _Function("States.Hash", 2, 2, _hash),
        _Function("States.JsonMerge", 3, 3, _json_merge),
        _Function("States.MathRandom", 2, 3, _math_random),
        _Function("States.MathAdd", 2, 2, _math_add),
        _Function("States.StringSplit", 2, 2, _string_split),
        _Function("States.UUID", 0, 0, _uuid),
    )
}


# --- parser ------------------------------------------------------------------------------


def path_not_found(path: str, data: Any, field: str | None) -> ExecutionError:
    """AWS's States.Runtime cause when a ``.$`` path (or a path argument) selects nothing."""
    where = f" specified for the field '{field}'" if field else ""
    return ExecutionError(
        "States.Runtime", f"The JSONPath '{path}'{where} could not be found in the input '{to_json(data)}'"
    )


def _path_arg(path: JsonPath) -> _Arg:
    def get(data: Any, ctx: EvalContext, field: str | None) -> Any:
        value = path.find(data, ctx)
        if value is MISSING:
            raise path_not_found(path.text, data, field)
        return value

    return get


def _literal_arg(value: Any) -> _Arg:
    return lambda data, ctx, field: value


#: "You can nest up to 10 intrinsic functions within a field" (AWS's intrinsic functions page).
MAX_NESTING = 10

_ESCAPES = {"{": "\ue000", "}": "\ue001", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def error(self, why: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{why} at position {self.pos}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def call(self) -> tuple[_Function, list[_Arg], list[str | None]]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"intrinsic functions can be nested at most {MAX_NESTING} deep")
        try:
            return self._call()
        finally:
            self.depth -= 1

    def _call(self) -> tuple[_Function, list[_Arg], list[str | None]]:
        if not self.text.startswith("States.", self.pos):
            raise self.error("expected an intrinsic function")
        start = self.pos
        self.pos += len("States.")
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        name = self.text[start : self.pos]
        function = FUNCTIONS.get(name)
        if function is None:
            raise self.error(f"unknown intrinsic function {name!r}")
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] != "(":
            raise self.error("expected '('")
        self.pos += 1
        args: list[_Arg] = []
        templates: list[str | None] = []  # literal text of string arguments (for Format)
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] == ")":
            self.pos += 1
        else:
            while True:
                arg, literal = self.argument()
                args.append(arg)
                templates.append(literal)
                self.skip_ws()
                c = self.text[self.pos : self.pos + 1]
                self.pos += 1
                if c == ")":
                    break
                if c != ",":
                    self.pos -= 1
                    raise self.error("expected ',' or ')'")
        if len(args) < function.min_args or (function.max_args is not None and len(args) > function.max_args):
            raise self.error(f"{name} takes {_arity(function)} but was given {len(args)}")
        return function, args, templates

    def argument(self) -> tuple[_Arg, str | None]:
        self.skip_ws()
        c = self.text[self.pos : self.pos + 1]
        if c == "'":
            marked = self.string()
            return _literal_arg(marked.translate(_UNESCAPE)), marked
        if c == "$":
            return _path_arg(self.path()), None
        if self.text.startswith("States.", self.pos):
            function, args, templates = self.call()
            return _call_arg(function, args, templates), None
        for word, literal in (("null", None), ("true", True), ("false", False)):
            if self.text.startswith(word, self.pos):
                end = self.pos + len(word)
                if end == len(self.text) or not (self.text[end].isalnum() or self.text[end] == "_"):
                    self.pos = end
                    return _literal_arg(literal), None
        return _literal_arg(self.number()), None

    def string(self) -> str:
        self.pos += 1
        buf: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated string literal")
            c = self.text[self.pos]
            if c == "\\":
                nxt = self.text[self.pos + 1 : self.pos + 2]
                if not nxt:
                    raise self.error("unterminated string literal")
                # AWS documents \' \{ \} \\; other escapes are read as JSON's (\n, \t, ...) or
                # as the character itself. \{ and \} are marked with private characters so they
                # stay distinguishable from {} placeholders until States.Format has split on them.
                buf.append(_ESCAPES.get(nxt, nxt))
                self.pos += 2
                continue
            self.pos += 1
            if c == "'":
                return "".join(buf)
            buf.append(c)

    def path(self) -> JsonPath:
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if quote:
                if c == "\\":
                    self.pos += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif c in "[(":
                depth += 1
            elif c in "])":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            self.pos += 1
        text = self.text[start : self.pos].rstrip()
        try:
            root, variable, steps = parse_path(text)
        except PathSyntaxError as exc:
            raise self.error(f"invalid path {text!r}: {exc}") from None
        return JsonPath(text, root, variable, steps)

    def number(self) -> int | float:
        start = self.pos
        if self.text[self.pos : self.pos + 1] in ("-", "+"):
            self.pos += 1
        while self.pos < len(self.text) and (self.text[self.pos].isdigit() or self.text[self.pos] in ".eE"):
            if self.text[self.pos] in "eE" and self.text[self.pos + 1 : self.pos + 2] in ("-", "+"):
                self.pos += 1
            self.pos += 1
        token = self.text[start : self.pos]
        try:
            if any(ch in token for ch in ".eE"):
                return float(token)
            return int(token)
        except ValueError:
            self.pos = start
            raise self.error("expected an argument") from None


def _arity(f: _Function) -> str:
    if f.max_args is None:
        return f"at least {f.min_args} argument{'s' if f.min_args != 1 else ''}"
    if f.min_args == f.max_args:
        return f"{f.min_args} argument{'s' if f.min_args != 1 else ''}"
    return f"{f.min_args} to {f.max_args} arguments"


_UNESCAPE = str.maketrans({"\ue000": "{", "\ue001": "}"})


def _call_arg(function: _Function, args: list[_Arg], templates: list[str | None]) -> _Arg:
    run = function.run
    if function.name == "States.Format" and templates and templates[0] is not None:
        # a literal template: split at unescaped {} once, at parse time
        segments = [s.translate(_UNESCAPE) for s in templates[0].split("{}")]
        rest = args[1:]

        def fmt(data: Any, ctx: EvalContext, field: str | None) -> str:
            values = [a(data, ctx, field) for a in rest]
            if len(values) != len(segments) - 1:
                raise _failure(
                    "Invalid arguments in States.Format: the number of arguments "
                    f"({len(values)}) does not match the number of placeholders ({len(segments) - 1})"
                )
            out = [segments[0]]
            for value, seg in zip(values, segments[1:], strict=True):
                out.append(format_value(value))
                out.append(seg)
            return "".join(out)

        return fmt

    def call(data: Any, ctx: EvalContext, field: str | None) -> Any:
        return run([a(data, ctx, field) for a in args], ctx)

    return call


def parse_intrinsic(text: str) -> Callable[[Any, EvalContext, str | None], Any]:
    """Parse ``text`` into an evaluator; raises :class:`IntrinsicSyntaxError`."""
    if not isinstance(text, str):
        raise IntrinsicSyntaxError("an intrinsic call must be a string")
    p = _Parser(text)
    p.skip_ws()
    function, args, templates = p.call()
    p.skip_ws()
    if p.pos != len(text):
        raise p.error("unexpected text after the call")
    return _call_arg(function, args, templates)


class Intrinsic:
    """A compiled intrinsic call; ``text`` is its source."""

    __slots__ = ("_run", "text")

    def __init__(self, text: str, run: Callable[[Any, EvalContext, str | None], Any]) -> None:
        self.text = text
        self._run = run

    def __repr__(self) -> str:
        return f"Intrinsic({self.text!r})"

    def evaluate(self, data: Any, ctx: EvalContext, *, field: str | None = None) -> Any:
        """Evaluate against the input ``data`` (``$`` arguments), ``$$`` and variables.

        Raises ``ExecutionError("States.IntrinsicFailure", <AWS cause>)`` on bad arguments,
        ``ExecutionError("States.Runtime", ...)`` when a path argument selects nothing
        (``field`` names the ``.$`` field in that message).
        """
        return self._run(data, ctx, field)


def compile_intrinsic(text: str, *, where: str) -> Intrinsic:
    """Parse an intrinsic call; ``InvalidDefinition`` naming ``where`` when it is invalid."""
    try:
        run = parse_intrinsic(text)
    except IntrinsicSyntaxError:
        field = where.rstrip("/").rsplit("/", 1)[-1]
        raise definition_error(
            f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call",
            where.rstrip("/").rsplit("/", 1)[0] if field.endswith(".$") else where,
        ) from None
    return Intrinsic(text, run)
