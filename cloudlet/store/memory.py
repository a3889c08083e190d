"""An in-memory ``Store`` for unit tests and Express-only use: same semantics, no durability."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import orjson

from cloudlet.errors import StoreError
from cloudlet.store.base import Append, Delete, DeleteLog, Op, Put, TrimLog


class MemoryStore:
    """Documents and logs in dicts. Values are copied through JSON so callers cannot alias them."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[str, bytes]] = {}
        self._keys: dict[str, list[str]] = {}
        self._logs: dict[tuple[str, str], dict[int, bytes]] = {}

    async def write(self, ops: Sequence[Op]) -> None:
        # Validate appends first so a failing batch changes nothing (atomicity).
        pending: set[tuple[str, str, int]] = set()
        for op in ops:
            if isinstance(op, Append):
                ident = (op.namespace, op.stream, op.seq)
                if op.seq in self._logs.get((op.namespace, op.stream), {}) or ident in pending:
                    raise StoreError(f"log entry {op.namespace}/{op.stream}/{op.seq} exists already")
                pending.add(ident)
        for op in ops:
            if isinstance(op, Put):
                docs = self._docs.setdefault(op.namespace, {})
                if op.key not in docs:
                    bisect.insort(self._keys.setdefault(op.namespace, []), op.key)
                docs[op.key] = orjson.dumps(op.doc)
            elif isinstance(op, Delete):
                docs = self._docs.get(op.namespace, {})
                if docs.pop(op.key, None) is not None:
                    keys = self._keys[op.namespace]
                    del keys[bisect.bisect_left(keys, op.key)]
            elif isinstance(op, Append):
                self._logs.setdefault((op.namespace, op.stream), {})[op.seq] = orjson.dumps(op.doc)
            elif isinstance(op, DeleteLog):
                self._logs.pop((op.namespace, op.stream), None)
            elif isinstance(op, TrimLog):
                log = self._logs.get((op.namespace, op.stream), {})
                for seq in [s for s in log if s < op.before]:
                    del log[seq]

    async def get(self, namespace: str, key: str) -> Any | None:
        raw = self._docs.get(namespace, {}).get(key)
        return None if raw is None else orjson.loads(raw)

    async def scan(
        self, namespace: str, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        keys = self._keys.get(namespace, [])
        i = bisect.bisect_left(keys, prefix)
        if start_after is not None:
            i = max(i, bisect.bisect_right(keys, start_after))
        out: list[tuple[str, Any]] = []
        docs = self._docs[namespace] if keys else {}
        while i < len(keys) and keys[i].startswith(prefix) and (limit is None or len(out) < limit):
            out.append((keys[i], orjson.loads(docs[keys[i]])))
            i += 1
        return out

    async def read_log(
        self,
        namespace: str,
        stream: str,
        *,
        after: int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[int, Any]]:
        log = self._logs.get((namespace, stream), {})
        seqs = sorted((s for s in log if after is None or s > after), reverse=reverse)
        if limit is not None:
            seqs = seqs[:limit]
        return [(s, orjson.loads(log[s])) for s in seqs]

    async def streams(self, namespace: str, prefix: str = "") -> list[str]:
        return sorted(
            s for (ns, s), log in self._logs.items() if ns == namespace and log and s.startswith(prefix)
        )

    async def close(self) -> None:
        return None
