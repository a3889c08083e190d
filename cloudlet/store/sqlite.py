"""SQLite (WAL) backend with group commit: the embedded default, nothing to install.

One write connection, used by whoever holds its lock. When the writer thread is idle and
nothing is queued, ``write`` commits right on the event loop thread (a small WAL commit with
``synchronous=NORMAL`` takes ~20-30 us, a thread hand-off ~100 us more). It does so only while
the loop has no other callbacks ready to run and at most ``_INLINE_BUDGET`` times per
millisecond, so writes arriving together (a busy server) and long runs of writes still queue
for the writer thread, which takes everything queued, applies it in one transaction and commits
(group commit). Either way a write returns only after its COMMIT, so it survives kill -9.

WAL checkpoints (which fsync) never run inline: automatic checkpointing is off and the writer
thread checkpoints after every ``_CHECKPOINT_EVERY`` commits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from cloudlet.errors import StoreError
from cloudlet.store.base import Append, Delete, DeleteLog, Op, Put, TrimLog

log = logging.getLogger(__name__)

_STOP = object()
_CHECKPOINT = object()
_CHECKPOINT_EVERY = 200  # commits between WAL checkpoints (a small commit adds a few pages)
_INLINE_BUDGET = 16  # inline commits per millisecond (~0.5 ms of loop time); then the writer thread

# What the writer thread calls with each queued write's outcome (None: committed).
_Settle = Callable[[BaseException | None], None]


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
        self._conn_lock = threading.Lock()  # whoever holds it may use the write connection
        self._state_lock = threading.Lock()  # guards the two counters below
        self._pending = 0  # writes queued for the writer thread and not yet committed
        self._since_checkpoint = 0  # commits since the last WAL checkpoint
        self._inline_window = 0.0  # start (time.monotonic()) of the current millisecond window
        self._inline_count = 0  # inline commits in that window
        self._closed = False
        self._thread = threading.Thread(target=self._run_writer, name="cloudlet-store-writer", daemon=True)
        self._thread.start()

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the writer thread checkpoints, off the loop
        return conn

    # -- writes -----------------------------------------------------------------------------
    async def write(self, ops: Sequence[Op]) -> None:
        if not ops:
            return
        if self._closed:
            raise StoreError("store is closed")
        loop = asyncio.get_running_loop()
        # asyncio's loop keeps its ready callbacks in ``_ready``: others waiting means a busy
        # loop, where writes had better share a group commit (other loops: the budget alone).
        if not self._pending and not getattr(loop, "_ready", None) and self._inline_allowed():
            if self._conn_lock.acquire(blocking=False):
                try:
                    if not self._pending:  # re-checked under the lock: queued writes go first
                        self._inline_count += 1
                        error = self._commit(self._writer_conn, [list(ops)])[0]
                        if error is not None:
                            raise error
                        return
                finally:
                    self._conn_lock.release()
        waiter: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:  # on the writer thread
            loop.call_soon_threadsafe(_settle_waiter, waiter, error)

        self._enqueue(list(ops), settle)
        await waiter

    def _inline_allowed(self) -> bool:
        now = time.monotonic()
        if now - self._inline_window > 0.001:
            self._inline_window = now
            self._inline_count = 0
        return self._inline_count < _INLINE_BUDGET

    def submit(self, ops: Sequence[Op]) -> Future[None]:
        """Queue ``ops`` from any thread; the future resolves once they are committed."""
        if self._closed:
            raise StoreError("store is closed")
        fut: Future[None] = Future()

        def settle(error: BaseException | None) -> None:
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)

        self._enqueue(list(ops), settle)
        return fut

    def _enqueue(self, ops: list[Op], settle: _Settle) -> None:
        with self._state_lock:
            self._pending += 1
        self._queue.put((ops, settle))

    def _run_writer(self) -> None:
        conn = self._writer_conn
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [] if item is _CHECKPOINT else [item]
            stop = False
            while True:  # take whatever arrived meanwhile: one commit for all of it
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                if more is not _CHECKPOINT:
                    batch.append(more)
            with self._conn_lock:
                if batch:
                    errors = self._commit(conn, [ops for ops, _ in batch])
                    with self._state_lock:
                        self._pending -= len(batch)
                else:
                    errors = []
                checkpoint = self._since_checkpoint >= _CHECKPOINT_EVERY
                if checkpoint:
                    self._since_checkpoint = 0
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    except sqlite3.Error as exc:  # the WAL keeps the data; try again later
                        log.warning("WAL checkpoint failed: %s", exc)
            for (_, settle), error in zip(batch, errors, strict=True):
                settle(error)
            if stop:
                return

    def _commit(self, conn: sqlite3.Connection, batch: list[list[Op]]) -> list[StoreError | None]:
        """Apply each write of ``batch`` (all or nothing per write) and commit once.

        Returns, per write, None when it is committed or the error that left it out. Called
        with ``_conn_lock`` held.
        """
        errors: list[StoreError | None] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ops in batch:
                if len(batch) == 1:  # a lone write is its own transaction: no savepoint needed
                    try:
                        for op in ops:
                            _apply(conn, op)
                    except (sqlite3.Error, TypeError) as exc:  # TypeError: a document orjson refuses
                        conn.execute("ROLLBACK")
                        return [StoreError(f"store write failed: {exc}")]
                    errors.append(None)
                    continue
                conn.execute("SAVEPOINT one")
                try:
                    for op in ops:
                        _apply(conn, op)
                except (sqlite3.Error, TypeError) as exc:  # this write only; the others stand
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                    errors.append(StoreError(f"store write failed: {exc}"))
                    continue
                conn.execute("RELEASE one")
                errors.append(None)
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: nothing in the batch is durable
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            failed = StoreError(f"store commit failed: {exc}")
            out: list[StoreError | None] = [error or failed for error in errors]
            return out + [failed] * (len(batch) - len(errors))
        with self._state_lock:
            self._since_checkpoint += 1
            due = (
                self._since_checkpoint == _CHECKPOINT_EVERY and threading.current_thread() is not self._thread
            )
        if due:  # an inline commit filled the WAL: the writer thread checkpoints it
            self._queue.put(_CHECKPOINT)
        return errors

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


def _settle_waiter(waiter: asyncio.Future[None], error: BaseException | None) -> None:
    if waiter.done():  # the awaiting task was cancelled; the write stands or fails regardless
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)


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
