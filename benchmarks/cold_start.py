"""Function cold starts with and without snapshots, warm latency, and 500 environments at once.

    python benchmarks/cold_start.py [--repeat 5] [--warm 2000] [--environments 500]

The function's init imports numpy and pandas and builds a small DataFrame. Measured through
``Functions.invoke`` (request to response, in process, memory store):

* cold start with snapshots off (a new interpreter runs init) and on (an environment forked
  from the snapshot process), mean ± stddev over ``--repeat`` cold starts, and their ratio
  (goal: snapshot <= 5% of no-snapshot);
* warm invoke latency p50/p99 and warm invocations/s (one caller; and 8 concurrent callers);
* ``--environments`` invocations fired at once at a snapshot function whose handler waits on a
  gate (a FIFO) until all are running, so each needs its own environment: seconds until every
  environment ran its handler (goal: 500 in < 10 s on 2 cores), and the environments' memory
  (RSS, PSS, private per environment; the snapshot processes') sampled while all are alive.

The peer figure is a fresh ``python -c "import numpy, pandas"`` (what any process-per-cold-start
runner pays before the handler can run), from the same run. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.functions import Functions
from cloudlet.router import Router
from cloudlet.store import MemoryStore

HANDLER = """
import time
import numpy
import pandas

FRAME = pandas.DataFrame({"x": numpy.arange(100), "y": numpy.arange(100) * 2.0})


def handler(event, context):
    started = time.time()
    if event.get("gate"):  # a FIFO: blocks (no CPU) until the benchmark opens and closes it
        with open(event["gate"]) as gate:
            gate.read()
    return {"sum": float(FRAME["y"].sum()), "started": started}
"""


def _stats(samples: list[float]) -> dict[str, Any]:
    return {
        "mean": round(statistics.fmean(samples), 3),
        "stdev": round(statistics.stdev(samples), 3) if len(samples) > 1 else 0.0,
        "n": len(samples),
    }


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _memory_kb(pid: int) -> dict[str, int]:
    out = {"Rss": 0, "Pss": 0, "Private_Clean": 0, "Private_Dirty": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in out:
                    out[key] = int(rest.split()[0])
    except OSError:
        pass
    return out


def _peer_import_ms(repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy, pandas"], check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _cold_starts(service: Functions, name: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        for pool in service.host.pools.values():
            pool.reap(-1.0)  # no warm environment left; a snapshot (if any) stays
        started = time.perf_counter()
        response = await service.invoke(FunctionName=name, Payload=b"{}")
        samples.append((time.perf_counter() - started) * 1000)
        assert "FunctionError" not in response, response["Payload"]
    return samples


async def _warm(service: Functions, name: str, count: int) -> dict[str, Any]:
    for _ in range(50):
        await service.invoke(FunctionName=name, Payload=b"{}")
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        await service.invoke(FunctionName=name, Payload=b"{}")
        latencies.append((time.perf_counter() - t0) * 1000)
    sequential = count / (time.perf_counter() - started)

    async def caller(n: int) -> None:
        for _ in range(n):
            await service.invoke(FunctionName=name, Payload=b"{}")

    started = time.perf_counter()
    await asyncio.gather(*[caller(count // 8) for _ in range(8)])
    concurrent = (count // 8 * 8) / (time.perf_counter() - started)
    return {
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "invocations_per_s_1_caller": round(sequential, 1),
        "invocations_per_s_8_callers": round(concurrent, 1),
    }


async def _many(service: Functions, name: str, count: int, gate: Path) -> dict[str, Any]:
    await service.invoke(FunctionName=name, Payload=b"{}")  # the snapshot exists
    for pool in service.host.pools.values():
        pool.reap(-1.0)
    pool = next(p for p in service.host.pools.values() if p.spec.name == name)
    sample: dict[str, Any] = {}
    os.mkfifo(gate)

    async def sampler() -> None:
        """Once every environment holds an invocation, measure memory, then open the gate."""
        while sum(1 for env in pool.envs if env.state == "busy") < count:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        pids = [env.pid for env in pool.envs if env.pid is not None]
        mems = [_memory_kb(pid) for pid in pids]
        snaps = [_memory_kb(f.env.pid) for f in pool.forkers if f.env.pid is not None]
        sample.update(
            environments=len(pids),
            rss_mb_total=round(sum(m["Rss"] for m in mems) / 1024, 1),
            pss_mb_total=round(sum(m["Pss"] for m in mems) / 1024, 1),
            private_mb_per_env=round(
                statistics.fmean(m["Private_Clean"] + m["Private_Dirty"] for m in mems) / 1024, 2
            ),
            snapshot_processes=len(snaps),
            snapshot_rss_mb=round(snaps[0]["Rss"] / 1024, 1),
            snapshot_pss_mb_total=round(sum(m["Pss"] for m in snaps) / 1024, 1),
        )
        while True:  # release every handler waiting on the gate (and any that arrive late)
            try:
                os.close(os.open(gate, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
            await asyncio.sleep(0.01)

    sampling = asyncio.ensure_future(sampler())
    payload = json.dumps({"gate": str(gate)}).encode()
    fired = time.time()
    responses = await asyncio.gather(
        *[service.invoke(FunctionName=name, Payload=payload) for _ in range(count)], return_exceptions=True
    )
    sampling.cancel()
    failed = [r for r in responses if isinstance(r, BaseException)]
    answered = [r for r in responses if not isinstance(r, BaseException)]
    if failed:
        sample["first_failure"] = repr(failed[0])
        sample["failures"] = len(failed)
    errors = [r for r in answered if "FunctionError" in r]
    if errors:
        sample["first_error"] = errors[0]["Payload"].decode()[:300]
    started = [json.loads(r["Payload"])["started"] for r in answered if "FunctionError" not in r]
    return {
        "count": count,
        "errors": len(errors),
        "seconds_until_all_running": round(max(started) - fired, 3),
        "goal_seconds": 10.0,
        **sample,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="cloudlet-bench-"))
    code = work / "code"
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    service = Functions(
        store=MemoryStore(),
        router=Router(),
        clock=SystemClock(),
        config=ServiceConfig(data_dir=work / "data"),
        concurrency_limit=max(1000, args.environments + 100),
    )
    await service.start()
    try:
        common = {
            "Runtime": f"python{sys.version_info[0]}.{sys.version_info[1]}",
            "Handler": "app.handler",
            "Code": {"S3Bucket": "local", "S3Key": str(code)},
            "MemorySize": 1024,
            "Timeout": 60,
        }
        await service.create_function(FunctionName="plain", **common)
        await service.create_function(
            FunctionName="snap", SnapStart={"ApplyOn": "PublishedVersions"}, **common
        )
        await service.invoke(FunctionName="snap", Payload=b"{}")  # takes the snapshot (init once)
        plain = await _cold_starts(service, "plain", args.repeat)
        snap = await _cold_starts(service, "snap", args.repeat)
        warm = await _warm(service, "snap", args.warm)
        many = await _many(service, "snap", args.environments, work / "gate")
    finally:
        await service.stop()
    peer = _peer_import_ms(args.repeat)
    return {
        "benchmark": "functions cold start (numpy + pandas init)",
        "machine_cores": os.cpu_count(),
        "cold_start_ms": {
            "no_snapshot": _stats(plain),
            "snapshot": _stats(snap),
            "ratio_snapshot_to_no_snapshot": round(statistics.fmean(snap) / statistics.fmean(plain), 4),
            "goal_ratio": 0.05,
            "peer_new_interpreter_import_numpy_pandas_ms": _stats(peer),
        },
        "warm": warm,
        "environments_at_once": many,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--environments", type=int, default=500)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
