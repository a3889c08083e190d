"""Functions through boto3 against cloudlet's HTTP API, and boto3 inside a function reaching cloudlet."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudlet.api import ApiConfig, serve
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.functions import Functions
from cloudlet.router import Router
from cloudlet.store import MemoryStore

pytestmark = [pytest.mark.integration, pytest.mark.acceptance]

INSIDE = """
import boto3

def handler(event, context):
    client = boto3.client("lambda")
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    return {"names": names, "endpoint": client.meta.endpoint_url}
"""


class Server:
    """The API server and a real Functions service on an event loop in a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.router = Router()
        self.api = self.run(serve(self.router, port=0, config=ApiConfig(port=0)))
        config = ServiceConfig(data_dir=data_dir, endpoint_url=self.api.url)
        self.functions = Functions(
            store=MemoryStore(), router=self.router, clock=SystemClock(), config=config
        )
        self.run(self.functions.start())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def stop(self) -> None:
        self.run(self.functions.stop())
        self.run(self.api.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("data"))
    yield started
    started.stop()


@pytest.fixture
def client(server: Server) -> Iterator[Any]:
    lam = boto3.client(
        "lambda",
        endpoint_url=server.api.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    yield lam
    lam.close()


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def test_create_invoke_and_errors_through_boto3(client):
    code = _zip({"main.py": "def handler(e, c):\n    print('hi')\n    return {'got': e}\n"})
    created = client.create_function(
        FunctionName="b3",
        Runtime="python3.11",
        Role="arn:aws:iam::000000000000:role/r",
        Handler="main.handler",
        Code={"ZipFile": code},
    )
    assert created["FunctionArn"].endswith(":function:b3") and created["CodeSize"] == len(code)
    response = client.invoke(FunctionName="b3", Payload=b'{"k": "v"}', LogType="Tail")
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    assert json.loads(response["Payload"].read()) == {"got": {"k": "v"}}
    log = base64.b64decode(response["LogResult"]).decode()
    assert "START RequestId:" in log and "hi\n" in log and "REPORT RequestId:" in log
    event = client.invoke(FunctionName="b3", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202 and event["Payload"].read() == b""
    with pytest.raises(ClientError) as missing:
        client.get_function(FunctionName="nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope" in str(missing.value)
    client.put_function_concurrency(FunctionName="b3", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as throttled:
        client.invoke(FunctionName="b3", Payload=b"{}")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    client.delete_function_concurrency(FunctionName="b3")
    failing = _zip({"main.py": "def handler(e, c):\n    raise KeyError('k')\n"})
    client.update_function_code(FunctionName="b3", ZipFile=failing)
    error = client.invoke(FunctionName="b3", Payload=b"{}")
    assert error["FunctionError"] == "Unhandled"
    assert json.loads(error["Payload"].read())["errorType"] == "KeyError"


def test_boto3_inside_a_function_reaches_cloudlet(client, server):
    client.create_function(
        FunctionName="inside",
        Runtime="python3.11",
        Role="arn:aws:iam::000000000000:role/r",
        Handler="main.handler",
        Code={"ZipFile": _zip({"main.py": INSIDE})},
        Timeout=30,
    )
    response = client.invoke(FunctionName="inside", Payload=b"{}")
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, result
    assert result["endpoint"] == server.api.url
    assert "inside" in result["names"]
