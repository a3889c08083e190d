"""The immutable model of a parsed and validated state machine.

The parser (:mod:`cloudlet.asl.parser`) builds these once; the interpreter only reads them.
Every path, payload template and JSONata expression is compiled at parse time, so running
a state never re-parses text.

https://states-language.net/spec.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "DEFAULT",
    "Batcher",
    "Catcher",
    "ChoiceBranch",
    "Graph",
    "Integration",
    "QueryLanguage",
    "Reader",
    "Retrier",
    "State",
    "StateMachineModel",
]

QueryLanguage = Literal["JSONPath", "JSONata"]


class _Default:
    """Marker for "field absent: use the language's default" (distinct from JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


#: A path field that was not given (InputPath/OutputPath/ResultPath default to ``$``).
DEFAULT: Final[Any] = _Default()


@dataclass(frozen=True, slots=True)
class Retrier:
    """One entry of a ``Retry`` array."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: Literal["NONE", "FULL"] = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    """One entry of a ``Catch`` array.

    ``result_path`` is a compiled reference path, ``None`` (ResultPath null) or
    :data:`DEFAULT`; ``output`` / ``assign`` are compiled templates or ``None``.
    """

    error_equals: tuple[str, ...]
    next: str
    result_path: Any = DEFAULT
    output: Any = None
    assign: Any = None


@dataclass(frozen=True, slots=True)
class ChoiceBranch:
    """One entry of ``Choices``: a compiled rule (see :mod:`cloudlet.asl.choice`) and where to go."""

    rule: Any
    next: str
    assign: Any = None
    output: Any = None


@dataclass(frozen=True, slots=True)
class Batcher:
    """A distributed Map's ``ItemBatcher``: limits (literal, compiled path or template) and BatchInput."""

    max_items: Any = None
    max_bytes: Any = None
    batch_input: Any = None


@dataclass(frozen=True, slots=True)
class Reader:
    """A distributed Map's ``ItemReader``: where the items come from and how to parse them."""

    resource: str
    parameters: Any = None  # compiled Parameters (JSONPath) or Arguments (JSONata)
    input_type: str | None = None  # JSON, JSONL, CSV, MANIFEST; None for s3:listObjectsV2
    csv_header_location: str = "FIRST_ROW"
    csv_headers: tuple[str, ...] = ()
    csv_delimiter: str = ","
    max_items: Any = None


@dataclass(frozen=True, slots=True)
class Integration:
    """How a Task's ``Resource`` is called.

    ``kind``: ``lambda`` (a plain function ARN), ``lambda_invoke``
    (``arn:aws:states:::lambda:invoke``), ``activity`` or ``service`` (any other ARN).
    ``pattern``: ``request_response``, ``sync``, ``sync2`` or ``wait_for_task_token``.
    ``resource`` is the ARN without the pattern suffix; ``service``/``action`` name the
    optimized integration (``lambda``/``invoke``) when it is one.
    """

    kind: Literal["lambda", "lambda_invoke", "service", "activity"]
    pattern: Literal["request_response", "sync", "sync2", "wait_for_task_token"]
    resource: str
    service: str = ""
    action: str = ""


@dataclass(frozen=True, slots=True)
class State:
    """One state. Fields that do not apply to the state's type keep their defaults.

    JSONPath fields hold compiled paths/payloads (or :data:`DEFAULT` / ``None`` for absent /
    null paths); JSONata fields hold compiled templates. ``where`` is its JSON location
    (``/States/Foo``), used in messages.
    """

    name: str
    type: str
    where: str
    query_language: QueryLanguage = "JSONPath"
    next: str | None = None
    end: bool = False
    comment: str | None = None
    # JSONPath input/output processing
    input_path: Any = DEFAULT
    output_path: Any = DEFAULT
    parameters: Any = None
    result_selector: Any = None
    result_path: Any = DEFAULT
    # JSONata
    arguments: Any = None
    output: Any = None
    # both
    assign: Any = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    # Pass
    result: Any = DEFAULT
    # Task
    integration: Integration | None = None
    timeout_seconds: Any = None  # number, compiled path (JSONPath) or template (JSONata)
    heartbeat_seconds: Any = None
    credentials: Any = None
    # Choice
    choices: tuple[ChoiceBranch, ...] = ()
    default: str | None = None
    # Wait: kind is "Seconds", "Timestamp", "SecondsPath" or "TimestampPath"
    wait_kind: str | None = None
    wait_value: Any = None
    # Fail
    error: Any = None
    cause: Any = None
    error_path: Any = None
    cause_path: Any = None
    # Parallel
    branches: tuple[Graph, ...] = ()
    # Map
    processor: Graph | None = None
    distributed: bool = False
    items_path: Any = DEFAULT
    items: Any = None
    item_selector: Any = None
    max_concurrency: Any = 0
    tolerated_failure_count: Any = None
    tolerated_failure_percentage: Any = None
    label: str | None = None
    item_reader: Any = None
    result_writer: Any = None
    item_batcher: Any = None
    #: False when nothing in the state can read the context object (``$$``, ``$states``),
    #: so the interpreter need not build it.
    uses_context: bool = True
    #: Fields AWS accepts that this engine parses but does not run (named in errors).
    unsupported: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Graph:
    """A set of states with a start: the machine itself, a Parallel branch or a Map processor."""

    start_at: str
    states: dict[str, State]
    query_language: QueryLanguage = "JSONPath"


@dataclass(frozen=True, slots=True)
class StateMachineModel:
    """A parsed, validated state machine."""

    graph: Graph
    definition: dict[str, Any]
    comment: str | None = None
    timeout_seconds: int | None = None
    version: str | None = None
    query_language: QueryLanguage = "JSONPath"
    #: Integration patterns used anywhere (for Express checks): ``sync``, ``wait_for_task_token``.
    patterns: frozenset[str] = field(default_factory=frozenset)
    #: Location of the first Task per pattern, for the Express error message.
    pattern_locations: dict[str, str] = field(default_factory=dict)
