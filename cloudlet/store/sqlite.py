"""SQLite (WAL) backend with group commit: the embedded default, nothing to install.

One writer thread owns the write connection. ``write`` queues a batch and awaits it; the
writer takes everything queued, applies it in one transaction and commits as soon as it is
idle, so a single caller pays one commit per write while many callers share commits.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from cloudlet.errors import StoreError
from cloudlet.store.base import Append, Delete, DeleteLog, Op, Put, TrimLog

_STOP = object()


def migrations() -> list[tuple[int, str]]:
    """The numbered migration scripts shipped with the package, in order."""
    folder = resources.files("cloudlet.store") / "migrations"
    out = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), entry.read_text()))
    return sorted(out)


def apply_migrations(conn: sqlite3.Connection) -> None:
    """Bring ``conn``'s schema up to date, one transaction per migration."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    for version, script in migrations():
        if version in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip() and not all(
                    line.strip().startswith("--") or not line.strip() for line in statement.splitlines()
                ):
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class SQLiteStore:
    """Documents and logs in one SQLite file (WAL mode)."""

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer_conn = self._connect(synchronous)
        apply_migrations(self._writer_conn)
        self._reader = self._connect(synchronous) if self.path != ":memory:" else self._writer_conn
        self._reader_lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run_writer, name="cloudlet-store-writer", daemon=True)
        self._thread.start()

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    # -- writes -----------------------------------------------------------------------------
    async def write(self, ops: Sequence[Op]) -> None:
        if not ops:
            return
        await asyncio.wrap_future(self.submit(ops))

    def submit(self, ops: Sequence[Op]) -> Future[None]:
        """Queue ``ops`` from any thread; the future resolves once they are committed."""
        if self._closed:
            raise StoreError("store is closed")
        fut: Future[None] = Future()
        self._queue.put((list(ops), fut))
        return fut

    def _run_writer(self) -> None:
        conn = self._writer_conn
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while True:  # take whatever arrived meanwhile: one commit for all of it
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._commit(conn, batch)
            if stop:
                return

    def _commit(self, conn: sqlite3.Connection, batch: list[tuple[list[Op], Future[None]]]) -> None:
        ok: list[Future[None]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ops, fut in batch:
                conn.execute("SAVEPOINT one")
                try:
                    for op in ops:
                        _apply(conn, op)
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                    fut.set_exception(StoreError(f"store write failed: {exc}"))
                    continue
                conn.execute("RELEASE one")
                ok.append(fut)
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: nothing in the batch is durable
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for fut in ok:
                fut.set_exception(StoreError(f"store commit failed: {exc}"))
            return
        for fut in ok:
            fut.set_result(None)

    # -- reads ------------------------------------------------------------------------------
    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._reader_lock:
            return self._reader.execute(sql, params).fetchall()

    async def get(self, namespace: str, key: str) -> Any | None:
        rows = self._rows("SELECT body FROM documents WHERE namespace=? AND key=?", (namespace, key))
        return orjson.loads(rows[0][0]) if rows else None

    async def scan(
        self, namespace: str, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        sql = "SELECT key, body FROM documents WHERE namespace=? AND key >= ?"
        params: list[Any] = [namespace, prefix]
        if prefix:
            sql += " AND substr(key, 1, ?) = ?"
            params += [len(prefix), prefix]
        if start_after is not None:
            sql += " AND key > ?"
            params.append(start_after)
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [(k, orjson.loads(b)) for k, b in self._rows(sql, tuple(params))]

    async def read_log(
        self,
        namespace: str,
        stream: str,
        *,
        after: int | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[int, Any]]:
        sql = "SELECT seq, body FROM log_entries WHERE namespace=? AND stream=?"
        params: list[Any] = [namespace, stream]
        if after is not None:
            sql += " AND seq > ?"
            params.append(after)
        sql += " ORDER BY seq DESC" if reverse else " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [(s, orjson.loads(b)) for s, b in self._rows(sql, tuple(params))]

    async def streams(self, namespace: str, prefix: str = "") -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT stream FROM log_entries"
            " WHERE namespace=? AND substr(stream, 1, ?) = ? ORDER BY stream",
            (namespace, len(prefix), prefix),
        )
        return [r[0] for r in rows]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._writer_conn.close()
        if self._reader is not self._writer_conn:
            self._reader.close()


def _apply(conn: sqlite3.Connection, op: Op) -> None:
    if isinstance(op, Put):
        conn.execute(
            "INSERT INTO documents(namespace, key, body) VALUES (?, ?, ?) "
            "ON CONFLICT(namespace, key) DO UPDATE SET body=excluded.body",
            (op.namespace, op.key, orjson.dumps(op.doc)),
        )
    elif isinstance(op, Delete):
        conn.execute("DELETE FROM documents WHERE namespace=? AND key=?", (op.namespace, op.key))
    elif isinstance(op, Append):
        conn.execute(
            "INSERT INTO log_entries(namespace, stream, seq, body) VALUES (?, ?, ?, ?)",
            (op.namespace, op.stream, op.seq, orjson.dumps(op.doc)),
        )
    elif isinstance(op, DeleteLog):
        conn.execute("DELETE FROM log_entries WHERE namespace=? AND stream=?", (op.namespace, op.stream))
    elif isinstance(op, TrimLog):
        conn.execute(
            "DELETE FROM log_entries WHERE namespace=? AND stream=? AND seq < ?",
            (op.namespace, op.stream, op.before),
        )
    else:  # pragma: no cover - the Op union is closed
        raise StoreError(f"unknown store operation {op!r}")
