"""Deploy an ``Application`` onto the running services, and re-deploy it by difference.

Each runnable resource type has a ``Handler`` that creates, updates and deletes it through
the router's AWS operations (``router.call("sqs", "CreateQueue", {...})``), exactly as
CloudFormation would call the service APIs. What was deployed is kept in the store, so a
re-deploy (a new start, or a changed template) creates what is new, updates what changed
and deletes what was removed. Queues, topics and streams are updated in place, never
recreated, so their messages survive a re-deploy.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudlet.errors import CloudletError, ResourceNotFound
from cloudlet.functions import LOCAL_CODE_BUCKET
from cloudlet.router import Router
from cloudlet.store import Put, Store
from cloudlet.templates import Application, Resource, local_code_path, state_machine_definition

logger = logging.getLogger(__name__)

NAMESPACE = "cloudlet.deployments"

Record = dict[str, Any]


class DeployError(CloudletError):
    """A resource could not be created, updated or deleted; the message names it and its line."""

    code = "DeployFailed"


@dataclass
class DeployResult:
    """What a deploy did, resource by resource."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _fingerprint(resource: Resource) -> str:
    text = json.dumps([resource.type, resource.properties], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _tags(value: Any, key: str = "Key", val: str = "Value") -> list[dict[str, str]]:
    return [{key: str(t["Key"]), val: str(t["Value"])} for t in value or []]


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _pick(props: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: props[n] for n in names if n in props}


class Deployer:
    """Creates, updates and deletes an application's resources through the router."""

    def __init__(self, router: Router, store: Store, *, app_dir: Path, stack_name: str) -> None:
        self.router = router
        self.store = store
        self.app_dir = app_dir
        self.stack_name = stack_name
        self.layer_paths: dict[str, str] = {}

    async def _call(self, service: str, operation: str, params: dict[str, Any]) -> Any:
        return await self.router.call(service, operation, params)

    # -- the whole application -------------------------------------------------------------
    async def deploy(self, app: Application) -> DeployResult:
        """Bring the services in line with ``app``; returns what changed."""
        previous: dict[str, Record] = await self.store.get(NAMESPACE, self.stack_name) or {}
        current: dict[str, Record] = {}
        result = DeployResult()
        for resource in app.of_type("AWS::Lambda::LayerVersion"):
            path = local_code_path(resource.properties.get("Content"))
            if path is not None:
                self.layer_paths[resource.names.ref] = str((self.app_dir / path).resolve())
        # Deletions first (reverse creation order), so names can be reused by new resources.
        for lid in reversed(list(previous)):
            old = previous[lid]
            new = app.resources.get(lid)
            if new is None or new.type != old["type"]:
                await self._run(lid, old.get("line"), "delete", HANDLERS[old["type"]].delete(self, old))
                result.deleted.append(lid)
                await self._save(previous, lid, None)
        for lid, resource in app.resources.items():
            handler = HANDLERS[resource.type]
            deployed = previous.get(lid)
            fingerprint = _fingerprint(resource)
            if deployed is not None and deployed["type"] == resource.type:
                if deployed["fingerprint"] == fingerprint:
                    current[lid] = deployed
                    result.unchanged.append(lid)
                    continue
                work = handler.update(self, deployed, resource)
                physical = await self._run(lid, resource.line, "update", work)
                result.updated.append(lid)
            else:
                physical = await self._run(lid, resource.line, "create", handler.create(self, resource))
                result.created.append(lid)
            current[lid] = {
                "type": resource.type,
                "fingerprint": fingerprint,
                "line": resource.line,
                "name": resource.name,
                "physical": physical or {},
            }
            await self._save(previous, lid, current[lid])
        await self.store.write([Put(NAMESPACE, self.stack_name, current)])
        return result

    async def _save(self, records: dict[str, Record], lid: str, record: Record | None) -> None:
        # Progress is saved after each resource, so a crash mid-deploy is repaired by the next one.
        if record is None:
            records.pop(lid, None)
        else:
            records[lid] = record
        await self.store.write([Put(NAMESPACE, self.stack_name, records)])

    async def _run(
        self, lid: str, line: int | None, action: str, work: Awaitable[Record | None]
    ) -> Record | None:
        try:
            return await work
        except CloudletError as exc:
            where = f" (line {line})" if line else ""
            raise DeployError(f"Could not {action} {lid}{where}: {exc.code}: {exc.message}") from exc

    async def records(self) -> dict[str, Record]:
        """What the last deploy left running."""
        return await self.store.get(NAMESPACE, self.stack_name) or {}

    # -- helpers used by handlers ------------------------------------------------------------
    def code(self, props: dict[str, Any]) -> dict[str, Any]:
        code = props.get("Code") or {}
        path = local_code_path(code)
        if path is not None:
            return {"S3Bucket": LOCAL_CODE_BUCKET, "S3Key": str((self.app_dir / path).resolve())}
        if "ZipFile" in code:  # inline code: Lambda stores it as index.py
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("index.py", str(code["ZipFile"]))
            return {"ZipFile": buffer.getvalue()}
        raise DeployError("Code must be a local CodeUri or inline ZipFile; S3 code cannot be fetched locally")


Create = Callable[[Deployer, Resource], Awaitable[Record | None]]
Update = Callable[[Deployer, Record, Resource], Awaitable[Record | None]]
Remove = Callable[[Deployer, Record], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    create: Create
    update: Update
    delete: Remove


def _replacing(create: Create, delete: Remove) -> Update:
    """An update that deletes the old resource and creates the new one."""

    async def update(d: Deployer, old: Record, new: Resource) -> Record | None:
        await delete(d, old)
        return await create(d, new)

    return update


async def _ignore_missing(work: Awaitable[Any]) -> None:
    try:
        await work
    except ResourceNotFound:
        pass
    except CloudletError as exc:
        if "NotFound" in exc.code or "DoesNotExist" in exc.code or "NonExistent" in exc.code:
            return
        raise


# -- functions ---------------------------------------------------------------------------------
_FUNCTION_CONFIG = (
    "Runtime",
    "Handler",
    "MemorySize",
    "Timeout",
    "Environment",
    "Description",
    "DeadLetterConfig",
    "SnapStart",
    "Architectures",
    "EphemeralStorage",
    "TracingConfig",
)


def _function_params(d: Deployer, r: Resource) -> dict[str, Any]:
    params = _pick(r.properties, _FUNCTION_CONFIG)
    params["FunctionName"] = r.name
    params["Role"] = r.properties.get("Role") or f"arn:aws:iam::000000000000:role/{r.name}-role"
    layers = [d.layer_paths.get(str(arn), str(arn)) for arn in r.properties.get("Layers") or []]
    if layers:
        params["Layers"] = layers
    return params


async def _function_concurrency(d: Deployer, r: Resource) -> None:
    reserved = r.properties.get("ReservedConcurrentExecutions")
    if reserved is not None:
        await d._call(
            "lambda",
            "PutFunctionConcurrency",
            {"FunctionName": r.name, "ReservedConcurrentExecutions": int(reserved)},
        )
    else:
        await _ignore_missing(d._call("lambda", "DeleteFunctionConcurrency", {"FunctionName": r.name}))


async def _create_function(d: Deployer, r: Resource) -> Record:
    params = _function_params(d, r)
    params["Code"] = d.code(r.properties)
    tags = {t["Key"]: t["Value"] for t in _tags(r.properties.get("Tags"))}
    if tags:
        params["Tags"] = tags
    await d._call("lambda", "CreateFunction", params)
    await _function_concurrency(d, r)
    return {"FunctionName": r.name}


async def _update_function(d: Deployer, old: Record, r: Resource) -> Record:
    if old["name"] != r.name:
        await _delete_function(d, old)
        return await _create_function(d, r)
    params = _function_params(d, r)
    params.pop("Role", None)
    await d._call("lambda", "UpdateFunctionCode", {"FunctionName": r.name, **d.code(r.properties)})
    await d._call("lambda", "UpdateFunctionConfiguration", params)
    await _function_concurrency(d, r)
    return {"FunctionName": r.name}


async def _delete_function(d: Deployer, old: Record) -> None:
    await _ignore_missing(d._call("lambda", "DeleteFunction", {"FunctionName": old["name"]}))


async def _put_invoke_config(d: Deployer, r: Resource) -> Record:
    params = _pick(
        r.properties,
        ("FunctionName", "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"),
    )
    qualifier = r.properties.get("Qualifier")
    if qualifier and qualifier != "$LATEST":
        params["Qualifier"] = qualifier
    await d._call("lambda", "PutFunctionEventInvokeConfig", params)
    return {"FunctionName": params["FunctionName"], "Qualifier": params.get("Qualifier")}


async def _delete_invoke_config(d: Deployer, old: Record) -> None:
    physical = old["physical"]
    params = {"FunctionName": physical["FunctionName"]}
    if physical.get("Qualifier"):
        params["Qualifier"] = physical["Qualifier"]
    await _ignore_missing(d._call("lambda", "DeleteFunctionEventInvokeConfig", params))


_MAPPING_FIELDS = (
    "FunctionName",
    "EventSourceArn",
    "BatchSize",
    "Enabled",
    "MaximumBatchingWindowInSeconds",
    "FunctionResponseTypes",
    "FilterCriteria",
    "StartingPosition",
    "StartingPositionTimestamp",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "ParallelizationFactor",
    "ScalingConfig",
    "TumblingWindowInSeconds",
)


async def _create_mapping(d: Deployer, r: Resource) -> Record:
    params = _pick(r.properties, _MAPPING_FIELDS)
    if isinstance(params.get("StartingPositionTimestamp"), (int, float)):
        from datetime import UTC, datetime

        params["StartingPositionTimestamp"] = datetime.fromtimestamp(params["StartingPositionTimestamp"], UTC)
    response = await d._call("lambda", "CreateEventSourceMapping", params)
    return {"UUID": response["UUID"]}


async def _delete_mapping(d: Deployer, old: Record) -> None:
    await _ignore_missing(d._call("lambda", "DeleteEventSourceMapping", {"UUID": old["physical"]["UUID"]}))


# -- workflows ----------------------------------------------------------------------------------
def _machine_params(r: Resource) -> dict[str, Any]:
    params: dict[str, Any] = {
        "definition": state_machine_definition(r),
        "roleArn": r.properties.get("RoleArn") or f"arn:aws:iam::000000000000:role/{r.name}",
    }
    return params


async def _create_machine(d: Deployer, r: Resource) -> Record:
    params = _machine_params(r)
    params["name"] = r.name
    params["type"] = r.properties.get("StateMachineType", "STANDARD")
    tags = _tags(r.properties.get("Tags"), "key", "value")
    if tags:
        params["tags"] = tags
    response = await d._call("states", "CreateStateMachine", params)
    return {"stateMachineArn": response["stateMachineArn"]}


async def _update_machine(d: Deployer, old: Record, r: Resource) -> Record:
    old_type = old.get("physical", {}).get("type")
    if old["name"] != r.name or (old_type and old_type != r.properties.get("StateMachineType", "STANDARD")):
        await _delete_machine(d, old)
        return await _create_machine(d, r)
    arn = old["physical"]["stateMachineArn"]
    await d._call("states", "UpdateStateMachine", {"stateMachineArn": arn, **_machine_params(r)})
    return {"stateMachineArn": arn}


async def _delete_machine(d: Deployer, old: Record) -> None:
    await _ignore_missing(
        d._call("states", "DeleteStateMachine", {"stateMachineArn": old["physical"]["stateMachineArn"]})
    )


# -- events ---------------------------------------------------------------------------------------
async def _create_bus(d: Deployer, r: Resource) -> Record:
    if r.name != "default":
        await d._call("events", "CreateEventBus", {"Name": r.name})
    return {"Name": r.name}


async def _delete_bus(d: Deployer, old: Record) -> None:
    if old["name"] != "default":
        await _ignore_missing(d._call("events", "DeleteEventBus", {"Name": old["name"]}))


def _bus_name(value: Any) -> str:
    text = str(value or "default")
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


async def _put_rule(d: Deployer, r: Resource, previous: Record | None = None) -> Record:
    props = r.properties
    bus = _bus_name(props.get("EventBusName"))
    params: dict[str, Any] = {"Name": r.name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
    if "EventPattern" in props:
        params["EventPattern"] = _json_text(props["EventPattern"])
    if "ScheduleExpression" in props:
        params["ScheduleExpression"] = props["ScheduleExpression"]
    if "Description" in props:
        params["Description"] = props["Description"]
    await d._call("events", "PutRule", params)
    targets = []
    for target in props.get("Targets") or []:
        entry = _pick(
            target,
            (
                "Id",
                "Arn",
                "Input",
                "InputPath",
                "InputTransformer",
                "RetryPolicy",
                "DeadLetterConfig",
                "RoleArn",
                "SqsParameters",
            ),
        )
        targets.append(entry)
    new_ids = {t["Id"] for t in targets}
    stale = [i for i in (previous or {}).get("physical", {}).get("Targets", []) if i not in new_ids]
    if stale:
        await d._call("events", "RemoveTargets", {"Rule": r.name, "EventBusName": bus, "Ids": stale})
    if targets:
        await d._call("events", "PutTargets", {"Rule": r.name, "EventBusName": bus, "Targets": targets})
    return {"Name": r.name, "EventBusName": bus, "Targets": sorted(new_ids)}


async def _update_rule(d: Deployer, old: Record, r: Resource) -> Record:
    bus = _bus_name(r.properties.get("EventBusName"))
    if old["name"] != r.name or old["physical"].get("EventBusName") != bus:
        await _delete_rule(d, old)
        return await _put_rule(d, r)
    return await _put_rule(d, r, old)


async def _delete_rule(d: Deployer, old: Record) -> None:
    physical = old["physical"]
    bus = physical.get("EventBusName", "default")
    if physical.get("Targets"):
        await _ignore_missing(
            d._call(
                "events",
                "RemoveTargets",
                {"Rule": physical["Name"], "EventBusName": bus, "Ids": physical["Targets"]},
            )
        )
    await _ignore_missing(d._call("events", "DeleteRule", {"Name": physical["Name"], "EventBusName": bus}))


async def _create_archive(d: Deployer, r: Resource) -> Record:
    params = {"ArchiveName": r.name, "EventSourceArn": r.properties["SourceArn"]}
    if "EventPattern" in r.properties:
        params["EventPattern"] = _json_text(r.properties["EventPattern"])
    for key in ("RetentionDays", "Description"):
        if key in r.properties:
            params[key] = r.properties[key]
    await d._call("events", "CreateArchive", params)
    return {"ArchiveName": r.name}


async def _delete_archive(d: Deployer, old: Record) -> None:
    await _ignore_missing(d._call("events", "DeleteArchive", {"ArchiveName": old["name"]}))


async def _create_schedule(d: Deployer, r: Resource) -> Record:
    """EventBridge Scheduler schedules run as scheduled rules on the default bus (rate and cron)."""
    props = r.properties
    expression = str(props.get("ScheduleExpression", ""))
    timezone = props.get("ScheduleExpressionTimezone")
    if expression.startswith("at(") or (timezone and timezone not in ("UTC", "Etc/UTC")):
        raise DeployError(
            f"Schedule {r.name}: one-time at() schedules and time zones other than UTC "
            "are not supported by cloudlet yet"
        )
    target = props.get("Target") or {}
    rule_name = f"scheduler-{r.name}"
    entry = {"Id": "target", "Arn": target["Arn"]}
    for key in ("Input", "RetryPolicy", "DeadLetterConfig"):
        if key in target:
            entry[key] = target[key]
    state = props.get("State", "ENABLED")
    await d._call("events", "PutRule", {"Name": rule_name, "ScheduleExpression": expression, "State": state})
    await d._call("events", "PutTargets", {"Rule": rule_name, "Targets": [entry]})
    return {"Name": rule_name, "EventBusName": "default", "Targets": ["target"]}


# -- messaging --------------------------------------------------------------------------------------
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
)


def _queue_attributes(r: Resource) -> dict[str, str]:
    return {k: _attribute_text(v) for k, v in _pick(r.properties, _QUEUE_ATTRIBUTES).items()}


async def _create_queue(d: Deployer, r: Resource) -> Record:
    params: dict[str, Any] = {"QueueName": r.name, "Attributes": _queue_attributes(r)}
    tags = {t["Key"]: t["Value"] for t in _tags(r.properties.get("Tags"))}
    if tags:
        params["tags"] = tags
    response = await d._call("sqs", "CreateQueue", params)
    return {"QueueUrl": response["QueueUrl"]}


async def _update_queue(d: Deployer, old: Record, r: Resource) -> Record:
    if old["name"] != r.name:
        await _delete_queue(d, old)
        return await _create_queue(d, r)
    url = old["physical"]["QueueUrl"]
    attributes = _queue_attributes(r)
    attributes.pop("FifoQueue", None)  # cannot change after creation
    if attributes:
        await d._call("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": attributes})
    return {"QueueUrl": url}


async def _delete_queue(d: Deployer, old: Record) -> None:
    await _ignore_missing(d._call("sqs", "DeleteQueue", {"QueueUrl": old["physical"]["QueueUrl"]}))


_TOPIC_ATTRIBUTES = (
    "DisplayName",
    "FifoTopic",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "TracingConfig",
    "SignatureVersion",
    "ArchivePolicy",
)


async def _subscribe_inline(d: Deployer, arn: str, r: Resource) -> list[str]:
    """The topic's inline ``Subscription`` list, subscribed; returns the subscription ARNs."""
    subscriptions = []
    for sub in r.properties.get("Subscription") or []:
        params = {
            "TopicArn": arn,
            "Protocol": sub["Protocol"],
            "Endpoint": sub["Endpoint"],
            "ReturnSubscriptionArn": True,
        }
        created = await d._call("sns", "Subscribe", params)
        subscriptions.append(created["SubscriptionArn"])
    return subscriptions


async def _create_topic(d: Deployer, r: Resource) -> Record:
    attributes = {k: _attribute_text(v) for k, v in _pick(r.properties, _TOPIC_ATTRIBUTES).items()}
    params: dict[str, Any] = {"Name": r.name, "Attributes": attributes}
    tags = _tags(r.properties.get("Tags"))
    if tags:
        params["Tags"] = tags
    response = await d._call("sns", "CreateTopic", params)
    arn = response["TopicArn"]
    subscriptions = await _subscribe_inline(d, arn, r)
    return {"TopicArn": arn, "Subscriptions": subscriptions}


async def _update_topic(d: Deployer, old: Record, r: Resource) -> Record:
    if old["name"] != r.name:
        await _delete_topic(d, old)
        return await _create_topic(d, r)
    arn = old["physical"]["TopicArn"]
    for key, value in _pick(r.properties, _TOPIC_ATTRIBUTES).items():
        if key != "FifoTopic":
            await d._call(
                "sns",
                "SetTopicAttributes",
                {"TopicArn": arn, "AttributeName": key, "AttributeValue": _attribute_text(value)},
            )
    for sub_arn in old["physical"].get("Subscriptions", []):
        await _ignore_missing(d._call("sns", "Unsubscribe", {"SubscriptionArn": sub_arn}))
    subscriptions = await _subscribe_inline(d, arn, r)
    return {"TopicArn": arn, "Subscriptions": subscriptions}


async def _delete_topic(d: Deployer, old: Record) -> None:
    await _ignore_missing(d._call("sns", "DeleteTopic", {"TopicArn": old["physical"]["TopicArn"]}))


async def _create_subscription(d: Deployer, r: Resource) -> Record:
    props = r.properties
    attributes = {
        k: _attribute_text(v)
        for k, v in _pick(
            props,
            ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy"),
        ).items()
    }
    params: dict[str, Any] = {
        "TopicArn": props["TopicArn"],
        "Protocol": props["Protocol"],
        "Endpoint": props.get("Endpoint"),
        "ReturnSubscriptionArn": True,
    }
    if attributes:
        params["Attributes"] = attributes
    response = await d._call("sns", "Subscribe", params)
    return {"SubscriptionArn": response["SubscriptionArn"]}


async def _delete_subscription(d: Deployer, old: Record) -> None:
    await _ignore_missing(
        d._call("sns", "Unsubscribe", {"SubscriptionArn": old["physical"]["SubscriptionArn"]})
    )


async def _create_stream(d: Deployer, r: Resource) -> Record:
    props = r.properties
    on_demand = (props.get("StreamModeDetails") or {}).get("StreamMode") == "ON_DEMAND"
    declared = props.get("ShardCount")
    shards = int(declared) if declared is not None else (4 if on_demand else 1)  # 0 is refused, not 1
    await d._call("kinesis", "CreateStream", {"StreamName": r.name, "ShardCount": shards})
    hours = props.get("RetentionPeriodHours")
    if hours and int(hours) > 24:
        await d._call(
            "kinesis",
            "IncreaseStreamRetentionPeriod",
            {"StreamName": r.name, "RetentionPeriodHours": int(hours)},
        )
    return {"StreamName": r.name, "ShardCount": shards}


async def _delete_stream(d: Deployer, old: Record) -> None:
    await _ignore_missing(
        d._call("kinesis", "DeleteStream", {"StreamName": old["name"], "EnforceConsumerDeletion": True})
    )


async def _update_stream(d: Deployer, old: Record, r: Resource) -> Record:
    if old["name"] != r.name:
        await _delete_stream(d, old)
        return await _create_stream(d, r)
    hours = r.properties.get("RetentionPeriodHours")
    if hours and int(hours) > 24:
        await d._call(
            "kinesis",
            "IncreaseStreamRetentionPeriod",
            {"StreamName": r.name, "RetentionPeriodHours": int(hours)},
        )
    physical: Record = old["physical"]
    return physical


# -- resources with nothing to run in a service ---------------------------------------------------------
async def _nothing(d: Deployer, r: Resource) -> Record:
    return {}


async def _nothing_to_delete(d: Deployer, old: Record) -> None:
    return None


HANDLERS: dict[str, Handler] = {
    "AWS::Lambda::Function": Handler(_create_function, _update_function, _delete_function),
    "AWS::Lambda::EventInvokeConfig": Handler(
        _put_invoke_config, _replacing(_put_invoke_config, _delete_invoke_config), _delete_invoke_config
    ),
    "AWS::Lambda::EventSourceMapping": Handler(
        _create_mapping, _replacing(_create_mapping, _delete_mapping), _delete_mapping
    ),
    "AWS::Lambda::LayerVersion": Handler(
        _nothing, _replacing(_nothing, _nothing_to_delete), _nothing_to_delete
    ),
    "AWS::StepFunctions::StateMachine": Handler(_create_machine, _update_machine, _delete_machine),
    "AWS::Events::EventBus": Handler(_create_bus, _replacing(_create_bus, _delete_bus), _delete_bus),
    "AWS::Events::Rule": Handler(_put_rule, _update_rule, _delete_rule),
    "AWS::Events::Archive": Handler(
        _create_archive, _replacing(_create_archive, _delete_archive), _delete_archive
    ),
    "AWS::Scheduler::Schedule": Handler(
        _create_schedule, _replacing(_create_schedule, _delete_rule), _delete_rule
    ),
    "AWS::SQS::Queue": Handler(_create_queue, _update_queue, _delete_queue),
    "AWS::SNS::Topic": Handler(_create_topic, _update_topic, _delete_topic),
    "AWS::SNS::Subscription": Handler(
        _create_subscription, _replacing(_create_subscription, _delete_subscription), _delete_subscription
    ),
    "AWS::Kinesis::Stream": Handler(_create_stream, _update_stream, _delete_stream),
    # HTTP APIs are served by the API layer from the routes the runtime hands it.
    "AWS::ApiGatewayV2::Api": Handler(_nothing, _replacing(_nothing, _nothing_to_delete), _nothing_to_delete),
    "AWS::ApiGateway::RestApi": Handler(
        _nothing, _replacing(_nothing, _nothing_to_delete), _nothing_to_delete
    ),
}
