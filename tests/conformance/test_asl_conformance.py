"""The AWS-recorded Step Functions cases in ../shared/conformance must keep passing.

Runs the shared runner (``run_asl.py adapters.cloudlet_asl:run``) in a subprocess and fails
when fewer cases pass than the floor in ``floors.json`` (raise the floor when a change makes
more cases pass). Skipped where the folder does not exist, as in a fresh clone.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO_ROOT.parent / "shared" / "conformance"
FLOORS = Path(__file__).with_name("floors.json")


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_asl_conformance_cases_stay_above_floor() -> None:
    if not (CONFORMANCE / "run_asl.py").exists():
        pytest.skip(f"no AWS-recorded conformance cases at {CONFORMANCE} (they live beside the repository)")
    floor = json.loads(FLOORS.read_text())["asl"]
    proc = subprocess.run(
        [sys.executable, "run_asl.py", "adapters.cloudlet_asl:run", "-v"],
        cwd=CONFORMANCE,
        capture_output=True,
        text=True,
        timeout=380,
    )
    match = re.search(r"conformance: (\d+) passed, (\d+) failed, (\d+) skipped", proc.stdout)
    assert match, f"runner printed no summary:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    passed = int(match.group(1))
    assert passed >= floor, f"{passed} ASL cases pass, below the floor of {floor}:\n{proc.stdout[-6000:]}"


def _history_matches() -> tuple[int, int]:
    """How many recorded cases' history event types our history reproduces exactly."""
    sys.path.insert(0, str(CONFORMANCE))
    try:
        from adapters.cloudlet_asl import _resource  # type: ignore[import-not-found]
        from run_asl import LambdaEmulator  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(CONFORMANCE))
    from cloudlet.asl import StateMachine

    cases = json.loads((CONFORMANCE / "cases" / "asl.json").read_text())
    matched = checked = 0
    for case in cases:
        expected = case.get("history_event_types")
        runnable = not (set(case["needs"]) - {"lambda"}) and case["expect"]["status"] != "CREATE_FAILED"
        if not expected or not runnable:
            continue
        emulator = LambdaEmulator(case["lambdas"])
        resources = {}
        for arn, name in emulator.functions.items():
            resources[arn] = resources[name] = _resource(emulator, arn)
        machine = StateMachine.from_definition(json.dumps(case["definition"]))
        result = machine.run(
            json.loads(case["input_text"] or "{}"),
            resources=resources,
            context=case["context"],
            real_time=False,
        )
        checked += 1
        matched += [e["type"] for e in result.history] == expected
    return matched, checked


@pytest.mark.integration
def test_asl_history_event_types_match_aws_recordings() -> None:
    if not (CONFORMANCE / "run_asl.py").exists():
        pytest.skip(f"no AWS-recorded conformance cases at {CONFORMANCE} (they live beside the repository)")
    floor = json.loads(FLOORS.read_text())["asl_history"]
    matched, checked = _history_matches()
    assert matched >= floor, (
        f"{matched}/{checked} histories have AWS's event types, below the floor of {floor}"
    )
