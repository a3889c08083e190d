"""The ``Store`` protocol and the write operations every backend understands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Put:
    """Create or replace the document at ``(namespace, key)``."""

    namespace: str
    key: str
    doc: Any


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove the document at ``(namespace, key)`` if it exists."""

    namespace: str
    key: str


@dataclass(frozen=True, slots=True)
class Append:
    """Append ``doc`` to log ``(namespace, stream)`` at ``seq``; a taken ``seq`` is an error."""

    namespace: str
    stream: str
    seq: int
    doc: Any


@dataclass(frozen=True, slots=True)
class DeleteLog:
    """Remove every entry of log ``(namespace, stream)``."""

    namespace: str
    stream: str


@dataclass(frozen=True, slots=True)
class TrimLog:
    """Remove entries of log ``(namespace, stream)`` whose seq is below ``before``."""

    namespace: str
    stream: str
    before: int


Op = Put | Delete | Append | DeleteLog | TrimLog


class Store(Protocol):
    """Durable documents and logs. Implementations: SQLiteStore, MemoryStore (PostgreSQL later)."""

    async def write(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` atomically; durable (survives kill -9) once this returns."""
        ...

    async def get(self, namespace: str, key: str) -> Any | None:
        """The document at ``(namespace, key)``, or None."""
        ...

    async def scan(
        self, namespace: str, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        """Documents of ``namespace`` whose key starts with ``prefix``, in key order."""
        ...

    async def read_log(
        self,
        namespace: str,
        stream: str,
        *,
        after: int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[int, Any]]:
        """Entries of a log with seq > ``after`` (or all), ordered by seq (descending if ``reverse``)."""
        ...

    async def streams(self, namespace: str, prefix: str = "") -> list[str]:
        """Names of the non-empty logs in ``namespace`` that start with ``prefix``."""
        ...

    async def close(self) -> None:
        """Flush pending writes and release resources."""
        ...
