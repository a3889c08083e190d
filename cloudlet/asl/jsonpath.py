"""JSONPath as Step Functions uses it: paths, reference paths and ResultPath.

https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html

Three roots: ``$`` (the state input, or whatever the caller passes as ``data``), ``$$`` (the
context object) and ``$name`` (a workflow variable, JSONPath-mode variable reads).
"""

from __future__ import annotations

from typing import Any

from cloudlet.asl.expressions import MISSING, EvalContext
from cloudlet.errors import ExecutionError, InvalidDefinition

__all__ = [
    "MISSING",
    "JsonPath",
    "ReferencePath",
    "apply_result_path",
    "compile_path",
    "compile_reference_path",
    "is_path",
]


def is_path(text: str) -> bool:
    """True when ``text`` looks like a path (starts with ``$``); says nothing about validity."""
    return text.startswith("$")


class JsonPath:
    """A compiled JSONPath (InputPath, OutputPath, ItemsPath, ``.$`` values, ``*Path`` fields).

    ``text`` is the source; ``root`` is ``"input"``, ``"context"`` or ``"variable"``;
    ``variable`` the variable name when ``root == "variable"``; ``definite`` is False for
    paths that select a list (wildcards, filters, slices, unions, recursive descent).
    """

    text: str
    root: str
    variable: str | None
    definite: bool

    def find(self, data: Any, ctx: EvalContext) -> Any:
        """The value the path selects, or :data:`MISSING` when it selects nothing.

        Indefinite paths return a list of matches (possibly empty).
        """
        raise NotImplementedError

    def get(self, data: Any, ctx: EvalContext) -> Any:
        """The selected value; raises ``ExecutionError("States.Runtime", "Invalid path ...")``."""
        raise NotImplementedError


def compile_path(text: str, *, where: str) -> JsonPath:
    """Compile a path once; raise ``InvalidDefinition`` naming ``where`` when it is invalid."""
    raise NotImplementedError


class ReferencePath:
    """A compiled reference path (ResultPath): ``$`` then simple member / index steps only."""

    text: str

    def apply(self, data: Any, value: Any) -> Any:
        """Return a copy of ``data`` with ``value`` placed at this path (creating objects).

        Raises ``ExecutionError("States.ResultPathMatchFailure", ...)`` when a step meets a
        value it cannot descend into. ``data`` itself is never modified.
        """
        raise NotImplementedError


def compile_reference_path(text: str, *, where: str) -> ReferencePath:
    """Compile a ResultPath; ``InvalidDefinition`` when it is not a valid reference path."""
    raise NotImplementedError


def apply_result_path(data: Any, path: ReferencePath | None, result: Any) -> Any:
    """ResultPath semantics: ``None`` (JSON null) keeps ``data``; ``$`` gives ``result``."""
    raise NotImplementedError
