"""boto3's Lambda client against the real functions and event source mappings services:
rest-json routes, headers, status codes and timestamps for the operations beyond Invoke."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudlet.api import ApiConfig
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore
from tests.api.conftest import App, ServerThread

functions_module = pytest.importorskip("cloudlet.functions")
mappings_module = pytest.importorskip("cloudlet.mappings")
queues_module = pytest.importorskip("cloudlet.queues")

pytestmark = pytest.mark.integration  # functions run in worker processes

HANDLER = b"""
import json

def handler(event, context):
    print("got", json.dumps(event))
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"echo": event, "version": context.function_version}
"""


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


class LambdaApp(App):
    def __init__(self, server: ServerThread, services: dict[str, Any], store: MemoryStore) -> None:
        super().__init__(server, services)
        self.store = store

    def close(self) -> None:
        for client in self.clients:
            client.close()

        async def stop() -> None:
            for service in reversed(list(self.fakes.values())):
                await service.stop()
            await self.store.close()

        self.server.run(stop())
        self.server.stop()


@pytest.fixture(scope="module")
def lam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaApp]:
    router = Router()
    server = ServerThread(router, ApiConfig(port=0))
    store = MemoryStore()
    data_dir: Path = tmp_path_factory.mktemp("lambda")
    config = ServiceConfig(endpoint_url=server.url, data_dir=data_dir)

    async def start() -> dict[str, Any]:
        clock = SystemClock()
        services: dict[str, Any] = {
            "sqs": queues_module.Queues(store=store, router=router, clock=clock, config=config),
            "functions": functions_module.Functions(store=store, router=router, clock=clock, config=config),
            "mappings": mappings_module.EventSourceMappings(
                store=store, router=router, clock=clock, config=config
            ),
        }
        for service in services.values():
            await service.start()
        return services

    app = LambdaApp(server, server.run(start()), store)
    yield app
    app.close()


def test_function_life_cycle_versions_aliases_and_configs(lam: LambdaApp) -> None:
    client = lam.client("lambda")
    created = client.create_function(
        FunctionName="echo",
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/r",
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"MODE": "test"}},
        Tags={"team": "api"},
    )
    assert created["FunctionName"] == "echo"
    assert created["Environment"]["Variables"] == {"MODE": "test"}
    assert client.get_function(FunctionName="echo")["Configuration"]["Handler"] == "app.handler"
    assert client.list_tags(Resource=created["FunctionArn"])["Tags"] == {"team": "api"}
    version = client.publish_version(FunctionName="echo", Description="v1")
    assert version["Version"] == "1"
    alias = client.create_alias(FunctionName="echo", Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(":function:echo:live")
    versions = [v["Version"] for v in client.list_versions_by_function(FunctionName="echo")["Versions"]]
    assert versions == ["$LATEST", "1"]
    result = client.invoke(FunctionName="echo", Qualifier="live", Payload=json.dumps({"a": 1}))
    assert result["ExecutedVersion"] == "1"
    assert json.loads(result["Payload"].read()) == {"echo": {"a": 1}, "version": "1"}
    client.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=5)
    assert client.get_function_concurrency(FunctionName="echo")["ReservedConcurrentExecutions"] == 5
    client.put_function_event_invoke_config(FunctionName="echo", MaximumRetryAttempts=0)
    config = client.get_function_event_invoke_config(FunctionName="echo")
    assert config["MaximumRetryAttempts"] == 0
    assert config["LastModified"].tzinfo is not None
    with pytest.raises(client.exceptions.ResourceConflictException):
        client.create_function(
            FunctionName="echo",
            Runtime="python3.12",
            Role="arn:aws:iam::000000000000:role/r",
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )


def test_invoke_errors_and_event_invocations(lam: LambdaApp) -> None:
    client = lam.client("lambda")
    failed = client.invoke(FunctionName="echo", Payload=json.dumps({"fail": True}), LogType="Tail")
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorMessage"] == "asked to fail"
    assert client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.get_function(FunctionName="nope")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_event_source_mapping_from_a_queue(lam: LambdaApp) -> None:
    sqs = lam.client("sqs")
    client = lam.client("lambda")
    url = sqs.create_queue(QueueName="to-lambda")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = client.create_event_source_mapping(EventSourceArn=arn, FunctionName="echo", BatchSize=5)
    assert mapping["UUID"]
    assert mapping["LastModified"].tzinfo is not None
    listed = client.list_event_source_mappings(FunctionName="echo")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [mapping["UUID"]]
    sqs.send_message(QueueUrl=url, MessageBody="to the function")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if (
            int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
            == 0
            and int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                    "ApproximateNumberOfMessagesNotVisible"
                ]
            )
            == 0
        ):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the mapping did not consume the message")
    client.delete_event_source_mapping(UUID=mapping["UUID"])
