"""What an ASL expression may read besides the state input: the shared evaluation context.

Every expression module of `cloudlet.asl` (JSONPath paths, intrinsic functions, payload
templates, JSONata) evaluates against a state input plus one :class:`EvalContext`:

- ``context``: the context object that ``$$`` paths and ``$states.context`` read
  (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html);
- ``variables``: the workflow variables visible in the current state (``$name`` in JSONPath
  mode, ``$name`` in JSONata);
- ``entropy``: where ``States.UUID``, ``States.MathRandom``, ``$uuid()`` and ``$random()`` get
  their randomness. The driver supplies it, so a durable replay can reproduce the values.

Also holds :data:`MISSING` (the "no value" marker that is distinct from JSON ``null``) and
:func:`to_json`, the JSON text AWS embeds in error causes.
"""

from __future__ import annotations

import random as _random
import uuid as _uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import orjson

from cloudlet.errors import InvalidDefinition

__all__ = [
    "MISSING",
    "Entropy",
    "EvalContext",
    "JavaRandom",
    "SystemEntropy",
    "copy_json",
    "definition_error",
    "to_json",
    "type_name",
]


class _Missing:
    """Marker for "no value" (an absent field), distinct from JSON ``null``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: The value a lookup returns when nothing is there (never a JSON value).
MISSING: Final[Any] = _Missing()


class Entropy(Protocol):
    """Source of randomness for UUIDs and random numbers, supplied by the driver."""

    def uuid4(self) -> str:
        """A random (version 4) UUID in its canonical 36-character text form."""
        ...

    def random(self) -> float:
        """A float uniformly drawn from [0.0, 1.0)."""
        ...


class SystemEntropy:
    """Entropy from the operating system (used when a driver supplies none)."""

    __slots__ = ()

    def uuid4(self) -> str:
        """A fresh random UUID."""
        return str(_uuid.uuid4())

    def random(self) -> float:
        """A fresh random float in [0, 1)."""
        return _random.random()


@dataclass(frozen=True, slots=True)
class EvalContext:
    """Everything an expression reads besides the state input.

    ``context`` is the context object (``$$``); ``variables`` are the workflow variables in
    scope; ``entropy`` gives UUIDs and random numbers; ``now`` (optional) fixes the time
    JSONata's ``$now()`` and ``$millis()`` report.
    """

    context: Any = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    entropy: Entropy = field(default_factory=SystemEntropy)
    #: Evaluation time (epoch seconds) for JSONata's ``$now()`` / ``$millis()``. A driver that
    #: replays sets it from its journal so replays see the same time; None = the wall clock.
    now: float | None = None


def to_json(value: Any) -> str:
    """Compact JSON text of ``value`` as AWS embeds it in error causes (``{"a":1}``)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses ints beyond 64 bits and non-str keys; the stdlib copes.
        import json

        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def type_name(value: Any) -> str:
    """The JSON type name AWS uses in messages: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def definition_error(rule: str, where: str, *, code: str = "SCHEMA_VALIDATION_FAILED") -> InvalidDefinition:
    """AWS's wording for a rejected definition: the diagnostic code, the rule, the JSON location.

    ``Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: <rule> at <where>'``.
    """
    return InvalidDefinition(f"Invalid State Machine Definition: '{code}: {rule} at {where}'", path=where)


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts and lists copied, scalars shared)."""
    if type(value) is dict:
        return {k: copy_json(v) if type(v) in (dict, list) else v for k, v in value.items()}
    if type(value) is list:
        return [copy_json(v) if type(v) in (dict, list) else v for v in value]
    return value


class JavaRandom:
    """``java.util.Random``'s generator, for seeded ``States.MathRandom`` / ``$random(seed)``.

    Step Functions runs on the JVM; a seeded call is expected to repeat exactly, so the seeded
    sequence follows Java's documented linear congruential generator.
    """

    _MULTIPLIER = 0x5DEECE66D
    _MASK = (1 << 48) - 1

    __slots__ = ("_seed",)

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ self._MULTIPLIER) & self._MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * self._MULTIPLIER + 0xB) & self._MASK
        value = self._seed >> (48 - bits)
        return value - (1 << bits) if value >= 1 << (bits - 1) and bits == 32 else value

    def next_int(self, bound: int) -> int:
        """Uniform int in [0, bound) exactly as ``Random.nextInt(bound)``."""
        if bound <= 0:
            raise ValueError("bound must be positive")
        if bound & -bound == bound:
            return (bound * self._next(31)) >> 31
        while True:
            bits = self._next(31)
            value = bits % bound
            if bits - value + (bound - 1) < (1 << 31):
                return value

    def next_double(self) -> float:
        """Uniform float in [0, 1) exactly as ``Random.nextDouble()``."""
        return ((self._next(26) << 27) + self._next(27)) * (1.0 / (1 << 53))
