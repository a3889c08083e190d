"""At-least-once delivery across kill -9: every event PutEvents accepted is delivered after restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

RUNTIME = Path(__file__).with_name("durable_runtime.py")
ROOT = Path(__file__).resolve().parents[2]


def _ids(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.integration
def test_accepted_events_are_delivered_after_sigkill(tmp_path: Path) -> None:
    db, delivered, accepted = tmp_path / "app.db", tmp_path / "delivered", tmp_path / "accepted"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, str(RUNTIME), "accept", str(db), str(delivered), str(accepted), "40"],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ACCEPTED"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    accepted_ids = _ids(accepted)
    assert len(accepted_ids) == 40
    before = set(_ids(delivered))
    assert len(before) < 40  # the odd events were still in flight when the process died

    result = subprocess.run(
        [sys.executable, str(RUNTIME), "resume", str(db), str(delivered)],
        capture_output=True,
        env=env,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "DRAINED"
    assert set(_ids(delivered)) == set(accepted_ids)
