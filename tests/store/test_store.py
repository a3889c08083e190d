"""The Store protocol, checked on every backend with the same table of operations."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cloudlet.errors import StoreError
from cloudlet.store import Append, Delete, DeleteLog, MemoryStore, Put, SQLiteStore, TrimLog, open_store


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    s = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "state.db")
    yield s
    asyncio.run(s.close())


def run(coro):
    return asyncio.run(coro)


def test_documents_put_get_scan_delete(store):
    async def go():
        await store.write([Put("q", "b/2", {"n": 2}), Put("q", "a/1", {"n": 1}), Put("q", "b/1", [1, "x"])])
        await store.write([Put("other", "b/0", None)])
        assert await store.get("q", "a/1") == {"n": 1}
        assert await store.get("q", "zz") is None
        assert [k for k, _ in await store.scan("q")] == ["a/1", "b/1", "b/2"]
        assert await store.scan("q", "b/") == [("b/1", [1, "x"]), ("b/2", {"n": 2})]
        assert [k for k, _ in await store.scan("q", "b/", start_after="b/1")] == ["b/2"]
        assert [k for k, _ in await store.scan("q", limit=2)] == ["a/1", "b/1"]
        await store.write([Put("q", "a/1", {"n": 10}), Delete("q", "b/1"), Delete("q", "missing")])
        assert await store.scan("q") == [("a/1", {"n": 10}), ("b/2", {"n": 2})]

    run(go())


def test_logs_append_read_trim_delete(store):
    async def go():
        await store.write([Append("h", "exec-1", i, {"id": i}) for i in range(1, 6)])
        await store.write([Append("h", "exec-2", 1, {"id": 1})])
        assert [s for s, _ in await store.read_log("h", "exec-1")] == [1, 2, 3, 4, 5]
        assert [s for s, _ in await store.read_log("h", "exec-1", after=3)] == [4, 5]
        assert [s for s, _ in await store.read_log("h", "exec-1", reverse=True, limit=2)] == [5, 4]
        assert await store.streams("h") == ["exec-1", "exec-2"]
        await store.write([TrimLog("h", "exec-1", 3), DeleteLog("h", "exec-2")])
        assert [s for s, _ in await store.read_log("h", "exec-1")] == [3, 4, 5]
        assert await store.streams("h") == ["exec-1"]

    run(go())


def test_failed_batch_changes_nothing(store):
    async def go():
        await store.write([Append("h", "s", 1, "first")])
        with pytest.raises(StoreError):
            await store.write([Put("d", "k", 1), Append("h", "s", 1, "again")])
        assert await store.get("d", "k") is None
        assert await store.read_log("h", "s") == [(1, "first")]

    run(go())


def test_concurrent_writers_share_commits(tmp_path):
    async def go():
        store = SQLiteStore(tmp_path / "s.db")
        await asyncio.gather(*(store.write([Put("n", f"{i:05d}", i)]) for i in range(2000)))
        assert len(await store.scan("n")) == 2000
        await store.close()

    run(go())


def test_sequential_writes_commit_inline_and_keep_the_wal_checkpointed(tmp_path):
    """One caller's writes commit on the loop thread or the writer thread; the WAL stays small."""

    async def go():
        store = SQLiteStore(tmp_path / "s.db")
        for i in range(3000):
            await store.write([Put("n", f"{i:05d}", {"body": "x" * 300})])
        await asyncio.sleep(0.2)  # let the writer thread run the checkpoint it was asked for
        wal = os.path.getsize(tmp_path / "s.db-wal")
        assert len(await store.scan("n")) == 3000
        with pytest.raises(StoreError):  # a failing write changes nothing, inline or not
            await store.write([Put("d", "k", 1), Append("h", "s", 1, "a"), Append("h", "s", 1, "b")])
        assert await store.get("d", "k") is None
        await store.close()
        return wal

    # 3000 such commits make a WAL of ~24 MB without checkpoints (~1.7 MB with them).
    assert run(go()) < 8 * 1024 * 1024


def test_a_document_that_cannot_be_encoded_fails_only_its_own_write(tmp_path):
    async def go():
        store = SQLiteStore(tmp_path / "s.db")
        results = await asyncio.gather(
            *(store.write([Put("n", f"{i}", object() if i == 3 else i)]) for i in range(6)),
            return_exceptions=True,
        )
        assert isinstance(results[3], StoreError)
        assert [r for i, r in enumerate(results) if i != 3] == [None] * 5
        with pytest.raises(StoreError):  # alone (committed inline when the writer is idle)
            await store.write([Put("n", "x", object())])
        assert sorted(k for k, _ in await store.scan("n")) == ["0", "1", "2", "4", "5"]
        await store.close()

    run(go())


def test_open_store_urls(tmp_path):
    assert isinstance(open_store("memory:"), MemoryStore)
    s = open_store(f"sqlite:///{tmp_path}/a.db")
    assert isinstance(s, SQLiteStore) and Path(s.path) == tmp_path / "a.db"
    run(s.close())
    with pytest.raises(StoreError, match="PostgreSQL"):
        open_store("postgresql://localhost/test")


@pytest.mark.integration
def test_acknowledged_writes_survive_sigkill(tmp_path):
    """A process killed with SIGKILL right after writes were acknowledged loses none of them."""
    db = tmp_path / "k.db"
    script = textwrap.dedent(f"""
        import asyncio, os, signal, sys
        from cloudlet.store import SQLiteStore, Put
        async def main():
            s = SQLiteStore({str(db)!r})
            for i in range(500):
                await s.write([Put("n", f"{{i:05d}}", i)])
                if i == 499:
                    sys.stdout.write("acked\\n"); sys.stdout.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
        asyncio.run(main())
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and "acked" in proc.stdout

    async def check():
        s = SQLiteStore(db)
        assert len(await s.scan("n")) == 500
        await s.close()

    run(check())
    assert os.path.exists(db)
