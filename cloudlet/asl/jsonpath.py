"""JSONPath as Step Functions uses it: paths, reference paths and ResultPath.

https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html

Three roots: ``$`` (the state input, or whatever the caller passes as ``data``), ``$$`` (the
context object) and ``$name`` (a workflow variable: JSONPath-mode variable reads).

Why a hand parser and not jsonpath-ng: Step Functions evaluates paths with Jayway JsonPath
(Java), and its behaviour shows through in what users see: a definite path (only member and
index steps) yields one value and fails with "No results for path: $['a']['b']" /
"Missing property in path $['a']" when it selects nothing, while an indefinite path
(wildcards, filters ``[?(@.x > 1)]``, slices, unions, ``..``) yields a list that may be empty;
filters use ``@``/``$`` operands with ``==, !=, <, <=, >, >=, =~, in, nin, &&, ||, !``.
jsonpath-ng's grammar differs (its filters need the ``ext`` parser, ``@`` is spelled
differently, there is no definite/indefinite distinction, errors are untyped) and it re-walks
a generic AST with ``DatumInContext`` wrappers on every call. A small parser that compiles a
path once into a tuple of steps matches AWS's semantics exactly and makes the common case
(``$.a.b[0]``) a plain loop of dict/list lookups at evaluation time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, cast

from cloudlet.asl.expressions import MISSING, EvalContext, definition_error, to_json
from cloudlet.errors import ExecutionError

__all__ = [
    "MISSING",
    "JsonPath",
    "PathSyntaxError",
    "ReferencePath",
    "apply_result_path",
    "compile_path",
    "compile_reference_path",
    "is_path",
    "parse_path",
]


def is_path(text: str) -> bool:
    """True when ``text`` looks like a path (starts with ``$``); says nothing about validity."""
    return text.startswith("$")


class PathSyntaxError(ValueError):
    """A path that does not parse (internal; surfaces as ``InvalidDefinition``)."""


# --- steps -------------------------------------------------------------------------------
# A compiled path is a tuple of steps. Definite steps are plain ``str`` (member) and ``int``
# (index), so the fast path is a loop of isinstance checks; the rest are small classes.


class _Wildcard:
    __slots__ = ()

    def __repr__(self) -> str:
        return "[*]"


class _Union:
    __slots__ = ("keys",)

    def __init__(self, keys: tuple[str | int, ...]) -> None:
        self.keys = keys


class _Slice:
    __slots__ = ("end", "start", "step")

    def __init__(self, start: int | None, end: int | None, step: int | None) -> None:
        self.start, self.end, self.step = start, end, step


class _Descend:
    """``..`` followed by a step: apply the step to the node and every descendant."""

    __slots__ = ("step",)

    def __init__(self, step: Any) -> None:
        self.step = step


class _Filter:
    __slots__ = ("predicate",)

    def __init__(self, predicate: Callable[[Any, Any], bool]) -> None:
        self.predicate = predicate


class _Length:
    """Jayway's ``.length()`` function at the end of a path."""

    __slots__ = ()


_WILDCARD = _Wildcard()
_LENGTH = _Length()


def _is_definite(steps: tuple[Any, ...]) -> bool:
    return all(isinstance(s, str | int) and not isinstance(s, bool) for s in steps)


def _fragment(step: str | int) -> str:
    return f"[{step}]" if isinstance(step, int) else f"['{step}']"


def jayway_path(steps: tuple[Any, ...]) -> str:
    """The normalised form Jayway prints in messages: ``$['a'][0]``."""
    return "$" + "".join(_fragment(s) for s in steps if isinstance(s, str | int))


# --- parser ------------------------------------------------------------------------------

_IDENT = re.compile(r"[^\W\d]\w*")  # a variable name, Unicode letters included
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class _Parser:
    """Recursive-descent parser for one path text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, why: str) -> PathSyntaxError:
        return PathSyntaxError(f"{why} at position {self.pos} in {self.text!r}")

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_ws(self) -> None:
        while not self.at_end() and self.text[self.pos] in " \t\n\r":
            self.pos += 1

    def expect(self, s: str) -> None:
        self.skip_ws()
        if not self.text.startswith(s, self.pos):
            raise self.error(f"expected {s!r}")
        self.pos += len(s)

    # root ---------------------------------------------------------------------
    def root(self) -> tuple[str, str | None]:
        if not self.text.startswith("$"):
            raise self.error("a path must start with '$'")
        if self.text.startswith("$$"):
            self.pos = 2
            return "context", None
        self.pos = 1
        m = _IDENT.match(self.text, 1)
        if m:
            self.pos = m.end()
            return "variable", m.group()
        return "input", None

    # steps --------------------------------------------------------------------
    def steps(self, *, stop: str = "") -> tuple[Any, ...]:
        """Parse steps until the end of text (or a character in ``stop``, for filters)."""
        out: list[Any] = []
        while not self.at_end():
            c = self.text[self.pos]
            if stop and c in stop:
                break
            if c == ".":
                if self.peek(2) == "..":
                    self.pos += 2
                    if self.peek() == "[":
                        out.append(_Descend(self.bracket()))
                    elif self.peek() == "*":
                        self.pos += 1
                        out.append(_Descend(_WILDCARD))
                    else:
                        out.append(_Descend(self.dot_name(stop)))
                    continue
                self.pos += 1
                if self.peek() == "*":
                    self.pos += 1
                    out.append(_WILDCARD)
                    continue
                name = self.dot_name(stop)
                if name == "length" and self.peek(2) == "()":
                    self.pos += 2
                    out.append(_LENGTH)
                    if not self.at_end() and not (stop and self.text[self.pos] in stop):
                        raise self.error("length() must end the path")
                    continue
                out.append(name)
            elif c == "[":
                out.append(self.bracket())
            elif stop and c in " \t\n\r":
                break
            else:
                raise self.error(f"unexpected character {c!r}")
        return tuple(out)

    def dot_name(self, stop: str) -> str:
        start = self.pos
        ends = ".[ \t\n\r" + stop
        while not self.at_end() and self.text[self.pos] not in ends:
            if self.text[self.pos] in "()" and not stop:
                if self.text.startswith("()", self.pos):
                    break
                raise self.error("unexpected parenthesis")
            if stop and self.text[self.pos] in "()":
                break
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:
            raise self.error("empty property name")
        return name

    def bracket(self) -> Any:
        self.expect("[")
        self.skip_ws()
        c = self.peek()
        if c == "?":
            self.pos += 1
            self.expect("(")
            pred = self.filter_or()
            self.expect(")")
            self.expect("]")
            return _Filter(pred)
        if c == "*":
            self.pos += 1
            self.expect("]")
            return _WILDCARD
        if c and c in "'\"":
            keys: list[str | int] = [self.string()]
            self.skip_ws()
            while self.peek() == ",":
                self.pos += 1
                self.skip_ws()
                keys.append(self.string())
                self.skip_ws()
            self.expect("]")
            return keys[0] if len(keys) == 1 else _Union(tuple(keys))
        # indexes, unions of indexes, slices
        parts: list[str] = []
        start = self.pos
        depth = 0
        while not self.at_end() and (self.text[self.pos] != "]" or depth):
            self.pos += 1
        if self.at_end():
            raise self.error("unterminated '['")
        body = self.text[start : self.pos].strip()
        self.pos += 1
        if ":" in body:
            parts = [p.strip() for p in body.split(":")]
            if len(parts) > 3:
                raise self.error("bad slice")
            try:
                nums = [int(p) if p else None for p in parts]
            except ValueError:
                raise self.error("bad slice") from None
            while len(nums) < 3:
                nums.append(None)
            if nums[2] == 0:
                raise self.error("slice step cannot be zero")
            return _Slice(nums[0], nums[1], nums[2])
        try:
            idx = [int(p.strip()) for p in body.split(",")]
        except ValueError:
            raise self.error("bad index") from None
        return idx[0] if len(idx) == 1 else _Union(tuple(idx))

    def string(self) -> str:
        q = self.text[self.pos]
        self.pos += 1
        buf: list[str] = []
        while True:
            if self.at_end():
                raise self.error("unterminated string")
            c = self.text[self.pos]
            # only \<quote> is an escape; any other backslash is a literal character
            # (AWS resolves $['a\"b'] to the key a\"b)
            if c == "\\" and self.text[self.pos + 1 : self.pos + 2] == q:
                buf.append(q)
                self.pos += 2
                continue
            self.pos += 1
            if c == q:
                return "".join(buf)
            buf.append(c)

    # filters ------------------------------------------------------------------
    def filter_or(self) -> Callable[[Any, Any], bool]:
        left = self.filter_and()
        while True:
            self.skip_ws()
            if self.peek(2) == "||":
                self.pos += 2
                right = self.filter_and()
                left = (lambda a, b: lambda n, r: a(n, r) or b(n, r))(left, right)
            else:
                return left

    def filter_and(self) -> Callable[[Any, Any], bool]:
        left = self.filter_unary()
        while True:
            self.skip_ws()
            if self.peek(2) == "&&":
                self.pos += 2
                right = self.filter_unary()
                left = (lambda a, b: lambda n, r: a(n, r) and b(n, r))(left, right)
            else:
                return left

    def filter_unary(self) -> Callable[[Any, Any], bool]:
        self.skip_ws()
        if self.peek() == "!" and self.peek(2) != "!=":
            self.pos += 1
            inner = self.filter_unary()
            return lambda n, r: not inner(n, r)
        if self.peek() == "(":
            self.pos += 1
            inner = self.filter_or()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Callable[[Any, Any], bool]:
        left = self.operand()
        self.skip_ws()
        for op in ("==", "!=", "<=", ">=", "=~", "<", ">", " in ", " nin ", "in ", "nin "):
            token = op.strip()
            if self.text.startswith(token, self.pos) and (
                token not in ("in", "nin")
                or self.text[self.pos + len(token) : self.pos + len(token) + 1] in " [("
            ):
                self.pos += len(token)
                break
        else:
            # existence test: [?(@.x)]
            return lambda n, r: left(n, r) is not MISSING
        if token == "=~":
            self.skip_ws()
            rx = self.regex()
            return lambda n, r: isinstance(v := left(n, r), str) and rx.fullmatch(v) is not None
        right = self.operand()
        compare = _COMPARATORS[token]
        return lambda n, r: compare(left(n, r), right(n, r))

    def regex(self) -> re.Pattern[str]:
        if self.peek() != "/":
            raise self.error("expected /regex/")
        self.pos += 1
        buf: list[str] = []
        while True:
            if self.at_end():
                raise self.error("unterminated regex")
            c = self.text[self.pos]
            self.pos += 1
            if c == "\\" and not self.at_end():
                buf.append(c + self.text[self.pos])
                self.pos += 1
                continue
            if c == "/":
                break
            buf.append(c)
        flags = 0
        while not self.at_end() and self.text[self.pos] in "imsx":
            flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[self.text[self.pos]]
            self.pos += 1
        try:
            return re.compile("".join(buf), flags)
        except re.error as exc:
            raise self.error(f"bad regex: {exc}") from None

    def operand(self) -> Callable[[Any, Any], Any]:
        self.skip_ws()
        c = self.peek()
        if c in ("@", "$"):
            root_is_node = c == "@"
            self.pos += 1
            steps = self.steps(stop=")]!=<>&|, ")
            getter = _compile_getter(steps)
            if root_is_node:
                return lambda n, r: getter(n)
            return lambda n, r: getter(r)
        if c and c in "'\"":
            s = self.string()
            return _constant(s)
        if c == "[":
            # a JSON array literal for in / nin
            depth = 0
            start = self.pos
            while not self.at_end():
                ch = self.text[self.pos]
                if ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                    if depth == 0:
                        self.pos += 1
                        break
                self.pos += 1
            import json

            try:
                arr = json.loads(self.text[start : self.pos].replace("'", '"'))
            except ValueError:
                raise self.error("bad array literal") from None
            return _constant(arr)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return _constant(value)
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            text = m.group()
            num: int | float = float(text) if any(ch in text for ch in ".eE") else int(text)
            return _constant(num)
        raise self.error("expected a filter operand")


def _constant(value: Any) -> Callable[[Any, Any], Any]:
    return lambda node, root: value


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _eq(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return False
    if _num(a) and _num(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if _num(a) and _num(b):
            return op(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        return False

    return compare


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "!=": lambda a, b: a is not MISSING and b is not MISSING and not _eq(a, b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "in": lambda a, b: isinstance(b, list) and any(_eq(a, x) for x in b),
    "nin": lambda a, b: isinstance(b, list) and not any(_eq(a, x) for x in b),
}


# --- evaluation --------------------------------------------------------------------------


class _NotFound(Exception):
    """A definite path selected nothing; ``message`` is Jayway's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _walk_definite(node: Any, steps: tuple[Any, ...]) -> Any:
    """Follow member/index steps; raise ``_NotFound`` with Jayway's wording."""
    last = len(steps) - 1
    for i, step in enumerate(steps):
        if isinstance(step, str):
            if type(node) is dict:
                if step in node:
                    node = node[step]
                    continue
                if i == last:
                    raise _NotFound(f"No results for path: {jayway_path(steps)}")
                raise _NotFound(f"Missing property in path {jayway_path(steps[: i + 1])}")
            raise _NotFound(
                f"Expected to find an object with property {_fragment(step)} in path "
                f"{jayway_path(steps[:i])} but found '{_java_type(node)}'. This is not a json object "
                "according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'."
            )
        if step is _LENGTH:
            if isinstance(node, list | dict | str):
                return len(node)
            raise _NotFound(f"No results for path: {jayway_path(steps)}")
        # int index
        if type(node) is list:
            n = len(node)
            j = step + n if step < 0 else step
            if 0 <= j < n:
                node = node[j]
                continue
            raise _NotFound(f"No results for path: {jayway_path(steps)}")
        raise _NotFound(
            f"Filter: [{step}] can only be applied to arrays. Current context is: {_java_text(node)}"
        )
    return node


def _java_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "java.lang.Boolean"
    if isinstance(v, int):
        return "java.lang.Integer"
    if isinstance(v, float):
        return "java.lang.Double"
    if isinstance(v, str):
        return "java.lang.String"
    if isinstance(v, list):
        return "net.minidev.json.JSONArray"
    return "java.util.LinkedHashMap"


def _java_text(v: Any) -> str:
    return v if isinstance(v, str) else to_json(v)


def _children(node: Any) -> Iterator[Any]:
    if type(node) is dict:
        yield from node.values()
    elif type(node) is list:
        yield from node


def _descendants(node: Any) -> Iterator[Any]:
    """The node itself, then every descendant in document order."""
    yield node
    for child in _children(node):
        yield from _descendants(child)


def _apply_step(step: Any, nodes: list[Any], root: Any) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if isinstance(step, str):
            if type(node) is dict and step in node:
                out.append(node[step])
        elif isinstance(step, int):
            if type(node) is list:
                j = step + len(node) if step < 0 else step
                if 0 <= j < len(node):
                    out.append(node[j])
        elif step is _WILDCARD:
            out.extend(_children(node))
        elif isinstance(step, _Union):
            if type(node) is dict and all(isinstance(k, str) for k in step.keys):
                # Jayway returns one object holding the named members that exist
                out.append({k: node[k] for k in step.keys if isinstance(k, str) and k in node})
            else:
                for k in step.keys:
                    out.extend(_apply_step(k, [node], root))
        elif isinstance(step, _Slice):
            if type(node) is list:
                out.extend(node[step.start : step.end : step.step])
        elif isinstance(step, _Filter):
            if type(node) is list:
                out.extend(x for x in node if step.predicate(x, root))
            elif type(node) is dict and step.predicate(node, root):
                out.append(node)
        elif isinstance(step, _Descend):
            for d in _descendants(node):
                if isinstance(step.step, _Filter):
                    if type(d) is list:
                        out.extend(x for x in d if step.step.predicate(x, root))
                else:
                    out.extend(_apply_step(step.step, [d], root))
        elif step is _LENGTH:
            out = [len(x) for x in nodes if isinstance(x, list | dict | str)]
            return out
    return out


def _compile_getter(steps: tuple[Any, ...]) -> Callable[[Any], Any]:
    """A function node -> value | MISSING for filter operands (``@.a.b``)."""
    if _is_definite(steps):

        def get(node: Any) -> Any:
            try:
                return _walk_definite(node, steps)
            except _NotFound:
                return MISSING

        return get

    return lambda node: _apply_step_all(steps, node)


def _apply_step_all(steps: tuple[Any, ...], root: Any) -> list[Any]:
    nodes = [root]
    for step in steps:
        nodes = _apply_step(step, nodes, root)
    return nodes


def parse_path(text: str) -> tuple[str, str | None, tuple[Any, ...]]:
    """Parse ``text`` into (root, variable, steps); raises :class:`PathSyntaxError`."""
    if not isinstance(text, str):
        raise PathSyntaxError("a path must be a string")
    p = _Parser(text)
    root, variable = p.root()
    steps = p.steps()
    return root, variable, steps


class JsonPath:
    """A compiled JSONPath (InputPath, OutputPath, ItemsPath, ``.$`` values, ``*Path`` fields).

    ``text`` is the source; ``root`` is ``"input"``, ``"context"`` or ``"variable"``;
    ``variable`` the variable name when ``root == "variable"``; ``definite`` is False for
    paths that select a list (wildcards, filters, slices, unions, recursive descent).
    """

    __slots__ = ("_simple", "_steps", "definite", "root", "text", "variable")

    def __init__(self, text: str, root: str, variable: str | None, steps: tuple[Any, ...]) -> None:
        self.text = text
        self.root = root
        self.variable = variable
        self._steps = steps
        self.definite = _is_definite(steps) or (
            bool(steps) and steps[-1] is _LENGTH and _is_definite(steps[:-1])
        )
        # the common case: only member names, no index, no functions
        self._simple = all(type(s) is str for s in steps)

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    def _root_value(self, data: Any, ctx: EvalContext) -> Any:
        if self.root == "input":
            return data
        if self.root == "context":
            return ctx.context
        assert self.variable is not None
        return ctx.variables.get(self.variable, MISSING)

    def find(self, data: Any, ctx: EvalContext) -> Any:
        """The value the path selects, or :data:`MISSING` when it selects nothing.

        Indefinite paths return a list of matches (possibly empty).
        """
        node = self._root_value(data, ctx)
        if node is MISSING:
            return MISSING
        if self._simple:
            for step in self._steps:
                if type(node) is dict:
                    node = node.get(step, MISSING)
                    if node is MISSING:
                        return MISSING
                else:
                    return MISSING
            return node
        if self.definite:
            try:
                return _walk_definite(node, self._steps)
            except _NotFound:
                return MISSING
        return _apply_step_all(self._steps, node)

    def get(self, data: Any, ctx: EvalContext) -> Any:
        """The selected value; raises ``ExecutionError("States.Runtime", "Invalid path ...")``."""
        node = self._root_value(data, ctx)
        if node is MISSING:
            raise ExecutionError(
                "States.Runtime", f"Invalid path '{self.text}' : No results for path: {jayway_path(())}"
            )
        if self.definite:
            try:
                return _walk_definite(node, self._steps)
            except _NotFound as exc:
                raise ExecutionError(
                    "States.Runtime", f"Invalid path '{self.text}' : {exc.message}"
                ) from None
        return _apply_step_all(self._steps, node)


def compile_path(text: str, *, where: str) -> JsonPath:
    """Compile a path once; raise ``InvalidDefinition`` naming ``where`` when it is invalid."""
    try:
        root, variable, steps = parse_path(text)
    except PathSyntaxError:
        raise definition_error(
            f"The value for the field '{_field(where)}' must be a valid JSONPath", where
        ) from None
    return JsonPath(text, root, variable, steps)


def _field(where: str) -> str:
    return where.rstrip("/").rsplit("/", 1)[-1]


class ReferencePath:
    """A compiled reference path (ResultPath): ``$`` then simple member / index steps only."""

    __slots__ = ("_steps", "text")

    def __init__(self, text: str, steps: tuple[str | int, ...]) -> None:
        self.text = text
        self._steps = steps

    def __repr__(self) -> str:
        return f"ReferencePath({self.text!r})"

    def apply(self, data: Any, value: Any) -> Any:
        """Return a copy of ``data`` with ``value`` placed at this path (creating objects).

        Raises ``ExecutionError("States.ResultPathMatchFailure", ...)`` when a step meets a
        value it cannot descend into. ``data`` itself is never modified.
        """
        if not self._steps:
            return value
        return self._set(data, 0, value, data)

    def _set(self, node: Any, i: int, value: Any, whole: Any) -> Any:
        step = self._steps[i]
        last = i == len(self._steps) - 1
        if isinstance(step, str):
            if type(node) is not dict:
                raise self._failure(step, whole)
            copy = dict(node)
            if last:
                copy[step] = value
            else:
                child = node.get(step, MISSING)
                copy[step] = self._set({} if child is MISSING else child, i + 1, value, whole)
            return copy
        if type(node) is not list:
            raise self._failure(step, whole)
        j = step + len(node) if step < 0 else step
        if not 0 <= j < len(node):
            raise self._failure(step, whole)
        copy_list = list(node)
        copy_list[j] = value if last else self._set(node[j], i + 1, value, whole)
        return copy_list

    def _failure(self, step: str | int, whole: Any) -> ExecutionError:
        return ExecutionError(
            "States.ResultPathMatchFailure", f'Unable to apply step "{step}" to input {to_json(whole)}'
        )


def compile_reference_path(text: str, *, where: str) -> ReferencePath:
    """Compile a ResultPath; ``InvalidDefinition`` when it is not a valid reference path."""
    try:
        root, _variable, steps = parse_path(text)
    except PathSyntaxError:
        root, steps = "", ()
    if root != "input" or not _is_definite(steps):
        raise definition_error(
            f"The value for the field '{_field(where)}' must be a valid ReferencePath", where
        ) from None
    return ReferencePath(text, cast(tuple[str | int, ...], steps))


def apply_result_path(data: Any, path: ReferencePath | None, result: Any) -> Any:
    """ResultPath semantics: ``None`` (JSON null) keeps ``data``; ``$`` gives ``result``."""
    if path is None:
        return data
    return path.apply(data, result)
