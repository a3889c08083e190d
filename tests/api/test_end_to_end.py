"""`cloudlet up` in a subprocess, driven only through its endpoint: an HTTP API event runs a
function whose boto3 client puts an event that starts a workflow; Lambda and Logs through boto3."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.integration

pytest.importorskip("cloudlet.runtime")
pytest.importorskip("cloudlet.functions")

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Emitter:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Timeout: 30
      Events:
        Http:
          Type: HttpApi
          Properties:
            Path: /emit/{kind}
            Method: post
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      Definition:
        StartAt: Done
        States:
          Done:
            Type: Pass
            End: true
      Events:
        Trigger:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [e2e.emitter]
"""

HANDLER = """\
import json

import boto3

events = boto3.client("events")


def handler(event, context):
    detail = event.get("pathParameters") or event
    result = events.put_events(
        Entries=[{"Source": "e2e.emitter", "DetailType": "Emitted", "Detail": json.dumps(detail)}]
    )
    print("emitted", json.dumps(detail))
    return {"statusCode": 200, "body": json.dumps({"failed": result["FailedEntryCount"]})}
"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app_dir: Path = tmp_path_factory.mktemp("e2e")
    (app_dir / "template.yaml").write_text(TEMPLATE)
    (app_dir / "src").mkdir()
    (app_dir / "src" / "app.py").write_text(textwrap.dedent(HANDLER))
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from cloudlet.cli import main; sys.exit(main())",
            "up",
            str(app_dir),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("endpoint: "):
                url = line.split(" ", 1)[1].strip()
                break
        assert url is not None, "".join(lines)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def test_http_event_function_boto3_event_workflow(endpoint: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/_api/ServerlessHttpApi/emit/widgets", data=b"{}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.loads(response.read()) == {"failed": 0}
    sfn = _client(endpoint, "stepfunctions")
    machine = "arn:aws:states:us-east-1:000000000000:stateMachine:Flow"
    deadline = time.monotonic() + 20
    executions: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not executions:
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        time.sleep(0.1)
    assert executions, "the rule did not start the workflow"
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    event = json.loads(described["input"])
    assert event["source"] == "e2e.emitter"
    assert event["detail"] == {"kind": "widgets"}
    sfn.close()


def test_lambda_invoke_tail_and_logs(endpoint: str) -> None:
    lam = _client(endpoint, "lambda")
    result = lam.invoke(FunctionName="Emitter", Payload=json.dumps({"direct": True}), LogType="Tail")
    assert result["StatusCode"] == 200
    assert "FunctionError" not in result
    assert json.loads(json.loads(result["Payload"].read())["body"]) == {"failed": 0}
    tail = base64.b64decode(result["LogResult"]).decode()
    assert 'emitted {"direct": true}' in tail
    assert "REPORT RequestId" in tail
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
    logs = _client(endpoint, "logs")
    groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert "/aws/lambda/Emitter" in groups
    found = logs.filter_log_events(logGroupName="/aws/lambda/Emitter", filterPattern="emitted")["events"]
    assert any('"direct": true' in e["message"] for e in found)
    lam.close()
    logs.close()
