"""Requests per second through boto3: cloudlet's API vs moto's server, in the same run.

    python benchmarks/api.py [--requests 300] [--repeat 3]
                             [--clients 4] [--concurrent-requests 600] [--concurrent-repeat 2]

Both servers run in their own subprocess on 127.0.0.1 (cloudlet with its real services over a
SQLite store in a temporary folder, moto as ``python -m moto.server``); one boto3 client thread
drives each workload: SQS SendMessage, ReceiveMessage and DeleteMessage (one message each),
EventBridge PutEvents (one entry, one matching rule to a queue) and Step Functions
StartExecution and StartSyncExecution (an Express machine with one Pass state). Prints one JSON
document: per workload the mean and stddev of requests/s over the repeats for each server, and
the ratio. A third server that answers ``{}`` to everything (``boto3_floor``) shows what boto3
itself costs: one client thread spends ~0.7 ms per call, so no server can go much past the
floor's figure, and ``ratio_cloudlet_over_floor`` says how close cloudlet gets to it.

Then (unless ``--clients 0``) the concurrent mode: ``--clients`` worker processes, each with its
own boto3 clients, hammer one server at a time with ``--concurrent-requests`` requests per
workload between them; its figure is the aggregate requests/s (all requests over the wall time
from a common start barrier to the last worker's end). Each worker sends to, receives from and
deletes from its own queue, so every receive finds a message and every delete a live receipt
handle; untimed top-ups before a timed phase keep that true whatever the previous phase did.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from servers import running

DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::000000000000:role/bench"


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

    def __init__(
        self,
        url: str,
        requests: int,
        *,
        setup: bool = True,
        worker_queue: str | None = None,
        machine: str | None = None,
        supported: frozenset[str] | None = None,
        warmup: int = 20,
    ) -> None:
        """Create the resources (``setup``) or, for a concurrent worker, only its own queue
        (``worker_queue``) next to the parent's state machine ``machine``."""
        self.url = url
        self.requests = requests
        self.real = setup or worker_queue is not None  # False: the do-nothing floor server
        self.sqs, self.events, self.sfn = (
            _client("sqs", url),
            _client("events", url),
            _client("stepfunctions", url),
        )
        self.queue = f"{url}/000000000000/{worker_queue or 'bench'}"
        self.machine = machine or "arn:aws:states:us-east-1:000000000000:stateMachine:bench"
        self.backlog = 0  # messages sent to self.queue and not yet received (by this client)
        if worker_queue is not None and setup:
            raise ValueError("a worker does not set up the shared resources")
        if worker_queue is not None:
            self.queue = self.sqs.create_queue(QueueName=worker_queue)["QueueUrl"]
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
            "sqs.SendMessage": self._send,
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
        self.supported = {name: fn for name, fn in self.all.items() if supported is None or name in supported}
        for name, fn in list(self.supported.items()):
            if name == "sqs.DeleteMessage":
                continue
            try:
                _rate(min(warmup, requests), fn)  # warm up
            except Exception as exc:  # a server that lacks the operation
                print(f"{url}: {name} unsupported: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
                del self.supported[name]
        self.rates: dict[str, list[float]] = {name: [] for name in self.all}

    def _send(self, i: int) -> None:
        self.sqs.send_message(QueueUrl=self.queue, MessageBody=f"message {i}")
        self.backlog += 1

    def _receive(self, _: int) -> None:
        for message in self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=1).get(
            "Messages", []
        ):
            self.handles.append(message["ReceiptHandle"])
            self.backlog -= 1

    def prepare(self, name: str, count: int) -> None:
        """Untimed top-up so that ``count`` calls of workload ``name`` each find their work: a
        visible message per receive, a live receipt handle per delete (concurrent mode)."""
        if not self.real:
            return
        if name == "sqs.ReceiveMessage":
            for i in range(count - self.backlog):
                self._send(i)
        elif name == "sqs.DeleteMessage":
            for i in range(10 * count):
                if len(self.handles) >= count:
                    break
                if self.backlog <= 0:
                    self._send(i)
                self._receive(i)
            if len(self.handles) < count:
                raise RuntimeError(f"{self.url}: only {len(self.handles)} of {count} receipt handles")

    def run(self, name: str, count: int) -> tuple[int, int, str, int]:
        """Call workload ``name`` ``count`` times (concurrent mode): (successes, errors, an
        error, receives that found no message)."""
        fn = self.supported[name]
        handles = self.handles
        if name == "sqs.DeleteMessage":
            self.handles = handles[count:]
            handles = handles[:count]

            def fn(i: int) -> None:
                self.sqs.delete_message(
                    QueueUrl=self.queue, ReceiptHandle=handles[i] if i < len(handles) else "none"
                )

        ok, errors, first = 0, 0, ""
        received = len(self.handles)
        for i in range(count):
            try:
                fn(i)
                ok += 1
            except Exception as exc:  # counted and reported, not hidden
                errors += 1
                first = first or f"{type(exc).__name__}: {exc}"[:200]
        empty = count - (len(self.handles) - received) if name == "sqs.ReceiveMessage" else 0
        return ok, errors, first, empty if self.real else 0

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


# -- concurrent mode --------------------------------------------------------------------------
def _worker(index: int, conn: Any, barrier: Any) -> None:
    """One client process: holds a Workloads per server and runs what the parent asks."""
    runs: dict[str, Workloads] = {}
    while True:
        message = conn.recv()
        if message[0] == "setup":
            _, kind, url, machine, supported, requests, real = message
            try:
                runs[kind] = Workloads(
                    url,
                    requests,
                    setup=False,
                    worker_queue=f"bench-w{index}" if real else None,
                    machine=machine,
                    supported=frozenset(supported),
                    warmup=5,
                )
                conn.send(("ok", ""))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))
        elif message[0] == "run":
            _, kind, name, count = message
            run = runs[kind]
            problem = ""
            try:
                run.prepare(name, count)
            except Exception as exc:
                problem = f"prepare: {type(exc).__name__}: {exc}"[:300]
            barrier.wait(timeout=600)  # everybody prepared: the timed phase starts together
            if problem:
                conn.send((0, count, problem, 0))
            else:
                conn.send(run.run(name, count))
        else:
            for run in runs.values():
                run.close()
            conn.close()
            return


def _concurrent(
    servers: dict[str, tuple[str, Workloads]], clients: int, requests: int, repeat: int
) -> dict[str, Any]:
    """Aggregate requests/s of ``clients`` worker processes, per server and workload."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients + 1)
    pipes, processes = [], []
    for index in range(clients):
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(index, child, barrier), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    per_worker = max(1, requests // clients)
    rates: dict[str, dict[str, list[float]]] = {kind: {} for kind in servers}
    errors: dict[str, dict[str, list[str]]] = {kind: {} for kind in servers}
    try:
        for kind, (url, run) in servers.items():
            for pipe in pipes:
                pipe.send(("setup", kind, url, run.machine, sorted(run.supported), per_worker, run.real))
            for pipe in pipes:
                status, detail = pipe.recv()
                if status != "ok":
                    raise RuntimeError(f"{kind} worker setup failed: {detail}")
        names = list(next(iter(servers.values()))[1].all)
        for _ in range(repeat):
            for name in names:  # servers alternate workload by workload, as in the single mode
                for kind, (_url, run) in servers.items():
                    if name not in run.supported:
                        continue
                    for pipe in pipes:
                        pipe.send(("run", kind, name, per_worker))
                    barrier.wait(timeout=600)
                    start = time.perf_counter()
                    answers = [pipe.recv() for pipe in pipes]
                    elapsed = time.perf_counter() - start
                    ok = sum(answer[0] for answer in answers)
                    rates[kind].setdefault(name, []).append(ok / elapsed)
                    failed = sum(answer[1] for answer in answers)
                    empty = sum(answer[3] for answer in answers)
                    if empty:  # a receive that found nothing is cheaper: say so
                        errors[kind].setdefault(name, []).append(f"{empty} empty receives")
                    if failed:
                        first = next(answer[2] for answer in answers if answer[1])
                        errors[kind].setdefault(name, []).append(f"{failed} errors, e.g. {first}")
    finally:
        for pipe in pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close",))
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join()
    results: dict[str, Any] = {
        "unit": f"aggregate requests/s of {clients} boto3 client processes",
        "clients": clients,
        "requests": per_worker * clients,
        "requests_per_client": per_worker,
        "repeat": repeat,
    }
    for kind, run_rates in rates.items():
        summary: dict[str, Any] = {}
        for name in next(iter(servers.values()))[1].all:
            figure: dict[str, Any] | None = _summary(run_rates.get(name, []))
            if figure is not None and name in errors[kind]:
                figure = {**figure, "notes": errors[kind][name]}
            summary[name] = figure
        results[kind] = summary
    results["ratio_cloudlet_over_moto"] = _ratios(results["cloudlet"], results["moto"])
    if "boto3_floor" in results:
        results["ratio_cloudlet_over_floor"] = _ratios(results["cloudlet"], results["boto3_floor"])
    return results


def _ratios(top: dict[str, Any], bottom: dict[str, Any]) -> dict[str, float | None]:
    """Per workload, top's mean over bottom's (None where either lacks the workload)."""
    ratio: dict[str, float | None] = {}
    for name, figure in top.items():
        peer = bottom.get(name)
        ratio[name] = round(figure["mean"] / peer["mean"], 2) if figure and peer else None
    return ratio


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
    parser.add_argument(
        "--clients", type=int, default=4, help="client processes of the concurrent mode (0: skip it)"
    )
    parser.add_argument(
        "--concurrent-requests",
        type=int,
        default=600,
        help="requests per workload per repeat in the concurrent mode, split among the clients",
    )
    parser.add_argument("--concurrent-repeat", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    concurrent: dict[str, Any] | None = None
    load_before = os.getloadavg()
    started = time.monotonic()
    with running("cloudlet") as cloudlet_url, running("moto") as moto_url, running("floor") as floor_url:
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
            results[kind] = {name: _summary(values) for name, values in run.rates.items()}
        if args.clients > 0:
            urls = {"cloudlet": cloudlet_url, "moto": moto_url, "boto3_floor": floor_url}
            concurrent = _concurrent(
                {kind: (urls[kind], run) for kind, run in runs.items()},
                args.clients,
                args.concurrent_requests,
                args.concurrent_repeat,
            )
        for run in runs.values():
            run.close()
    ratio = _ratios(results["cloudlet"], results["moto"])
    extra: dict[str, Any] = {
        # How close cloudlet gets to boto3's own ceiling, and how far that ceiling is above moto:
        # when floor/moto is under 5, one client thread cannot show a 5x lead over moto at all.
        "ratio_cloudlet_over_floor": _ratios(results["cloudlet"], results["boto3_floor"]),
        "ratio_floor_over_moto": _ratios(results["boto3_floor"], results["moto"]),
    }
    if concurrent is not None:
        extra["concurrent"] = concurrent
    extra["seconds"] = round(time.monotonic() - started, 1)
    extra["loadavg_before"] = [round(value, 2) for value in load_before]
    extra["loadavg_after"] = [round(value, 2) for value in os.getloadavg()]
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
                **extra,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
