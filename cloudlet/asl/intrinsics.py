"""Intrinsic functions (States.Format, States.Array, ..., States.UUID), parsed once.

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
"""

from __future__ import annotations

from typing import Any

from cloudlet.asl.expressions import EvalContext

__all__ = ["Intrinsic", "compile_intrinsic", "is_intrinsic"]


def is_intrinsic(text: str) -> bool:
    """True when a ``.$`` value is an intrinsic call rather than a path (``States.`` prefix)."""
    return text.startswith("States.")


class Intrinsic:
    """A compiled intrinsic call; ``text`` is its source."""

    text: str

    def evaluate(self, data: Any, ctx: EvalContext) -> Any:
        """Evaluate against the input ``data`` (``$`` arguments), ``$$`` and variables.

        Raises ``ExecutionError("States.IntrinsicFailure", <AWS cause>)`` on bad arguments,
        ``ExecutionError("States.Runtime", ...)`` when a path argument selects nothing.
        """
        raise NotImplementedError


def compile_intrinsic(text: str, *, where: str) -> Intrinsic:
    """Parse an intrinsic call; ``InvalidDefinition`` naming ``where`` when it is invalid."""
    raise NotImplementedError
