"""Payload templates: Parameters, ResultSelector, ItemSelector, legacy Map Parameters, and
JSONPath-mode Assign.

https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
"""

from __future__ import annotations

from typing import Any

from cloudlet.asl.expressions import EvalContext

__all__ = ["Payload", "compile_payload"]


class Payload:
    """A compiled payload template; ``evaluate`` builds a fresh JSON value each call."""

    def evaluate(self, data: Any, ctx: EvalContext) -> Any:
        """Build the payload: ``"k.$"`` entries become ``"k"`` with the path/intrinsic value.

        Raises ``ExecutionError("States.Runtime", "The JSONPath '$.x' specified for the field
        'k.$' could not be found in the input '<input JSON>'")`` when a path selects nothing.
        """
        raise NotImplementedError


def compile_payload(template: Any, *, where: str) -> Payload:
    """Compile a template (any JSON value) once; ``InvalidDefinition`` naming the location."""
    raise NotImplementedError
