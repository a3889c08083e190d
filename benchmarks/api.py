"""Requests per second through boto3: cloudlet's API vs moto's server, in the same run.

    python benchmarks/api.py [--requests 300] [--repeat 3]

Both servers run in their own subprocess on 127.0.0.1 (cloudlet with its real services over a
SQLite store in a temporary folder, moto as ``python -m moto.server``); one boto3 client thread
drives each workload: SQS SendMessage, ReceiveMessage and DeleteMessage (one message each),
EventBridge PutEvents (one entry, one matching rule to a queue) and Step Functions
StartSyncExecution (an Express machine with one Pass state). Prints one JSON document: per
workload the mean and stddev of requests/s over the repeats for each server, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::000000000000:role/bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an HTTP error answer means the server is up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


# -- the cloudlet server subprocess -----------------------------------------------------------
async def _serve_cloudlet(port: int, data_dir: str) -> None:
    from cloudlet.api import ApiConfig, serve
    from cloudlet.clock import SystemClock
    from cloudlet.config import ServiceConfig
    from cloudlet.router import Router
    from cloudlet.store import SQLiteStore

    router = Router()
    store = SQLiteStore(Path(data_dir) / "bench.db")
    config = ServiceConfig(endpoint_url=f"http://127.0.0.1:{port}", data_dir=Path(data_dir))
    services: list[Any] = []
    for module, name in (
        ("cloudlet.queues", "Queues"),
        ("cloudlet.events", "Events"),
        ("cloudlet.workflows", "Workflows"),
    ):
        try:
            cls = getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):
            continue
        services.append(cls(store=store, router=router, clock=SystemClock(), config=config))
    for service in services:
        await service.start()
    server = await serve(router, "127.0.0.1", port, config=ApiConfig(port=port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.close()
    for service in services:
        await service.stop()
    await store.close()


class _FloorProtocol(asyncio.Protocol):
    """Answers every request with an empty JSON document: what boto3 costs with no server work."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}"
            )


async def _serve_floor(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_FloorProtocol, "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


@contextlib.contextmanager
def _server(kind: str) -> Iterator[str]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        if kind == "cloudlet":
            command = [sys.executable, __file__, "--serve-cloudlet", str(port), data_dir]
        elif kind == "floor":
            command = [sys.executable, __file__, "--serve-floor", str(port)]
        else:
            command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url + {"cloudlet": "/_cloudlet/health", "moto": "/moto-api/"}.get(kind, "/"))
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- workloads ------------------------------------------------------------------------------
def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
    )


def _rate(count: int, fn: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    return count / (time.perf_counter() - start)


class Workloads:
    """The benchmark's resources on one server and one boto3 client per service."""

    def __init__(self, url: str, requests: int, *, setup: bool = True) -> None:
        self.url = url
        self.requests = requests
        self.sqs, self.events, self.sfn = (
            _client("sqs", url),
            _client("events", url),
            _client("stepfunctions", url),
        )
        self.queue = f"{url}/000000000000/bench"
        self.machine = "arn:aws:states:us-east-1:000000000000:stateMachine:bench"
        if setup:
            self.queue = self.sqs.create_queue(QueueName="bench")["QueueUrl"]
            target = self.sqs.create_queue(QueueName="bench-events")["QueueUrl"]
            attributes = self.sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])
            self.events.put_rule(Name="bench", EventPattern=json.dumps({"source": ["bench"]}))
            self.events.put_targets(
                Rule="bench", Targets=[{"Id": "q", "Arn": attributes["Attributes"]["QueueArn"]}]
            )
            self.machine = self.sfn.create_state_machine(
                name="bench", definition=DEFINITION, roleArn=ROLE, type="EXPRESS"
            )["stateMachineArn"]
        self.handles: list[str] = []
        entry = [{"Source": "bench", "DetailType": "tick", "Detail": '{"n": 1}'}]
        self.all: dict[str, Callable[[int], None]] = {
            "sqs.SendMessage": lambda i: self.sqs.send_message(
                QueueUrl=self.queue, MessageBody=f"message {i}"
            ),
            "sqs.ReceiveMessage": self._receive,
            "sqs.DeleteMessage": lambda i: self.sqs.delete_message(
                QueueUrl=self.queue, ReceiptHandle=self.handles[i] if i < len(self.handles) else "none"
            ),
            "events.PutEvents": lambda i: self.events.put_events(Entries=entry),
            "states.StartExecution": lambda i: self.sfn.start_execution(
                stateMachineArn=self.machine, input="{}"
            ),
            "states.StartSyncExecution": lambda i: self.sfn.start_sync_execution(
                stateMachineArn=self.machine, input="{}"
            ),
        }
        self.supported = dict(self.all)
        for name, fn in self.all.items():
            if name == "sqs.DeleteMessage":
                continue
            try:
                _rate(min(20, requests), fn)  # warm up
            except Exception as exc:  # a server that lacks the operation
                print(f"{url}: {name} unsupported: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
                del self.supported[name]
        self.rates: dict[str, list[float]] = {name: [] for name in self.all}

    def _receive(self, _: int) -> None:
        for message in self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=1).get(
            "Messages", []
        ):
            self.handles.append(message["ReceiptHandle"])

    def measure(self, name: str) -> None:
        """Time one workload once (SQS receive before delete: delete uses its receipt handles)."""
        fn = self.supported.get(name)
        if fn is None:
            return
        if name == "sqs.ReceiveMessage":
            self.handles.clear()
        self.rates[name].append(_rate(self.requests, fn))

    def close(self) -> None:
        for client in (self.sqs, self.events, self.sfn):
            client.close()


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "mean": round(statistics.fmean(values), 1),
        "median": round(statistics.median(values), 1),
        "stdev": round(statistics.stdev(values), 1) if len(values) > 1 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per workload per repeat")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve-cloudlet", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        asyncio.run(_serve_floor(args.serve_floor))
        return
    if args.serve_cloudlet:
        asyncio.run(_serve_cloudlet(int(args.serve_cloudlet[0]), args.serve_cloudlet[1]))
        return
    results: dict[str, dict[str, Any]] = {}
    with _server("cloudlet") as cloudlet_url, _server("moto") as moto_url, _server("floor") as floor_url:
        runs = {
            "cloudlet": Workloads(cloudlet_url, args.requests),
            "moto": Workloads(moto_url, args.requests),
            "boto3_floor": Workloads(floor_url, args.requests, setup=False),
        }
        # Alternate the servers workload by workload so that load from elsewhere on the
        # machine falls on all of them alike.
        for _ in range(args.repeat):
            for name in runs["cloudlet"].all:
                for run in runs.values():
                    run.measure(name)
        for kind, run in runs.items():
            run.close()
            results[kind] = {name: _summary(values) for name, values in run.rates.items()}
    ratio = {}
    for name, figure in results["cloudlet"].items():
        peer = results["moto"].get(name)
        ratio[name] = round(figure["mean"] / peer["mean"], 2) if figure and peer else None
    print(
        json.dumps(
            {
                "unit": "requests/s through one boto3 client thread",
                "requests": args.requests,
                "repeat": args.repeat,
                "cpu_count": os.cpu_count(),
                "cloudlet": results["cloudlet"],
                "moto": results["moto"],
                # The same calls against a server that does nothing: boto3's own ceiling.
                "boto3_floor": results["boto3_floor"],
                "ratio_cloudlet_over_moto": ratio,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
