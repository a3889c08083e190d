"""Small in-memory services registered under real AWS service names, to drive the API layer.

They follow docs/services.md (async methods named as boto3 names operations, AWS member names
as keyword arguments, dicts shaped like the responses, cloudlet.errors with AWS codes) and
keep just enough state to make round trips observable.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from datetime import UTC, datetime
from typing import Any

import orjson

from cloudlet.errors import CloudletError, ResourceNotFound, ValidationError

ACCOUNT = "000000000000"
REGION = "us-east-1"


class QueueDoesNotExist(ResourceNotFound):
    code = "QueueDoesNotExist"


class ReceiptHandleIsInvalid(CloudletError):
    code = "ReceiptHandleIsInvalid"


class FakeQueues:
    """sqs: queues of messages, no visibility timeouts."""

    def __init__(self, endpoint: str = "http://localhost:4566") -> None:
        self.endpoint = endpoint
        self.queues: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def _queue(self, url: str) -> dict[str, Any]:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if name not in self.queues:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return self.queues[name]

    async def create_queue(
        self, QueueName: str, Attributes: dict[str, str] | None = None, tags: dict[str, str] | None = None
    ) -> dict[str, Any]:
        self.queues.setdefault(
            QueueName, {"messages": [], "attributes": dict(Attributes or {}), "tags": tags}
        )
        return {"QueueUrl": f"{self.endpoint}/{ACCOUNT}/{QueueName}"}

    async def get_queue_url(
        self, QueueName: str, QueueOwnerAWSAccountId: str | None = None
    ) -> dict[str, Any]:
        if QueueName not in self.queues:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return {"QueueUrl": f"{self.endpoint}/{ACCOUNT}/{QueueName}"}

    async def list_queues(
        self, QueueNamePrefix: str = "", NextToken: str | None = None, MaxResults: int | None = None
    ) -> dict[str, Any]:
        urls = [f"{self.endpoint}/{ACCOUNT}/{n}" for n in self.queues if n.startswith(QueueNamePrefix)]
        return {"QueueUrls": urls} if urls else {}

    async def get_queue_attributes(
        self, QueueUrl: str, AttributeNames: list[str] | None = None
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        attrs = dict(queue["attributes"], ApproximateNumberOfMessages=str(len(queue["messages"])))
        return {"Attributes": attrs}

    async def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int | None = None,
        MessageAttributes: dict[str, Any] | None = None,
        MessageSystemAttributes: dict[str, Any] | None = None,
        MessageDeduplicationId: str | None = None,
        MessageGroupId: str | None = None,
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        message_id = f"m-{next(self._ids)}"
        queue["messages"].append(
            {
                "MessageId": message_id,
                "Body": MessageBody,
                "MessageAttributes": MessageAttributes,
                "Delay": DelaySeconds,
            }
        )
        return {"MessageId": message_id, "MD5OfMessageBody": hashlib.md5(MessageBody.encode()).hexdigest()}

    async def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        results = []
        for entry in Entries:
            sent = await self.send_message(QueueUrl, entry["MessageBody"])
            results.append({"Id": entry["Id"], **sent})
        return {"Successful": results, "Failed": []}

    async def receive_message(
        self,
        QueueUrl: str,
        AttributeNames: list[str] | None = None,
        MessageSystemAttributeNames: list[str] | None = None,
        MessageAttributeNames: list[str] | None = None,
        MaxNumberOfMessages: int | None = None,
        VisibilityTimeout: int | None = None,
        WaitTimeSeconds: int | None = None,
        ReceiveRequestAttemptId: str | None = None,
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        taken = [m for m in queue["messages"] if "ReceiptHandle" not in m][: MaxNumberOfMessages or 1]
        out = []
        for m in taken:
            m["ReceiptHandle"] = f"rh-{m['MessageId']}"
            item = {
                "MessageId": m["MessageId"],
                "ReceiptHandle": m["ReceiptHandle"],
                "MD5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                "Body": m["Body"],
                "Attributes": {"SentTimestamp": "1700000000000"},
            }
            if m["MessageAttributes"]:
                item["MessageAttributes"] = m["MessageAttributes"]
            out.append(item)
        return {"Messages": out} if out else {}

    async def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
        queue = self._queue(QueueUrl)
        for m in queue["messages"]:
            if m.get("ReceiptHandle") == ReceiptHandle:
                queue["messages"].remove(m)
                return
        raise ReceiptHandleIsInvalid(
            f'The input receipt handle "{ReceiptHandle}" is not a valid receipt handle.'
        )


class StateMachineDoesNotExist(ResourceNotFound):
    code = "StateMachineDoesNotExist"


class FakeStates:
    """states: state machines whose executions echo their input."""

    def __init__(self) -> None:
        self.machines: dict[str, dict[str, Any]] = {}
        self.executions: dict[str, dict[str, Any]] = {}

    async def create_state_machine(
        self, name: str, definition: str, roleArn: str, **rest: Any
    ) -> dict[str, Any]:
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        created = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
        self.machines[arn] = {
            "name": name,
            "definition": definition,
            "roleArn": roleArn,
            "creationDate": created,
        }
        return {"stateMachineArn": arn, "creationDate": created}

    async def describe_state_machine(
        self, stateMachineArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        machine = self.machines.get(stateMachineArn)
        if machine is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{stateMachineArn}'")
        return {
            "stateMachineArn": stateMachineArn,
            "name": machine["name"],
            "status": "ACTIVE",
            "definition": machine["definition"],
            "roleArn": machine["roleArn"],
            "type": "STANDARD",
            "creationDate": machine["creationDate"],
        }

    async def start_execution(
        self,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
    ) -> dict[str, Any]:
        await self.describe_state_machine(stateMachineArn)
        arn = stateMachineArn.replace(":stateMachine:", ":execution:") + f":{name or 'run'}"
        started = datetime.now(UTC)
        self.executions[arn] = {"input": input or "{}", "startDate": started, "machine": stateMachineArn}
        return {"executionArn": arn, "startDate": started}

    async def start_sync_execution(
        self,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
        includedData: str | None = None,
    ) -> dict[str, Any]:
        started = await self.start_execution(stateMachineArn, name, input)
        return {
            "executionArn": started["executionArn"],
            "stateMachineArn": stateMachineArn,
            "startDate": started["startDate"],
            "stopDate": datetime.now(UTC),
            "status": "SUCCEEDED",
            "input": input or "{}",
            "output": input or "{}",
        }

    async def describe_execution(self, executionArn: str, includedData: str | None = None) -> dict[str, Any]:
        execution = self.executions.get(executionArn)
        if execution is None:
            raise CloudletError(f"Execution Does Not Exist: '{executionArn}'", code="ExecutionDoesNotExist")
        return {
            "executionArn": executionArn,
            "stateMachineArn": execution["machine"],
            "status": "SUCCEEDED",
            "startDate": execution["startDate"],
            "input": execution["input"],
        }


class FakeEvents:
    """events: PutEvents records the entries it accepts."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def put_events(
        self, Entries: list[dict[str, Any]], EndpointId: str | None = None
    ) -> dict[str, Any]:
        results = []
        for entry in Entries:
            self.entries.append(entry)
            results.append({"EventId": f"e-{len(self.entries)}"})
        return {"FailedEntryCount": 0, "Entries": results}


class NotFound(ResourceNotFound):
    code = "NotFoundException"


class FakeTopics:
    """sns: topics and publishes."""

    def __init__(self) -> None:
        self.topics: dict[str, dict[str, Any]] = {}
        self.published: list[dict[str, Any]] = []

    async def create_topic(
        self,
        Name: str,
        Attributes: dict[str, str] | None = None,
        Tags: list[dict[str, str]] | None = None,
        DataProtectionPolicy: str | None = None,
    ) -> dict[str, Any]:
        arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{Name}"
        self.topics[arn] = {"Attributes": dict(Attributes or {}), "Tags": Tags or []}
        return {"TopicArn": arn}

    async def list_topics(self, NextToken: str | None = None) -> dict[str, Any]:
        return {"Topics": [{"TopicArn": arn} for arn in self.topics]}

    async def get_topic_attributes(self, TopicArn: str) -> dict[str, Any]:
        if TopicArn not in self.topics:
            raise NotFound("Topic does not exist")
        return {"Attributes": {"TopicArn": TopicArn, **self.topics[TopicArn]["Attributes"]}}

    async def publish(self, Message: str, TopicArn: str | None = None, **rest: Any) -> dict[str, Any]:
        if TopicArn not in self.topics:
            raise NotFound("Topic does not exist")
        self.published.append({"TopicArn": TopicArn, "Message": Message, **rest})
        return {"MessageId": f"p-{len(self.published)}"}


class FakeFunctions:
    """lambda: functions are Python callables; Invoke runs them and reports errors as Lambda does."""

    def __init__(self) -> None:
        self.functions: dict[str, Any] = {}
        self.events: list[Any] = []

    def add(self, name: str, handler: Any) -> str:
        self.functions[name] = handler
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

    def _lookup(self, FunctionName: str) -> Any:
        name = FunctionName.rsplit(":", 1)[-1] if FunctionName.startswith("arn:") else FunctionName
        if name not in self.functions:
            raise ResourceNotFound(
                f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                code="ResourceNotFoundException",
            )
        return self.functions[name]

    async def invoke(
        self,
        FunctionName: str,
        InvocationType: str | None = None,
        LogType: str | None = None,
        ClientContext: str | None = None,
        Payload: bytes = b"",
        Qualifier: str | None = None,
    ) -> dict[str, Any]:
        handler = self._lookup(FunctionName)
        event = orjson.loads(Payload) if Payload else {}
        if InvocationType == "Event":
            self.events.append(event)
            return {"StatusCode": 202, "Payload": b""}
        if InvocationType == "DryRun":
            return {"StatusCode": 204, "Payload": b""}
        result: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": Qualifier or "$LATEST"}
        try:
            result["Payload"] = orjson.dumps(handler(event))
        except Exception as exc:
            result["FunctionError"] = "Unhandled"
            result["Payload"] = orjson.dumps(
                {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []}
            )
        if LogType == "Tail":
            result["LogResult"] = base64.b64encode(b"START RequestId: x\nEND RequestId: x\n").decode()
        return result

    async def get_function(self, FunctionName: str, Qualifier: str | None = None) -> dict[str, Any]:
        self._lookup(FunctionName)
        name = FunctionName.rsplit(":", 1)[-1]
        return {
            "Configuration": {
                "FunctionName": name,
                "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                "Runtime": "python3.12",
                "MemorySize": 128,
                "LastModified": "2024-01-01T00:00:00.000+0000",
            }
        }

    async def list_functions(
        self,
        MasterRegion: str | None = None,
        FunctionVersion: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        return {"Functions": [(await self.get_function(n))["Configuration"] for n in self.functions]}

    async def deliver(self, arn: str, payload: Any, invocation_type: str) -> Any:
        """The router's delivery entry point (API Gateway events arrive here)."""
        handler = self._lookup(arn)
        try:
            return handler(payload)
        except Exception as exc:
            raise ValidationError(str(exc)) from exc
