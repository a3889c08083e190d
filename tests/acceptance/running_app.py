"""``cloudlet up`` in a subprocess, as a user (or CI) runs it: wait for the endpoint line, then drive it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
REGION = "us-east-1"
ACCOUNT = "000000000000"


def cloudlet_command() -> list[str]:
    """The ``cloudlet`` console script of this environment (``python -m cloudlet.cli`` without one)."""
    script = Path(sys.executable).parent / "cloudlet"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cloudlet.cli"]


def copy_example(name: str, into: Path) -> Path:
    """A copy of ``examples/NAME`` under ``into`` (its ``.cloudlet`` state stays isolated)."""
    target = into / name
    shutil.copytree(
        EXAMPLES / name, target, ignore=shutil.ignore_patterns(".cloudlet", "__pycache__", "*.pyc")
    )
    return target


class RunningApp:
    """One ``cloudlet up DIR --port 0`` process; its stdout is collected for failure messages."""

    def __init__(self, app_dir: Path, *args: str, ready_timeout: float = 45.0) -> None:
        self.app_dir = app_dir
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*cloudlet_command(), "up", str(app_dir), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.endpoint = ""
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(ready_timeout) or not self.endpoint:
            self.kill()
            raise AssertionError(f"cloudlet up printed no endpoint line:\n{self.output}")
        self.ready_seconds = time.monotonic() - self.started
        self._clients: dict[str, Any] = {}

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("endpoint: "):
                self.endpoint = line.split(" ", 1)[1].strip()
                self._ready.set()
        self._ready.set()  # the process ended (without an endpoint line, if it never printed one)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    # -- talking to it ------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=Config(retries={"max_attempts": 2}, inject_host_prefix=False),
            )
        return self._clients[service]

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An HTTP request to the app's API routes (``/_api/<api-id>/<path>``); JSON in and out."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def log_messages(self, function: str) -> list[str]:
        """Every log line of a function so far (CloudWatch Logs' FilterLogEvents)."""
        logs = self.client("logs")
        messages: list[str] = []
        params: dict[str, Any] = {"logGroupName": f"/aws/lambda/{function}"}
        while True:
            try:
                page = logs.filter_log_events(**params)
            except logs.exceptions.ResourceNotFoundException:
                return messages
            messages += [e["message"] for e in page["events"]]
            if not page.get("nextToken"):
                return messages
            params["nextToken"] = page["nextToken"]

    def log_records(self, function: str) -> list[dict[str, Any]]:
        """The JSON lines a function printed (structured application logs)."""
        records = []
        for message in self.log_messages(function):
            for line in message.splitlines():
                if line.startswith("{"):
                    records.append(json.loads(line))
        return records

    # -- stopping it --------------------------------------------------------------------------
    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``sig`` and wait for the process to exit; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(
                f"cloudlet up did not stop within {timeout}s of {sig!r}:\n{self.output}"
            ) from None
        self._close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._close()

    def _close(self) -> None:
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> RunningApp:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            try:
                self.stop()
            except AssertionError:
                pass


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30.0, interval: float = 0.25) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
