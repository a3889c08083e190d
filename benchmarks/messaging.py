"""Messaging throughput: queues (library and boto3, cloudlet vs moto) and streams, one JSON document.

    python benchmarks/messaging.py [--messages 10000] [--records 10000] [--repeat 3] [--no-http]

* ``library.sqs``: in-process ``Queues`` on a SQLite store (the default backend) with the real
  clock: send ``--messages`` messages with SendMessageBatch (10 per call), receive them with
  ReceiveMessage (MaxNumberOfMessages=10) and delete them with DeleteMessageBatch (10 per call).
* ``library.kinesis``: in-process ``Streams`` (4 shards, SQLite): PutRecords of ``--records``
  records in calls of 500, then GetRecords (Limit 10000) of every shard from TRIM_HORIZON.
* ``boto3.sqs``: the same SQS workload through boto3, against cloudlet's HTTP API (a subprocess
  serving ``Queues`` over SQLite) and against moto's server (``python -m moto.server``), in the
  same run; reported with the ratio cloudlet/moto. moto runs ``--moto-messages`` (default 1000)
  because its receive slows down as the queue grows, so a smaller queue favours moto. Skipped,
  and said so, when the API is missing.

Every figure is messages (or records) per second: mean and stddev over ``--repeat`` runs after
one warm-up run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from servers import running


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 1),
        "stddev": round(statistics.stdev(values), 1) if len(values) > 1 else 0.0,
        "runs": len(values),
    }


# -- library level ------------------------------------------------------------------------------
async def _library_sqs_once(data_dir: Path, messages: int, run: int) -> dict[str, float]:
    from cloudlet.clock import SystemClock
    from cloudlet.config import ServiceConfig
    from cloudlet.queues import Queues
    from cloudlet.router import Router
    from cloudlet.store import SQLiteStore

    store = SQLiteStore(data_dir / f"sqs-{run}.db")
    sqs = Queues(store=store, router=Router(), clock=SystemClock(), config=ServiceConfig())
    await sqs.start()
    url = (await sqs.create_queue(QueueName="bench"))["QueueUrl"]
    body = "x" * 100
    started = time.perf_counter()
    for start in range(0, messages, 10):
        entries = [{"Id": str(i), "MessageBody": body} for i in range(min(10, messages - start))]
        await sqs.send_message_batch(QueueUrl=url, Entries=entries)
    sent = time.perf_counter()
    handles: list[str] = []
    while len(handles) < messages:
        got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)).get("Messages", [])
        if not got:
            raise RuntimeError("queue ran dry before every message was received")
        handles += [m["ReceiptHandle"] for m in got]
    received = time.perf_counter()
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        await sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
        )
    deleted = time.perf_counter()
    await sqs.stop()
    await store.close()
    return {
        "send": messages / (sent - started),
        "receive": messages / (received - sent),
        "delete": messages / (deleted - received),
        "send_receive_delete": messages / (deleted - started),
    }


async def _library_kinesis_once(data_dir: Path, records: int, run: int) -> dict[str, float]:
    from cloudlet.clock import SystemClock
    from cloudlet.config import ServiceConfig
    from cloudlet.router import Router
    from cloudlet.store import SQLiteStore
    from cloudlet.streams import Streams

    store = SQLiteStore(data_dir / f"kinesis-{run}.db")
    kinesis = Streams(store=store, router=Router(), clock=SystemClock(), config=ServiceConfig())
    await kinesis.start()
    await kinesis.create_stream(StreamName="bench", ShardCount=4)
    data = b"x" * 100
    started = time.perf_counter()
    for start in range(0, records, 500):
        batch = [{"Data": data, "PartitionKey": f"k{start + i}"} for i in range(min(500, records - start))]
        await kinesis.put_records(StreamName="bench", Records=batch)
    put = time.perf_counter()
    read = 0
    shards = (await kinesis.list_shards(StreamName="bench"))["Shards"]
    for shard in shards:
        it = (
            await kinesis.get_shard_iterator(
                StreamName="bench", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )
        )["ShardIterator"]
        while True:
            page = await kinesis.get_records(ShardIterator=it, Limit=10_000)
            read += len(page["Records"])
            it = page["NextShardIterator"]
            if not page["Records"]:
                break
    got = time.perf_counter()
    await kinesis.stop()
    await store.close()
    if read != records:
        raise RuntimeError(f"read {read} records, put {records}")
    return {"put_records": records / (put - started), "get_records": records / (got - put)}


def _library(messages: int, records: int, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        sqs_runs = [asyncio.run(_library_sqs_once(data_dir, messages, i)) for i in range(repeat + 1)][1:]
        kinesis_runs = [asyncio.run(_library_kinesis_once(data_dir, records, i)) for i in range(repeat + 1)][
            1:
        ]
    out["sqs"] = {
        "messages": messages,
        "batch": 10,
        "store": "sqlite",
        **{k: _summary([r[k] for r in sqs_runs]) for k in sqs_runs[0]},
    }
    out["kinesis"] = {
        "records": records,
        "shards": 4,
        "store": "sqlite",
        **{k: _summary([r[k] for r in kinesis_runs]) for k in kinesis_runs[0]},
    }
    return out


# -- through boto3 ---------------------------------------------------------------------------------
def _boto3_once(url: str, messages: int, run: int) -> dict[str, float]:
    import boto3
    from botocore.config import Config

    sqs = boto3.client(
        "sqs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}),
    )
    queue = sqs.create_queue(QueueName=f"bench-{run}")["QueueUrl"]
    body = "x" * 100
    started = time.perf_counter()
    for start in range(0, messages, 10):
        entries = [{"Id": str(i), "MessageBody": body} for i in range(min(10, messages - start))]
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    sent = time.perf_counter()
    handles: list[str] = []
    empty = 0
    while len(handles) < messages and empty < 3:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        empty = 0 if got else empty + 1
        handles += [m["ReceiptHandle"] for m in got]
    received = time.perf_counter()
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        sqs.delete_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
        )
    deleted = time.perf_counter()
    sqs.close()
    if len(handles) != messages:
        raise RuntimeError(f"received {len(handles)} of {messages} messages")
    return {
        "send": messages / (sent - started),
        "receive": messages / (received - sent),
        "delete": messages / (deleted - received),
        "send_receive_delete": messages / (deleted - started),
    }


def _boto3(messages: int, moto_messages: int, repeat: int) -> dict[str, Any]:
    if importlib.util.find_spec("cloudlet.api") is None:
        return {"skipped": "cloudlet.api (the HTTP API) is not in this installation"}
    results: dict[str, Any] = {"batch": 10}
    for kind, count in (("cloudlet", messages), ("moto", moto_messages)):
        try:
            with running(kind) as url:
                runs = [_boto3_once(url, min(count, 200) if i == 0 else count, i) for i in range(repeat + 1)]
        except Exception as exc:  # report the peer that could not run instead of failing the run
            results[kind] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        runs = runs[1:]
        results[kind] = {"messages": count, **{k: _summary([r[k] for r in runs]) for k in runs[0]}}
    if "mean" in str(results.get("cloudlet")) and "mean" in str(results.get("moto")):
        results["ratio_cloudlet_over_moto"] = {
            k: round(results["cloudlet"][k]["mean"] / results["moto"][k]["mean"], 2)
            for k in results["cloudlet"]
            if isinstance(results["cloudlet"][k], dict)
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument(
        "--moto-messages",
        type=int,
        default=1_000,
        help="messages for moto's run (its receive slows down as the queue grows; fewer favours moto)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-http", action="store_true", help="skip the boto3 comparison")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "benchmark": "messaging",
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "unit": "messages or records per second (mean, stddev over runs after one warm-up)",
        "library": _library(args.messages, args.records, args.repeat),
    }
    report["boto3"] = (
        {"skipped": "--no-http"} if args.no_http else _boto3(args.messages, args.moto_messages, args.repeat)
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
