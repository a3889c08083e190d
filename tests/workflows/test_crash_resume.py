"""SIGKILL a runtime process mid-execution; started again, the execution completes exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _spawn(db: Path, log: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "service_process.py"), str(db), str(log), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


def _waiting(db: Path) -> bool:
    """True once the store holds WaitStateEntered (so the first Task's result is durable too)."""
    if not db.exists():
        return False
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT count(*) FROM log_entries WHERE namespace = 'states:history'"
            " AND CAST(body AS TEXT) LIKE '%WaitStateEntered%'"
        ).fetchone()
    except sqlite3.OperationalError:  # the schema is not there yet
        return False
    finally:
        conn.close()
    return bool(rows[0])


@pytest.mark.integration
def test_sigkill_during_a_wait_then_restart_completes_each_state_once(tmp_path: Path) -> None:
    db, log = tmp_path / "app.db", tmp_path / "invocations.log"
    first = _spawn(db, log, "start")
    deadline = time.monotonic() + 30
    while not (log.exists() and log.read_text() == "first\n" and _waiting(db)):
        assert time.monotonic() < deadline, "the execution never reached its Wait"
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the 4 s Wait now
    first.send_signal(signal.SIGKILL)
    first.communicate()

    second = _spawn(db, log, "resume")
    ready_at = time.time()
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])

    assert result["status"] == "SUCCEEDED"
    assert log.read_text() == "first\nsecond\n"  # each Task ran exactly once
    entered = [e["name"] for e in result["events"] if e["type"].endswith("StateEntered")]
    assert entered == ["First", "Pause", "Second", "Done"]
    types = [e["type"] for e in result["events"]]
    assert types.count("ExecutionStarted") == 1 and types.count("ExecutionSucceeded") == 1
    assert [e["id"] for e in result["events"]] == list(range(1, len(types) + 1))
    # The Wait kept its original deadline (4 s after it began), not 4 s after the restart.
    wait_in = next(e["timestamp"] for e in result["events"] if e["type"] == "WaitStateEntered")
    wait_out = next(e["timestamp"] for e in result["events"] if e["type"] == "WaitStateExited")
    assert wait_out - wait_in >= 4.0
    assert wait_out - max(wait_in + 4.0, ready_at) < 2.0  # a restarted Wait would end >= 4 s later
