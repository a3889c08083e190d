"""The AWS-recorded EventBridge pattern cases in ../shared/conformance must keep passing.

Runs the shared runner (``run_patterns.py adapters.cloudlet_patterns:test_event_pattern
--strict``: AWS's exception kinds and messages must match too) in a subprocess and fails
when fewer cases pass than the floor ``patterns`` in ``floors.json`` (raise the floor when
a change makes more cases pass). Skipped where the folder does not exist, as in a fresh clone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO_ROOT.parent / "shared" / "conformance"
FLOORS = Path(__file__).with_name("floors.json")


@pytest.mark.integration  # starts the shared runner as a subprocess (about 2 s)
@pytest.mark.timeout(120)
def test_pattern_conformance_cases_stay_above_floor() -> None:
    if not (CONFORMANCE / "run_patterns.py").exists():
        pytest.skip(f"no AWS-recorded conformance cases at {CONFORMANCE} (they live beside the repository)")
    floor = json.loads(FLOORS.read_text())["patterns"]
    proc = subprocess.run(
        [
            sys.executable,
            "run_patterns.py",
            "adapters.cloudlet_patterns:test_event_pattern",
            "--strict",
            "-v",
        ],
        cwd=CONFORMANCE,
        # this checkout's cloudlet first, whatever the environment has installed
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        },
        capture_output=True,
        text=True,
        timeout=100,
    )
    match = re.search(r"conformance: (\d+) passed, (\d+) failed, (\d+) skipped", proc.stdout)
    assert match, f"runner printed no summary:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    passed = int(match.group(1))
    assert passed >= floor, f"{passed} pattern cases pass, below the floor of {floor}:\n{proc.stdout[-6000:]}"
