"""Event source mappings: Lambda's pollers that feed queues and streams to functions.

``EventSourceMappings`` carries Lambda's CreateEventSourceMapping, UpdateEventSourceMapping,
DeleteEventSourceMapping, GetEventSourceMapping and ListEventSourceMappings. It registers
itself as part of the ``lambda`` API (beside the functions service), reaches queues, streams and
functions only through the router, and keeps mappings (``lambda.esm``) and stream checkpoints
(``lambda.esm.checkpoints``) in the store. Sources: SQS queues and Kinesis streams; other
sources (DynamoDB streams, Kafka, MQ, DocumentDB) are refused with an error naming them.
A queue mapping runs ``ScalingConfig.MaximumConcurrency`` pollers (five without it), each
invoking the function with its own batches, as Lambda's concurrent pollers do; a stream mapping
runs one reader per shard (ParallelizationFactor is recorded but does not add readers).

https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping as MappingType
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloudlet.arns import build_arn, parse_arn
from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import InvalidEventPattern, ResourceNotFound, ValidationError
from cloudlet.mappings.errors import InvalidParameterValue, MappingConflict, MappingNotFound
from cloudlet.mappings.kinesis import NS_CHECKPOINTS, poll_stream
from cloudlet.mappings.sqs import poll_queue
from cloudlet.patterns import EventPattern
from cloudlet.router import Router
from cloudlet.store import Delete, Op, Put, Store

log = logging.getLogger(__name__)

NS_MAPPINGS = "lambda.esm"
#: Concurrent pollers of a queue mapping without ScalingConfig (Lambda starts with five).
SQS_POLLERS = 5

_UPDATABLE = (
    "BatchSize",
    "FilterCriteria",
    "MaximumBatchingWindowInSeconds",
    "DestinationConfig",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "FunctionResponseTypes",
    "ScalingConfig",
)


@dataclass
class Mapping:
    """One event source mapping: its API-shaped configuration and compiled filters."""

    uuid: str
    config: dict[str, Any]
    created: float
    last_modified: float
    enabled: bool
    role_arn: str
    filters: list[EventPattern] = field(default_factory=list)
    last_result: str = "No records processed"

    @property
    def function_arn(self) -> str:
        return str(self.config["FunctionArn"])

    @property
    def source(self) -> str:
        return parse_arn(self.config["EventSourceArn"]).service

    def accepts(self, view: dict[str, Any]) -> bool:
        """Whether a record passes FilterCriteria (any filter matching; no filters: all pass)."""
        return not self.filters or any(f.matches(view) for f in self.filters)

    def doc(self) -> dict[str, Any]:
        config = dict(self.config)
        if isinstance(config.get("StartingPositionTimestamp"), datetime):
            config["StartingPositionTimestamp"] = config["StartingPositionTimestamp"].timestamp()
        return {
            "config": config,
            "created": self.created,
            "modified": self.last_modified,
            "enabled": self.enabled,
            "role": self.role_arn,
        }


class EventSourceMappings:
    """Lambda event source mappings for SQS queues and Kinesis streams."""

    def __init__(self, *, store: Store, router: Router, clock: Clock, config: ServiceConfig) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.config = config
        self._mappings: dict[str, Mapping] = {}
        self._pollers: dict[str, list[asyncio.Task[None]]] = {}
        self._started = False
        router.register_api("lambda", self)

    # -- life cycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        for key, doc in await self.store.scan(NS_MAPPINGS):
            config = doc["config"]
            if isinstance(config.get("StartingPositionTimestamp"), int | float):
                config["StartingPositionTimestamp"] = datetime.fromtimestamp(
                    config["StartingPositionTimestamp"], UTC
                )
            mapping = Mapping(key, config, doc["created"], doc["modified"], doc["enabled"], doc["role"])
            mapping.filters = _compile_filters(config.get("FilterCriteria"))
            self._mappings[key] = mapping
        self._started = True
        for mapping in self._mappings.values():
            if mapping.enabled:
                self._start_poller(mapping)

    async def stop(self) -> None:
        self._started = False
        for key in list(self._pollers):
            await self._stop_poller(key)

    def _start_poller(self, mapping: Mapping) -> None:
        """Start the mapping's pollers: several for a queue (Lambda polls a queue concurrently)."""
        if not self._started or mapping.uuid in self._pollers:
            return
        loop = asyncio.get_running_loop()
        if mapping.source == "sqs":
            count = int((mapping.config.get("ScalingConfig") or {}).get("MaximumConcurrency") or SQS_POLLERS)
            tasks = [loop.create_task(poll_queue(self, mapping)) for _ in range(count)]
        else:
            tasks = [loop.create_task(poll_stream(self, mapping))]
        self._pollers[mapping.uuid] = tasks

    async def _stop_poller(self, key: str) -> None:
        tasks = self._pollers.pop(key, [])
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- describing ----------------------------------------------------------------------------------
    def _describe(self, mapping: Mapping, state: str | None = None) -> dict[str, Any]:
        out = {k: v for k, v in mapping.config.items() if v is not None}
        out["UUID"] = mapping.uuid
        out["LastModified"] = datetime.fromtimestamp(mapping.last_modified, UTC)
        out["LastProcessingResult"] = mapping.last_result
        out["State"] = state or ("Enabled" if mapping.enabled else "Disabled")
        out["StateTransitionReason"] = "USER_INITIATED"
        out["EventSourceMappingArn"] = build_arn(
            "lambda",
            f"event-source-mapping:{mapping.uuid}",
            region=self.config.region,
            account=self.config.account,
        )
        return out

    def _get(self, key: str) -> Mapping:
        mapping = self._mappings.get(key)
        if mapping is None:
            raise MappingNotFound(
                f"The resource you requested does not exist. (Service: Lambda, UUID: {key})"
            )
        return mapping

    # -- operations ---------------------------------------------------------------------------------------
    async def create_event_source_mapping(
        self,
        FunctionName: str,
        EventSourceArn: str | None = None,
        Enabled: bool | None = None,
        BatchSize: int | None = None,
        FilterCriteria: MappingType[str, Any] | None = None,
        MaximumBatchingWindowInSeconds: int | None = None,
        ParallelizationFactor: int | None = None,
        StartingPosition: str | None = None,
        StartingPositionTimestamp: Any = None,
        DestinationConfig: MappingType[str, Any] | None = None,
        MaximumRecordAgeInSeconds: int | None = None,
        BisectBatchOnFunctionError: bool | None = None,
        MaximumRetryAttempts: int | None = None,
        Tags: MappingType[str, str] | None = None,
        TumblingWindowInSeconds: int | None = None,
        FunctionResponseTypes: Sequence[str] | None = None,
        ScalingConfig: MappingType[str, Any] | None = None,
        **unsupported: Any,
    ) -> dict[str, Any]:
        _refuse_unsupported(unsupported)
        if not EventSourceArn:
            raise InvalidParameterValue(
                "Unrecognized event source, must be kafka or specify an EventSourceArn."
            )
        source = _source_of(EventSourceArn)
        function_arn, role_arn = await self._resolve_function(FunctionName)
        for other in self._mappings.values():
            if other.config["EventSourceArn"] == EventSourceArn and other.function_arn == function_arn:
                raise MappingConflict(
                    f"The event source arn ({EventSourceArn}) and function ({FunctionName}) provided mapping "
                    f"already exists. Please update or delete the existing mapping with UUID {other.uuid}"
                )
        if source == "sqs":
            if StartingPosition is not None:
                raise InvalidParameterValue("StartingPosition is not valid for SQS event sources.")
            if DestinationConfig:
                raise InvalidParameterValue(
                    "Unsupported DestinationConfig parameter for given event source mapping type."
                )
        elif StartingPosition not in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
            raise InvalidParameterValue(
                "1 validation error detected: Value at 'startingPosition' failed to satisfy constraint: "
                "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]"
            )
        elif StartingPosition == "AT_TIMESTAMP" and StartingPositionTimestamp is None:
            raise InvalidParameterValue(
                "StartingPositionTimestamp is required when StartingPosition is AT_TIMESTAMP."
            )
        config: dict[str, Any] = {
            "EventSourceArn": EventSourceArn,
            "FunctionArn": function_arn,
            "BatchSize": BatchSize if BatchSize is not None else (10 if source == "sqs" else 100),
            "MaximumBatchingWindowInSeconds": MaximumBatchingWindowInSeconds or 0,
            "FunctionResponseTypes": list(FunctionResponseTypes or []),
        }
        if FilterCriteria:
            config["FilterCriteria"] = dict(FilterCriteria)
        if ScalingConfig:
            config["ScalingConfig"] = dict(ScalingConfig)
        if source == "kinesis":
            config.update(
                StartingPosition=StartingPosition,
                ParallelizationFactor=ParallelizationFactor or 1,
                MaximumRecordAgeInSeconds=-1
                if MaximumRecordAgeInSeconds is None
                else MaximumRecordAgeInSeconds,
                BisectBatchOnFunctionError=bool(BisectBatchOnFunctionError),
                MaximumRetryAttempts=-1 if MaximumRetryAttempts is None else MaximumRetryAttempts,
                DestinationConfig=dict(DestinationConfig or {"OnFailure": {}}),
                TumblingWindowInSeconds=TumblingWindowInSeconds or 0,
            )
            if StartingPositionTimestamp is not None:
                config["StartingPositionTimestamp"] = _as_datetime(StartingPositionTimestamp)
        self._validate(config, source)
        filters = _compile_filters(config.get("FilterCriteria"))
        now = self.clock.time()
        mapping = Mapping(str(uuid.uuid4()), config, now, now, Enabled is not False, role_arn, filters)
        self._mappings[mapping.uuid] = mapping
        await self.store.write([Put(NS_MAPPINGS, mapping.uuid, mapping.doc())])
        if mapping.enabled:
            self._start_poller(mapping)
        log.info(
            "event source mapping created",
            extra={"action": "create_event_source_mapping", "uuid": mapping.uuid, "source": EventSourceArn},
        )
        return self._describe(mapping, "Creating")

    async def update_event_source_mapping(
        self,
        UUID: str,
        FunctionName: str | None = None,
        Enabled: bool | None = None,
        **changes: Any,
    ) -> dict[str, Any]:
        mapping = self._get(UUID)
        unknown = {k: v for k, v in changes.items() if k not in _UPDATABLE}
        _refuse_unsupported(unknown)
        config = dict(mapping.config)
        if FunctionName is not None:
            config["FunctionArn"], mapping.role_arn = await self._resolve_function(FunctionName)
        for key, value in changes.items():
            if value is not None:
                config[key] = list(value) if key == "FunctionResponseTypes" else value
        if mapping.source == "sqs" and config.get("DestinationConfig"):
            raise InvalidParameterValue(
                "Unsupported DestinationConfig parameter for given event source mapping type."
            )
        self._validate(config, mapping.source)
        filters = _compile_filters(config.get("FilterCriteria"))
        await self._stop_poller(mapping.uuid)
        mapping.config, mapping.filters = config, filters
        if Enabled is not None:
            mapping.enabled = Enabled
        mapping.last_modified = self.clock.time()
        await self.store.write([Put(NS_MAPPINGS, mapping.uuid, mapping.doc())])
        if mapping.enabled:
            self._start_poller(mapping)
        return self._describe(mapping, "Updating")

    async def delete_event_source_mapping(self, UUID: str) -> dict[str, Any]:
        mapping = self._get(UUID)
        await self._stop_poller(UUID)
        del self._mappings[UUID]
        ops: list[Op] = [Delete(NS_MAPPINGS, UUID)]
        ops += [Delete(NS_CHECKPOINTS, key) for key, _ in await self.store.scan(NS_CHECKPOINTS, f"{UUID}/")]
        await self.store.write(ops)
        return self._describe(mapping, "Deleting")

    async def get_event_source_mapping(self, UUID: str) -> dict[str, Any]:
        return self._describe(self._get(UUID))

    async def list_event_source_mappings(
        self,
        EventSourceArn: str | None = None,
        FunctionName: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        function_arn = self._function_arn(FunctionName) if FunctionName else None
        chosen = sorted(
            (
                m
                for m in self._mappings.values()
                if (EventSourceArn is None or m.config["EventSourceArn"] == EventSourceArn)
                and (function_arn is None or m.function_arn.split(":")[:7] == function_arn.split(":")[:7])
            ),
            key=lambda m: (m.created, m.uuid),
        )
        start = int(Marker) if Marker and Marker.isdigit() else 0
        limit = MaxItems or 100
        out: dict[str, Any] = {
            "EventSourceMappings": [self._describe(m) for m in chosen[start : start + limit]]
        }
        if start + limit < len(chosen):
            out["NextMarker"] = str(start + limit)
        return out

    # -- validation -----------------------------------------------------------------------------------------
    def _function_arn(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        if ":" in name:  # partial ARN or name:qualifier
            parts = name.split(":")
            if len(parts) >= 3 and parts[1] == "function":
                name = ":".join(parts[2:])
        return build_arn("lambda", f"function:{name}", region=self.config.region, account=self.config.account)

    async def _resolve_function(self, name: str) -> tuple[str, str]:
        """The function's ARN and role; ResourceNotFound when the functions service says it is missing."""
        arn = self._function_arn(name)
        role = f"arn:aws:iam::{self.config.account}:role/cloudlet-lambda-role"
        try:
            found = await self.router.call("lambda", "GetFunction", {"FunctionName": arn})
        except ResourceNotFound as exc:
            if "not running" in exc.message:
                return arn, role
            raise MappingNotFound(f"Function does not exist: {arn}") from None
        except ValidationError:
            return arn, role  # no functions service in this application: checked at invocation
        configuration = (found or {}).get("Configuration") or {}
        return arn, str(configuration.get("Role") or role)

    def _validate(self, config: dict[str, Any], source: str) -> None:
        batch = config["BatchSize"]
        window = config.get("MaximumBatchingWindowInSeconds") or 0
        fifo = source == "sqs" and config["EventSourceArn"].endswith(".fifo")
        high = 10 if fifo else 10_000
        if not 1 <= batch <= high:
            raise InvalidParameterValue(
                f"BatchSize must be between 1 and {high} for this event source; got {batch}."
            )
        concurrency = (config.get("ScalingConfig") or {}).get("MaximumConcurrency")
        if concurrency is not None and not 2 <= int(concurrency) <= 1000:
            raise InvalidParameterValue("ScalingConfig MaximumConcurrency must be between 2 and 1000.")
        if not 0 <= window <= 300:
            raise InvalidParameterValue("MaximumBatchingWindowInSeconds must be between 0 and 300.")
        if source == "sqs" and batch > 10 and window < 1:
            raise InvalidParameterValue(
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
                "greater than 10"
            )
        for kind in config.get("FunctionResponseTypes") or []:
            if kind != "ReportBatchItemFailures":
                raise InvalidParameterValue(f"Unsupported FunctionResponseTypes value: {kind}")
        if source == "kinesis":
            retries = config.get("MaximumRetryAttempts", -1)
            if not -1 <= retries <= 10_000:
                raise InvalidParameterValue("MaximumRetryAttempts must be between -1 and 10000.")
            age = config.get("MaximumRecordAgeInSeconds", -1)
            if age != -1 and not 60 <= age <= 604_800:
                raise InvalidParameterValue("MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.")
            destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            if destination:
                service = _arn_service(destination)
                if service not in ("sqs", "sns"):
                    raise InvalidParameterValue(
                        f"Unsupported OnFailure destination {destination}: cloudlet delivers to SQS "
                        "queues and SNS topics."
                    )


def _source_of(arn: str) -> str:
    service = _arn_service(arn)
    if service in ("sqs", "kinesis"):
        return service
    raise InvalidParameterValue(
        f"Unsupported event source {arn}: cloudlet's event source mappings read SQS queues and "
        "Kinesis streams."
    )


def _arn_service(arn: str) -> str:
    try:
        return parse_arn(arn).service
    except ValidationError:
        raise InvalidParameterValue(f"Invalid ARN: {arn}") from None


def _compile_filters(criteria: MappingType[str, Any] | None) -> list[EventPattern]:
    filters = (criteria or {}).get("Filters") or []
    if len(filters) > 5:
        raise InvalidParameterValue("FilterCriteria can have at most 5 filters.")
    out = []
    for item in filters:
        try:
            out.append(EventPattern(item.get("Pattern", "")))
        except InvalidEventPattern as exc:
            raise InvalidParameterValue(f"Invalid filter pattern definition. {exc.message}") from None
    return out


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def _refuse_unsupported(extra: MappingType[str, Any]) -> None:
    given = [k for k, v in extra.items() if v is not None]
    if given:
        raise InvalidParameterValue(
            f"cloudlet's event source mappings do not support {', '.join(sorted(given))} "
            "(Kafka, MQ, DocumentDB and self-managed sources are not implemented)."
        )


__all__ = ["EventSourceMappings", "Mapping"]
