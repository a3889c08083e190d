"""JSONata for Step Functions (QueryLanguage "JSONata"), on the ``jsonata-python`` library.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudlet.asl.expressions import EvalContext

__all__ = ["JsonataTemplate", "compile_jsonata", "is_jsonata_template"]


def is_jsonata_template(value: Any) -> bool:
    """True when ``value`` is a string of the form ``{% expression %}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


class JsonataTemplate:
    """A compiled JSON value whose ``{% %}`` strings (at any depth) are JSONata expressions."""

    def evaluate(self, states: Mapping[str, Any], ctx: EvalContext) -> Any:
        """Evaluate with ``$states`` bound to ``states`` and ``ctx.variables`` as ``$name``.

        ``states`` holds ``input`` and ``context`` and, where the state defines them,
        ``result`` and ``errorOutput``. Raises ``ExecutionError("States.QueryEvaluationError",
        <AWS cause>)``.
        """
        raise NotImplementedError


def compile_jsonata(value: Any, *, where: str, field: str) -> JsonataTemplate:
    """Compile a field value once; ``InvalidDefinition`` naming ``where`` on a bad expression.

    ``field`` is the field name used in runtime error causes, e.g. ``"Output"`` (nested
    entries are reported as ``"Output/result"``).
    """
    raise NotImplementedError
