"""Snapshot (SnapStart) starts: init once, fork per environment, runtime hooks, fresh randomness."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from tests.functions.conftest import create

pytestmark = pytest.mark.integration

SNAP = {"ApplyOn": "PublishedVersions"}


def _payload(response: dict) -> dict:
    return json.loads(response["Payload"])


def test_environments_fork_from_one_init(run_service):
    async def body(f):
        await create(f, "snap", "app.handler", fixture="snap", SnapStart=SNAP)
        results = [
            _payload(r) for r in await asyncio.gather(*[f.invoke(FunctionName="snap") for _ in range(4)])
        ]
        init_pids = {r["init_pid"] for r in results}
        pids = {r["pid"] for r in results}
        assert len(init_pids) == 1 and len(pids) == 4  # one init, four environments
        assert init_pids.isdisjoint(pids)  # none of them is the snapshot process itself
        assert all(r["init_type"] == "snap-start" for r in results)
        assert len({r["stream"] for r in results}) == 4  # one log stream per environment
        assert len({r["init_random"] for r in results}) == 1  # state from init is shared ...
        assert len({r["random"] for r in results}) == 4  # ... but random is reseeded after restore
        assert len({r["uuid"] for r in results}) == 4

    run_service(body)


def test_runtime_hooks(run_service):
    async def body(f):
        await create(f, "hooks", "app.handler", fixture="snap", SnapStart=SNAP)
        first = _payload(await f.invoke(FunctionName="hooks"))
        # before-snapshot hooks run once, in reverse order of registration
        assert first["order"] == ["second", "first"]
        # after-restore hooks run in the restored environment itself
        assert first["restored_in"] == first["pid"] and first["restores"] == 1
        again = _payload(await f.invoke(FunctionName="hooks"))
        assert again["pid"] == first["pid"] and again["restores"] == 1  # warm: not restored again

    run_service(body)


def test_two_restored_environments_differ_in_randomness(run_service):
    async def body(f):
        await create(f, "rand", "app.randomness", SnapStart=SNAP)
        a, b = await asyncio.gather(f.invoke(FunctionName="rand"), f.invoke(FunctionName="rand"))
        a, b = _payload(a), _payload(b)
        assert a["random"] != b["random"]
        assert a["uuid"] != b["uuid"]

    run_service(body)


def test_restore_duration_reported(run_service):
    async def body(f):
        await create(f, "r", "app.echo", SnapStart=SNAP)
        cold = base64.b64decode((await f.invoke(FunctionName="r", LogType="Tail"))["LogResult"]).decode()
        assert "RESTORE_START" in cold and "RESTORE_REPORT Restore Duration:" in cold
        report = next(line for line in cold.splitlines() if line.startswith("REPORT"))
        assert "\tRestore Duration: " in report and "\tBilled Restore Duration: " in report
        assert "Init Duration" not in report
        warm = base64.b64decode((await f.invoke(FunctionName="r", LogType="Tail"))["LogResult"]).decode()
        assert "Restore Duration" not in warm

    run_service(body)


def test_publish_takes_snapshot(run_service):
    async def body(f):
        await create(f, "p", "app.handler", fixture="snap", SnapStart=SNAP)
        version = await f.publish_version(FunctionName="p")
        assert version["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
        pool = next(p for key, p in f.host.pools.items() if key[:2] == ("p", "1"))
        assert pool.snapshot is not None  # taken at publish, before any invocation
        result = _payload(await f.invoke(FunctionName="p", Qualifier="1"))
        assert result["init_pid"] == pool.snapshot.env.pid

    run_service(body)


def test_snapshot_init_error(run_service):
    async def body(f):
        await create(f, "bad", "app.handler", fixture="initfail", SnapStart=SNAP)
        response = await f.invoke(FunctionName="bad")
        assert response["FunctionError"] == "Unhandled"
        assert _payload(response)["errorType"] == "RuntimeError"

    run_service(body)


def test_snapshots_off_runs_init_per_environment(run_service):
    async def body(f):
        await create(f, "fresh", "app.handler", fixture="snap")
        results = [
            _payload(r) for r in await asyncio.gather(*[f.invoke(FunctionName="fresh") for _ in range(2)])
        ]
        assert {r["init_pid"] for r in results} == {r["pid"] for r in results}
        assert all(r["order"] == [] and r["restores"] == 0 for r in results)  # no hooks without snapshots
        assert all(r["init_type"] == "on-demand" for r in results)

    run_service(body)


def test_cold_starts_spread_over_forkers(run_service):
    async def body(f):
        await create(f, "spread", "app.handler", fixture="snap", SnapStart=SNAP)
        first = _payload(await f.invoke(FunctionName="spread"))
        burst = await asyncio.gather(
            *[f.invoke(FunctionName="spread", Payload=b'{"hold": 0.3}') for _ in range(6)]
        )
        parents = {_payload(r)["parent"] for r in burst}
        assert len(parents) == 2  # the snapshot process and its copy both forked environments
        assert first["init_pid"] in parents
        assert all(_payload(r)["init_pid"] == first["init_pid"] for r in burst)  # one init for all

    run_service(body, snapshot_forkers=2)
