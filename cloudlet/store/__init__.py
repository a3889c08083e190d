"""Durable state: the only place state lives.

A ``Store`` holds two kinds of records, enough for every service:

* **documents**: JSON values under ``(namespace, key)``, ordered by key for prefix scans
  (state machines, queues' messages, rules, function configurations, ...);
* **logs**: append-only JSON entries under ``(namespace, stream, seq)`` (execution
  histories, stream shards, archives).

Writes are batches of operations, atomic and durable when ``write`` returns. The SQLite
backend group-commits: a writer thread commits as soon as it is idle, batching whatever
arrived meanwhile. Services keep hot indexes in memory and rebuild them from the store on
start, so a process killed with SIGKILL loses nothing that a ``write`` acknowledged.
"""

from cloudlet.store.base import Append, Delete, DeleteLog, Op, Put, Store, TrimLog
from cloudlet.store.memory import MemoryStore
from cloudlet.store.sqlite import SQLiteStore

__all__ = [
    "Append",
    "Delete",
    "DeleteLog",
    "MemoryStore",
    "Op",
    "Put",
    "SQLiteStore",
    "Store",
    "TrimLog",
    "open_store",
]


def open_store(url: str) -> Store:
    """Open a store from a URL: ``memory:`` or ``sqlite:///path/to/file.db`` (or a bare path)."""
    if url in ("memory:", ":memory:"):
        return MemoryStore()
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///") :])  # sqlite:///rel/path, sqlite:////abs/path
    if url.startswith(("postgres://", "postgresql://")):
        from cloudlet.errors import StoreError

        raise StoreError("The PostgreSQL store backend is not implemented yet; use SQLite (the default).")
    return SQLiteStore(url)
