"""Express executions through cloudlet's ASL engine and through moto's ASL interpreter.

    python benchmarks/asl.py [--repeat 5] [--warmup 1]

Prints one JSON document: for each workload the transitions (states entered) per second of
cloudlet and of moto (mean ± stddev over the repeats, same definitions, same process) and
their ratio. moto 5 ships an ASL interpreter (``moto.stepfunctions.parser``); it is driven
in process through its backend with a synchronous (Express-style) execution.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from cloudlet.asl import StateMachine


def chain_of_passes(n: int = 100) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(n):
        states[f"P{i}"] = (
            {"Type": "Pass", "Next": f"P{i + 1}"} if i < n - 1 else {"Type": "Pass", "End": True}
        )
    return {"StartAt": "P0", "States": states}


def inline_map(items: int = 1000) -> tuple[dict[str, Any], Any]:
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "A",
                    "States": {
                        "A": {"Type": "Pass", "Parameters": {"v.$": "$"}, "Next": "B"},
                        "B": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    return definition, {"items": list(range(items))}


def choice_loop(iterations: int = 1000) -> tuple[dict[str, Any], Any]:
    definition = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"counter": 0}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.counter", "NumericLessThan": iterations, "Next": "Increment"}],
                "Default": "Done",
            },
            "Increment": {
                "Type": "Pass",
                "Parameters": {"counter.$": "States.MathAdd($.counter, 1)"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    return definition, {}


def parallel(branches: int = 10) -> tuple[dict[str, Any], Any]:
    definition = {
        "StartAt": "Fork",
        "States": {
            "Fork": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": f"B{i}", "States": {f"B{i}": {"Type": "Pass", "End": True}}}
                    for i in range(branches)
                ],
                "End": True,
            }
        },
    }
    return definition, {"x": 1}


WORKLOADS: dict[str, tuple[dict[str, Any], Any]] = {
    "pass_chain_100": (chain_of_passes(), {"x": 1}),
    "inline_map_1000x2": inline_map(),
    "choice_loop_1000_mathadd": choice_loop(),
    "parallel_10": parallel(),
}


# ---------------------------------------------------------------------------- runners


def cloudlet_runner(definition: dict[str, Any]) -> Callable[[Any], tuple[str, int]]:
    machine = StateMachine.from_definition(definition)

    def run(input_: Any) -> tuple[str, int]:
        result = machine.run(input_, real_time=False)
        entered = sum(1 for e in result.history if e["type"].endswith("StateEntered"))
        return result.status, entered

    return run


def moto_runner(definition: dict[str, Any]) -> Callable[[Any], tuple[str, int]]:
    from moto.stepfunctions.parser.backend.execution import SyncExecution
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends["123456789012"]["us-east-1"]
    name = f"bench{len(backend.state_machines)}"
    machine = backend.create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/bench",
        sm_type="EXPRESS",
    )
    counter = [0]

    def run(input_: Any) -> tuple[str, int]:
        counter[0] += 1
        exec_name = f"e{counter[0]}"
        execution = SyncExecution(
            name=exec_name,
            sm_type="EXPRESS",
            role_arn=machine.roleArn,
            exec_arn=f"arn:aws:states:us-east-1:123456789012:express:{name}:{exec_name}",
            account_id="123456789012",
            region_name="us-east-1",
            state_machine=machine,
            start_date=datetime.datetime.now(tz=datetime.UTC),
            cloud_watch_logging_session=None,
            input_data=json.dumps(input_),
            activity_store={},
        )
        execution.start()
        history = execution.exec_worker.env.event_manager.get_event_history()
        entered = sum(1 for e in history if str(e["type"]).endswith("StateEntered"))
        return str(execution.exec_status), entered

    return run


def measure(run: Callable[[Any], tuple[str, int]], input_: Any, repeat: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        run(input_)
    rates: list[float] = []
    status, transitions = "", 0
    for _ in range(repeat):
        started = time.perf_counter()
        status, transitions = run(input_)
        elapsed = time.perf_counter() - started
        rates.append(transitions / elapsed)
    return {
        "status": status,
        "transitions": transitions,
        "transitions_per_s": round(statistics.fmean(rates), 1),
        "stddev": round(statistics.stdev(rates), 1) if len(rates) > 1 else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--moto-repeat", type=int, default=2, help="repeats for moto (it is slow)")
    ap.add_argument("--no-moto", action="store_true")
    ap.add_argument("-k", dest="select", help="only workloads whose name contains this")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"python": sys.version.split()[0], "workloads": {}}
    for name, (definition, input_) in WORKLOADS.items():
        if args.select and args.select not in name:
            continue
        row: dict[str, Any] = {
            "cloudlet": measure(cloudlet_runner(definition), input_, args.repeat, args.warmup)
        }
        if not args.no_moto:
            row["moto"] = measure(moto_runner(definition), input_, args.moto_repeat, min(args.warmup, 1))
            row["ratio"] = round(row["cloudlet"]["transitions_per_s"] / row["moto"]["transitions_per_s"], 1)
        out["workloads"][name] = row
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
