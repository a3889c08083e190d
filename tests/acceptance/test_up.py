"""``cloudlet up`` as a developer uses it: reload on code and template edits, clean stop, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.running_app import RunningApp, cloudlet_command, wait_for

pytestmark = [pytest.mark.acceptance, pytest.mark.integration]

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
  Inbox:
    Type: AWS::SQS::Queue
"""

EXTRA_QUEUE = """
  Outbox:
    Type: AWS::SQS::Queue
"""


def write_app(app_dir: Path, greeting: str, template: str = TEMPLATE) -> None:
    (app_dir / "src").mkdir(parents=True, exist_ok=True)
    (app_dir / "src" / "app.py").write_text(
        f"def handler(event, context):\n    return {{'greeting': {greeting!r}, 'name': event.get('name')}}\n"
    )
    (app_dir / "template.yaml").write_text(textwrap.dedent(template).lstrip())


def greet(app: RunningApp) -> Any:
    response = app.client("lambda").invoke(FunctionName="Greeter", Payload=json.dumps({"name": "Ada"}))
    return json.loads(response["Payload"].read())


def cloudlet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cloudlet_command(), *args], capture_output=True, text=True, timeout=60)


def queue_names(app: RunningApp) -> set[str]:
    urls = app.client("sqs").list_queues().get("QueueUrls", [])
    return {url.rsplit("/", 1)[-1] for url in urls}


def test_edits_reload_while_running(tmp_path: Path) -> None:
    app_dir = tmp_path / "greeter"
    write_app(app_dir, "hello")
    with RunningApp(app_dir) as app:
        not_yet = cloudlet("logs", "Greeter", "--dir", str(app_dir))
        assert (not_yet.returncode, not_yet.stdout, not_yet.stderr) == (
            0,
            "",
            "no logs yet: Greeter has not run\n",
        )
        missing = cloudlet("logs", "Greter", "--dir", str(app_dir))
        assert missing.returncode == 1 and "Function not found" in missing.stderr

        assert greet(app) == {"greeting": "hello", "name": "Ada"}
        logs = cloudlet("logs", "Greeter", "--dir", str(app_dir))
        assert logs.returncode == 0 and "START RequestId: " in logs.stdout

        time.sleep(0.2)  # a new mtime, whatever the file system's resolution
        write_app(app_dir, "bonjour")
        assert wait_for("the edited code to run", lambda: greet(app)["greeting"] == "bonjour", 15)
        assert "code of Greeter changed" in app.output

        write_app(app_dir, "bonjour", TEMPLATE + EXTRA_QUEUE)
        assert wait_for("the added queue", lambda: "Outbox" in queue_names(app), 15)
        assert "template changed: re-deploying" in app.output
        assert "1 created, 0 updated, 0 deleted, 2 unchanged" in app.output

        write_app(app_dir, "bonjour")
        assert wait_for("the removed queue to go", lambda: queue_names(app) == {"Inbox"}, 15)
        assert "0 created, 0 updated, 1 deleted, 2 unchanged" in app.output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stops_cleanly_and_resumes(tmp_path: Path, sig: signal.Signals) -> None:
    app_dir = tmp_path / "greeter"
    write_app(app_dir, "hello")
    endpoint_file = app_dir / ".cloudlet" / "endpoint"
    with RunningApp(app_dir, "--no-reload") as app:
        sqs = app.client("sqs")
        url = sqs.get_queue_url(QueueName="Inbox")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="kept across restarts")
        assert endpoint_file.read_text() == app.endpoint
        stopping = time.monotonic()
        assert app.stop(sig) == 0
        assert time.monotonic() - stopping < 5, app.output
        assert app.output.splitlines()[-1] == "stopping"
    assert not endpoint_file.exists()

    with RunningApp(app_dir, "--no-reload") as again:
        assert "0 created, 0 updated, 0 deleted, 2 unchanged" in again.output
        sqs = again.client("sqs")
        url = sqs.get_queue_url(QueueName="Inbox")["QueueUrl"]
        bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])]
        assert bodies == ["kept across restarts"]
        assert greet(again) == {"greeting": "hello", "name": "Ada"}
