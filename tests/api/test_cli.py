"""AWS CLI (v1, from PyPI) smoke tests: the CLI works unchanged with only --endpoint-url."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import App

pytestmark = pytest.mark.integration


def _aws(app: App, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if executable is None:
        pytest.skip("the AWS CLI (awscli, in the dev extra) is not installed")
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_DISABLE_HOST_PREFIX_INJECTION="true",
    )
    result = subprocess.run(
        [executable, "--endpoint-url", app.url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_sqs_round_trip_and_error(app: App) -> None:
    url = json.loads(_aws(app, "sqs", "create-queue", "--queue-name", "cli-queue").stdout)["QueueUrl"]
    _aws(app, "sqs", "send-message", "--queue-url", url, "--message-body", "from the cli")
    received = json.loads(_aws(app, "sqs", "receive-message", "--queue-url", url).stdout)
    assert received["Messages"][0]["Body"] == "from the cli"
    failed = _aws(app, "sqs", "get-queue-url", "--queue-name", "no-such-queue", check=False)
    assert failed.returncode != 0
    assert "NonExistentQueue" in failed.stderr


def test_cli_sns_and_events(app: App) -> None:
    arn = json.loads(_aws(app, "sns", "create-topic", "--name", "cli-topic").stdout)["TopicArn"]
    published = json.loads(_aws(app, "sns", "publish", "--topic-arn", arn, "--message", "hi").stdout)
    assert published["MessageId"]
    entries = json.dumps([{"Source": "cli", "DetailType": "t", "Detail": "{}"}])
    result = json.loads(_aws(app, "events", "put-events", "--entries", entries).stdout)
    assert result["FailedEntryCount"] == 0


def test_cli_lambda_invoke_and_states(app: App, tmp_path: Path) -> None:
    app.fakes["lambda"].add("cli-fn", lambda event: {"echo": event})
    out = tmp_path / "out.json"
    meta = json.loads(
        _aws(app, "lambda", "invoke", "--function-name", "cli-fn", "--payload", '{"a": 1}', str(out)).stdout
    )
    assert meta["StatusCode"] == 200
    assert json.loads(out.read_text()) == {"echo": {"a": 1}}
    created = json.loads(
        _aws(
            app,
            "stepfunctions",
            "create-state-machine",
            "--name",
            "cli-machine",
            "--definition",
            "{}",
            "--role-arn",
            "arn:aws:iam::000000000000:role/r",
        ).stdout
    )
    synced = json.loads(
        _aws(
            app, "stepfunctions", "start-sync-execution", "--state-machine-arn", created["stateMachineArn"]
        ).stdout
    )
    assert synced["status"] == "SUCCEEDED"
