"""The Functions service: Lambda's API operations over the store and the execution environments."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import random
import shutil
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from cloudlet.arns import build_arn
from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import TaskFailed, ValidationError
from cloudlet.functions.code import SKIP_DIRS, hash_directory, materialize_code
from cloudlet.functions.environments import EnvironmentHost, InitFailed, Outcome, Pool
from cloudlet.functions.errors import (
    MANDATORY_RUNTIME_HANDLER,
    REVISION_MISMATCH,
    FunctionConflict,
    FunctionNotFound,
    InvalidParameterValue,
    InvalidRequestContent,
    PreconditionFailed,
    RequestTooLarge,
    TooManyRequests,
)
from cloudlet.functions.event_invocations import EventQueue
from cloudlet.functions.interpreters import Interpreters
from cloudlet.functions.logs import FunctionLogs, invocation_lines, output_lines, tail
from cloudlet.functions.model import (
    ASYNC_PAYLOAD_LIMIT,
    DEFAULT_MAX_EVENT_AGE,
    DEFAULT_MAX_RETRY_ATTEMPTS,
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    LATEST,
    MIN_UNRESERVED_CONCURRENCY,
    RESPONSE_PAYLOAD_LIMIT,
    RUNTIMES,
    SYNC_PAYLOAD_LIMIT,
    FunctionRef,
    FunctionSpec,
    check_alias_name,
    check_range,
    check_variables,
    lambda_timestamp,
    parse_function_name,
)
from cloudlet.router import InvocationType, Router
from cloudlet.store import Delete, Put, Store

logger = logging.getLogger(__name__)

NAMESPACE = "lambda.functions"


class Functions:
    """Lambda-compatible functions: configuration, versions, aliases, invocation, logs."""

    def __init__(
        self,
        *,
        store: Store,
        router: Router,
        clock: Clock,
        config: ServiceConfig,
        concurrency_limit: int = 1000,
        min_unreserved_concurrency: int = MIN_UNRESERVED_CONCURRENCY,
        idle_timeout: float = 300.0,
        async_retry_delay: float = 60.0,
        snapshot_latest: bool = True,
    ) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.config = config
        self.concurrency_limit = concurrency_limit
        self.min_unreserved_concurrency = min_unreserved_concurrency
        #: cloudlet also restores $LATEST from a snapshot when SnapStart is on (AWS only does for versions)
        self.snapshot_latest = snapshot_latest
        self.data_dir = Path(config.data_dir).absolute() / "functions"
        self.host = EnvironmentHost(Interpreters(self.data_dir / "venvs"), idle_timeout=idle_timeout)
        self.host.on_snapshot_output = self._log_snapshot_output
        self.logs = FunctionLogs(store, clock, region=config.region, account=config.account)
        self.events = EventQueue(self, retry_delay=async_retry_delay)
        self._functions: dict[str, dict[str, Any]] = {}
        self._inflight: dict[str, int] = {}
        self._unreserved_inflight = 0
        self._write_lock = asyncio.Lock()
        router.register_api("lambda", self)
        router.register_owner("lambda", "function", self.deliver)

    # -- life cycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load functions from the store, start the environment host and the async queue."""
        for name, doc in await self.store.scan(NAMESPACE):
            self._functions[name] = doc
        await self.host.start()
        await self.logs.start()
        await self.events.start()

    async def stop(self) -> None:
        """Stop the async queue, kill every environment, flush logs."""
        await self.events.stop()
        await self.host.stop()
        await self.logs.stop()

    # -- helpers ---------------------------------------------------------------------------------------
    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        resource = f"function:{name}" + (f":{qualifier}" if qualifier else "")
        return build_arn("lambda", resource, region=self.config.region, account=self.config.account)

    def _not_found(self, name: str, qualifier: str | None = None) -> FunctionNotFound:
        return FunctionNotFound(f"Function not found: {self.function_arn(name, qualifier)}")

    def _doc(self, name: str, qualifier: str | None = None) -> dict[str, Any]:
        doc = self._functions.get(name)
        if doc is None:
            raise self._not_found(name, qualifier)
        return doc

    async def _save(self, doc: dict[str, Any]) -> None:
        name = doc["config"]["FunctionName"]
        self._functions[name] = doc
        await self.store.write([Put(NAMESPACE, name, doc)])

    def _resolve(self, ref: FunctionRef) -> tuple[dict[str, Any], str, dict[str, Any], str]:
        """(doc, executed version, that version's configuration, its code dir) for a reference."""
        doc = self._doc(ref.name, ref.qualifier)
        qualifier = ref.qualifier or LATEST
        if qualifier == LATEST:
            return doc, LATEST, doc["config"], doc["code"]["dir"]
        if qualifier.isdigit():
            version = doc["versions"].get(qualifier)
            if version is None:
                raise self._not_found(ref.name, qualifier)
            return doc, qualifier, version["config"], version["code_dir"]
        alias = doc["aliases"].get(qualifier)
        if alias is None:
            raise self._not_found(ref.name, qualifier)
        chosen = alias["FunctionVersion"]
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        roll = random.random()
        for extra_version, weight in weights.items():
            if roll < weight:
                chosen = extra_version
                break
            roll -= weight
        return self._resolve(FunctionRef(ref.name, chosen))

    def _spec(self, version: str, config: dict[str, Any], code_dir: str) -> FunctionSpec:
        snap = (config.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions"
        if version == LATEST and not self.snapshot_latest:
            snap = False
        return FunctionSpec(
            name=config["FunctionName"],
            version=version,
            revision=config["RevisionId"],
            arn=self.function_arn(config["FunctionName"]),
            handler=config.get("Handler") or "",
            runtime=config.get("Runtime") or "python3.12",
            code_dir=code_dir,
            layers=tuple(layer["Arn"] for layer in config.get("Layers") or []),
            memory_mb=config["MemorySize"],
            timeout=float(config["Timeout"]),
            variables=tuple(sorted(((config.get("Environment") or {}).get("Variables") or {}).items())),
            snapshot=snap,
            region=self.config.region,
            endpoint_url=self.config.endpoint_url,
        )

    # -- code ------------------------------------------------------------------------------------------
    # -- configuration -------------------------------------------------------------------------------
    def _apply_config(self, config: dict[str, Any], params: dict[str, Any], *, creating: bool) -> None:
        if "Runtime" in params and params["Runtime"] is not None:
            if params["Runtime"] not in RUNTIMES:
                raise InvalidParameterValue(
                    f"Value {params['Runtime']} at 'runtime' failed to satisfy constraint: "
                    "Member must satisfy "
                    f"enum value set: [{', '.join(sorted(RUNTIMES))}] or be a valid ARN"
                )
            config["Runtime"] = params["Runtime"]
        if params.get("Handler") is not None:
            config["Handler"] = params["Handler"]
        if params.get("Role") is not None:
            config["Role"] = params["Role"]
        if params.get("Description") is not None:
            config["Description"] = params["Description"]
        if params.get("Timeout") is not None:
            check_range("timeout", params["Timeout"], 1, 900)
            config["Timeout"] = params["Timeout"]
        if params.get("MemorySize") is not None:
            check_range("memorySize", params["MemorySize"], 128, 10240)
            config["MemorySize"] = params["MemorySize"]
        if params.get("Environment") is not None:
            variables = check_variables((params["Environment"] or {}).get("Variables"))
            config["Environment"] = {"Variables": variables}
        if params.get("Layers") is not None:
            config["Layers"] = [{"Arn": layer, "CodeSize": 0} for layer in params["Layers"]]
        if params.get("DeadLetterConfig") is not None:
            dlq = params["DeadLetterConfig"] or {}
            if dlq.get("TargetArn"):
                config["DeadLetterConfig"] = {"TargetArn": dlq["TargetArn"]}
            else:
                config.pop("DeadLetterConfig", None)
        if params.get("TracingConfig") is not None:
            config["TracingConfig"] = {"Mode": params["TracingConfig"].get("Mode", "PassThrough")}
        if params.get("SnapStart") is not None:
            apply_on = params["SnapStart"].get("ApplyOn", "None")
            if apply_on not in ("PublishedVersions", "None"):
                raise ValidationError(
                    f"1 validation error detected: Value '{apply_on}' at 'snapStart.applyOn' "
                    "failed to satisfy "
                    "constraint: Member must satisfy enum value set: [PublishedVersions, None]"
                )
            config["SnapStart"] = {"ApplyOn": apply_on, "OptimizationStatus": "Off"}
        if params.get("EphemeralStorage") is not None:
            config["EphemeralStorage"] = {"Size": params["EphemeralStorage"].get("Size", 512)}
        if params.get("Architectures") is not None:
            config["Architectures"] = list(params["Architectures"])
        if params.get("LoggingConfig") is not None:
            config["LoggingConfig"] = {**config.get("LoggingConfig", {}), **params["LoggingConfig"]}
        if creating and config.get("PackageType", "Zip") == "Zip":
            if not config.get("Runtime"):
                raise InvalidParameterValue(MANDATORY_RUNTIME_HANDLER)
            if not config.get("Handler"):
                raise InvalidParameterValue(MANDATORY_RUNTIME_HANDLER)

    def _touch(self, config: dict[str, Any]) -> None:
        config["LastModified"] = lambda_timestamp(self.clock.time())
        config["RevisionId"] = str(uuid.uuid4())

    def _public_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(config))

    async def create_function(
        self,
        FunctionName: str,
        Code: dict[str, Any],
        Runtime: str | None = None,
        Role: str | None = None,
        Handler: str | None = None,
        Publish: bool = False,
        Tags: dict[str, str] | None = None,
        PackageType: str = "Zip",
        **params: Any,
    ) -> dict[str, Any]:
        """CreateFunction; ``Code`` is ``{"ZipFile": bytes}`` or ``{"S3Bucket": "local", "S3Key": DIR}``."""
        ref = parse_function_name(FunctionName)
        if ref.qualifier is not None:
            raise InvalidParameterValue("Function name cannot be qualified when creating a function.")
        name = ref.name
        if PackageType != "Zip":
            raise InvalidParameterValue(
                "cloudlet runs Zip packages only; PackageType Image is not supported."
            )
        async with self._write_lock:
            if name in self._functions:
                raise FunctionConflict(f"Function already exist: {name}")
            config: dict[str, Any] = {
                "FunctionName": name,
                "FunctionArn": self.function_arn(name),
                "Role": Role or f"arn:aws:iam::{self.config.account}:role/cloudlet-lambda",
                "CodeSize": 0,
                "Description": "",
                "Timeout": DEFAULT_TIMEOUT,
                "MemorySize": DEFAULT_MEMORY,
                "Version": LATEST,
                "TracingConfig": {"Mode": "PassThrough"},
                "State": "Active",
                "LastUpdateStatus": "Successful",
                "PackageType": "Zip",
                "Architectures": ["x86_64"],
                "EphemeralStorage": {"Size": 512},
                "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
                "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
                "RuntimeVersionConfig": {
                    "RuntimeVersionArn": f"arn:aws:lambda:{self.config.region}::runtime:cloudlet"
                },
            }
            self._apply_config(config, {"Runtime": Runtime, "Handler": Handler, **params}, creating=True)
            code = materialize_code(self.data_dir / "code", name, Code)
            config["CodeSize"] = code["size"]
            config["CodeSha256"] = code["sha256"]
            self._touch(config)
            doc = {
                "config": config,
                "code": code,
                "tags": dict(Tags or {}),
                "concurrency": None,
                "event_configs": {},
                "next_version": 1,
                "versions": {},
                "aliases": {},
            }
            await self._save(doc)
        result = self._public_config(config)
        if Publish:
            published = await self.publish_version(FunctionName=name)
            result = {**result, "Version": published["Version"]}
        return result

    async def get_function_configuration(
        self, FunctionName: str, Qualifier: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """GetFunctionConfiguration (of $LATEST, a version or an alias's version)."""
        ref = parse_function_name(FunctionName, Qualifier)
        config = self._resolve_static(ref)[2]
        return self._public_config(config)

    def _resolve_static(self, ref: FunctionRef) -> tuple[dict[str, Any], str, dict[str, Any], str]:
        """Like _resolve, but an alias resolves to its primary version (no weighted routing)."""
        doc = self._doc(ref.name, ref.qualifier)
        qual = ref.qualifier
        if qual and qual != LATEST and not qual.isdigit():
            alias = doc["aliases"].get(qual)
            if alias is None:
                raise self._not_found(ref.name, qual)
            qual = alias["FunctionVersion"]
        return self._resolve(FunctionRef(ref.name, qual))

    async def get_function(self, FunctionName: str, Qualifier: str | None = None, **_: Any) -> dict[str, Any]:
        """GetFunction: configuration, code location, tags and reserved concurrency."""
        ref = parse_function_name(FunctionName, Qualifier)
        doc, _version, config, code_dir = self._resolve_static(ref)
        result: dict[str, Any] = {
            "Configuration": self._public_config(config),
            "Code": {"RepositoryType": "S3", "Location": Path(code_dir).as_uri()},
        }
        if doc["tags"]:
            result["Tags"] = dict(doc["tags"])
        if doc["concurrency"] is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": doc["concurrency"]}
        return result

    async def list_functions(
        self,
        FunctionVersion: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """ListFunctions ($LATEST of each; every version with FunctionVersion=ALL)."""
        items: list[dict[str, Any]] = []
        for name in sorted(self._functions):
            doc = self._functions[name]
            items.append(self._public_config(doc["config"]))
            if FunctionVersion == "ALL":
                items.extend(
                    self._public_config(v["config"])
                    for _, v in sorted(doc["versions"].items(), key=lambda kv: int(kv[0]))
                )
        return _page(items, "Functions", Marker, MaxItems)

    async def update_function_code(
        self,
        FunctionName: str,
        ZipFile: bytes | None = None,
        S3Bucket: str | None = None,
        S3Key: str | None = None,
        Publish: bool = False,
        RevisionId: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """UpdateFunctionCode: new code for $LATEST (its warm environments are retired)."""
        ref = parse_function_name(FunctionName)
        async with self._write_lock:
            doc = self._doc(ref.name)
            self._check_revision(doc["config"], RevisionId)
            code = materialize_code(
                self.data_dir / "code", ref.name, {"ZipFile": ZipFile, "S3Bucket": S3Bucket, "S3Key": S3Key}
            )
            doc["code"] = code
            doc["config"]["CodeSize"] = code["size"]
            doc["config"]["CodeSha256"] = code["sha256"]
            self._touch(doc["config"])
            await self._save(doc)
            self.host.retire(ref.name, LATEST)
        result = self._public_config(doc["config"])
        if Publish:
            published = await self.publish_version(FunctionName=ref.name)
            result = {**result, "Version": published["Version"]}
        return result

    async def update_function_configuration(
        self, FunctionName: str, RevisionId: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """UpdateFunctionConfiguration of $LATEST."""
        ref = parse_function_name(FunctionName)
        async with self._write_lock:
            doc = self._doc(ref.name)
            self._check_revision(doc["config"], RevisionId)
            config = json.loads(json.dumps(doc["config"]))
            self._apply_config(config, params, creating=False)
            self._touch(config)
            doc["config"] = config
            await self._save(doc)
            self.host.retire(ref.name, LATEST)
        return self._public_config(config)

    def _check_revision(self, config: dict[str, Any], revision: str | None) -> None:
        if revision is not None and revision != config["RevisionId"]:
            raise PreconditionFailed(REVISION_MISMATCH)

    async def delete_function(
        self, FunctionName: str, Qualifier: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """DeleteFunction (all of it, or one version)."""
        ref = parse_function_name(FunctionName, Qualifier)
        async with self._write_lock:
            doc = self._doc(ref.name, ref.qualifier)
            if ref.qualifier and ref.qualifier != LATEST:
                if not ref.qualifier.isdigit():
                    raise InvalidParameterValue("Deletion of aliases is not currently supported.")
                if ref.qualifier not in doc["versions"]:
                    raise self._not_found(ref.name, ref.qualifier)
                using = [a for a, cfg in doc["aliases"].items() if cfg["FunctionVersion"] == ref.qualifier]
                if using:
                    raise FunctionConflict(
                        "Unable to delete version because the following aliases reference it: "
                        f"[{', '.join(using)}]"
                    )
                del doc["versions"][ref.qualifier]
                await self._save(doc)
                self.host.retire(ref.name, ref.qualifier)
                return {}
            if ref.qualifier == LATEST:
                raise InvalidParameterValue(
                    "$LATEST version cannot be deleted without deleting the function."
                )
            del self._functions[ref.name]
            await self.store.write([Delete(NAMESPACE, ref.name)])
            self.host.retire(ref.name)
        return {}

    # -- versions and aliases --------------------------------------------------------------------------
    async def publish_version(
        self,
        FunctionName: str,
        CodeSha256: str | None = None,
        Description: str | None = None,
        RevisionId: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """PublishVersion: an immutable copy of $LATEST; with SnapStart, its snapshot is taken now."""
        ref = parse_function_name(FunctionName)
        async with self._write_lock:
            doc = self._doc(ref.name)
            latest = doc["config"]
            self._check_revision(latest, RevisionId)
            if CodeSha256 is not None and CodeSha256 != latest["CodeSha256"]:
                raise InvalidParameterValue(
                    f"CodeSHA256 ({CodeSha256}) is different from current CodeSHA256 in $LATEST "
                    f"({latest['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST."
                )
            if doc["code"]["local"]:  # $LATEST's directory is live: refresh the hash before comparing
                size, digest = await asyncio.to_thread(hash_directory, Path(doc["code"]["dir"]))
                latest["CodeSha256"], latest["CodeSize"] = digest, size
            fingerprint = _fingerprint(latest)
            for _number, version in sorted(doc["versions"].items(), key=lambda kv: -int(kv[0])):
                if version.get("fingerprint") == fingerprint and Description in (
                    None,
                    version["config"]["Description"],
                ):
                    return self._public_config(version["config"])
                break
            number = str(doc["next_version"])
            doc["next_version"] += 1
            code_dir = doc["code"]["dir"]
            if doc["code"]["local"]:
                target = self.data_dir / "code" / ref.name / f"v{number}"
                shutil.rmtree(target, ignore_errors=True)
                await asyncio.to_thread(
                    shutil.copytree, code_dir, target, ignore=shutil.ignore_patterns(*SKIP_DIRS)
                )
                code_dir = str(target)
            config = json.loads(json.dumps(latest))
            config["Version"] = number
            config["FunctionArn"] = self.function_arn(ref.name, number)
            if Description is not None:
                config["Description"] = Description
            if config["SnapStart"]["ApplyOn"] == "PublishedVersions":
                config["SnapStart"]["OptimizationStatus"] = "On"
            self._touch(config)
            doc["versions"][number] = {"config": config, "code_dir": code_dir, "fingerprint": fingerprint}
            await self._save(doc)
        if config["SnapStart"]["OptimizationStatus"] == "On":
            pool = await self.host.pool(self._spec(number, config, code_dir))
            await pool.prepare_snapshot()
        return self._public_config(config)

    async def list_versions_by_function(
        self, FunctionName: str, Marker: str | None = None, MaxItems: int | None = None, **_: Any
    ) -> dict[str, Any]:
        """ListVersionsByFunction: $LATEST then each published version."""
        ref = parse_function_name(FunctionName)
        doc = self._doc(ref.name)
        items = [self._public_config(doc["config"])]
        items += [
            self._public_config(v["config"])
            for _, v in sorted(doc["versions"].items(), key=lambda kv: int(kv[0]))
        ]
        return _page(items, "Versions", Marker, MaxItems)

    def _alias_out(self, name: str, alias: dict[str, Any]) -> dict[str, Any]:
        out = {"AliasArn": self.function_arn(name, alias["Name"]), **alias}
        return json.loads(json.dumps(out))

    def _check_alias_target(
        self, doc: dict[str, Any], name: str, version: str, routing: dict[str, Any] | None
    ) -> None:
        if version != LATEST and version not in doc["versions"]:
            raise self._not_found(name, version)
        weights = (routing or {}).get("AdditionalVersionWeights") or {}
        for extra, weight in weights.items():
            if extra not in doc["versions"]:
                raise self._not_found(name, extra)
            if not 0.0 <= float(weight) <= 1.0:
                raise ValidationError(
                    f"1 validation error detected: Value '{weight}' at "
                    "'routingConfig.additionalVersionWeights' "
                    "failed to satisfy constraint: Member must have value less than or equal to 1.0"
                )

    async def create_alias(
        self,
        FunctionName: str,
        Name: str,
        FunctionVersion: str,
        Description: str | None = None,
        RoutingConfig: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """CreateAlias."""
        ref = parse_function_name(FunctionName)
        check_alias_name(Name)
        async with self._write_lock:
            doc = self._doc(ref.name)
            if Name in doc["aliases"]:
                raise FunctionConflict(f"Alias already exists: {self.function_arn(ref.name, Name)}")
            self._check_alias_target(doc, ref.name, FunctionVersion, RoutingConfig)
            alias: dict[str, Any] = {
                "Name": Name,
                "FunctionVersion": FunctionVersion,
                "Description": Description or "",
                "RevisionId": str(uuid.uuid4()),
            }
            if RoutingConfig:
                alias["RoutingConfig"] = RoutingConfig
            doc["aliases"][Name] = alias
            await self._save(doc)
        return self._alias_out(ref.name, alias)

    async def get_alias(self, FunctionName: str, Name: str, **_: Any) -> dict[str, Any]:
        """GetAlias."""
        ref = parse_function_name(FunctionName)
        doc = self._doc(ref.name)
        alias = doc["aliases"].get(Name)
        if alias is None:
            raise FunctionNotFound(f"Cannot find alias arn: {self.function_arn(ref.name, Name)}")
        return self._alias_out(ref.name, alias)

    async def list_aliases(
        self,
        FunctionName: str,
        FunctionVersion: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """ListAliases."""
        ref = parse_function_name(FunctionName)
        doc = self._doc(ref.name)
        items = [
            self._alias_out(ref.name, a)
            for _, a in sorted(doc["aliases"].items())
            if FunctionVersion is None or a["FunctionVersion"] == FunctionVersion
        ]
        return _page(items, "Aliases", Marker, MaxItems)

    async def update_alias(
        self,
        FunctionName: str,
        Name: str,
        FunctionVersion: str | None = None,
        Description: str | None = None,
        RoutingConfig: dict[str, Any] | None = None,
        RevisionId: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """UpdateAlias."""
        ref = parse_function_name(FunctionName)
        async with self._write_lock:
            doc = self._doc(ref.name)
            alias = doc["aliases"].get(Name)
            if alias is None:
                raise FunctionNotFound(f"Cannot find alias arn: {self.function_arn(ref.name, Name)}")
            if RevisionId is not None and RevisionId != alias["RevisionId"]:
                raise PreconditionFailed(REVISION_MISMATCH)
            version = FunctionVersion or alias["FunctionVersion"]
            routing = RoutingConfig if RoutingConfig is not None else alias.get("RoutingConfig")
            self._check_alias_target(doc, ref.name, version, routing)
            alias["FunctionVersion"] = version
            if Description is not None:
                alias["Description"] = Description
            if RoutingConfig is not None:
                if RoutingConfig.get("AdditionalVersionWeights"):
                    alias["RoutingConfig"] = RoutingConfig
                else:
                    alias.pop("RoutingConfig", None)
            alias["RevisionId"] = str(uuid.uuid4())
            await self._save(doc)
        return self._alias_out(ref.name, alias)

    async def delete_alias(self, FunctionName: str, Name: str, **_: Any) -> dict[str, Any]:
        """DeleteAlias (no error when it does not exist, as Lambda)."""
        ref = parse_function_name(FunctionName)
        async with self._write_lock:
            doc = self._doc(ref.name)
            if doc["aliases"].pop(Name, None) is not None:
                doc["event_configs"].pop(Name, None)
                await self._save(doc)
        return {}

    # -- tags -------------------------------------------------------------------------------------------
    def _doc_for_resource(self, resource: str) -> dict[str, Any]:
        ref = parse_function_name(resource)
        return self._doc(ref.name)

    async def tag_resource(self, Resource: str, Tags: dict[str, str], **_: Any) -> dict[str, Any]:
        """TagResource."""
        doc = self._doc_for_resource(Resource)
        doc["tags"].update(Tags)
        await self._save(doc)
        return {}

    async def untag_resource(self, Resource: str, TagKeys: list[str], **_: Any) -> dict[str, Any]:
        """UntagResource."""
        doc = self._doc_for_resource(Resource)
        for key in TagKeys:
            doc["tags"].pop(key, None)
        await self._save(doc)
        return {}

    async def list_tags(self, Resource: str, **_: Any) -> dict[str, Any]:
        """ListTags."""
        return {"Tags": dict(self._doc_for_resource(Resource)["tags"])}

    # -- concurrency -------------------------------------------------------------------------------------
    def _reserved_total(self, excluding: str | None = None) -> int:
        return sum(doc["concurrency"] or 0 for name, doc in self._functions.items() if name != excluding)

    async def put_function_concurrency(
        self, FunctionName: str, ReservedConcurrentExecutions: int, **_: Any
    ) -> dict[str, Any]:
        """PutFunctionConcurrency: reserve (and cap) the function's concurrency."""
        ref = parse_function_name(FunctionName)
        check_range("reservedConcurrentExecutions", ReservedConcurrentExecutions, 0, self.concurrency_limit)
        async with self._write_lock:
            doc = self._doc(ref.name)
            unreserved = (
                self.concurrency_limit
                - self._reserved_total(excluding=ref.name)
                - ReservedConcurrentExecutions
            )
            if unreserved < self.min_unreserved_concurrency:
                raise InvalidParameterValue(
                    "Specified ReservedConcurrentExecutions for function decreases account's "
                    "UnreservedConcurrentExecution below its minimum value of "
                    f"[{self.min_unreserved_concurrency}]."
                )
            doc["concurrency"] = ReservedConcurrentExecutions
            await self._save(doc)
        return {"ReservedConcurrentExecutions": ReservedConcurrentExecutions}

    async def get_function_concurrency(self, FunctionName: str, **_: Any) -> dict[str, Any]:
        """GetFunctionConcurrency."""
        doc = self._doc(parse_function_name(FunctionName).name)
        if doc["concurrency"] is None:
            return {}
        return {"ReservedConcurrentExecutions": doc["concurrency"]}

    async def delete_function_concurrency(self, FunctionName: str, **_: Any) -> dict[str, Any]:
        """DeleteFunctionConcurrency."""
        async with self._write_lock:
            doc = self._doc(parse_function_name(FunctionName).name)
            doc["concurrency"] = None
            await self._save(doc)
        return {}

    async def get_account_settings(self, **_: Any) -> dict[str, Any]:
        """GetAccountSettings: the concurrency limits cloudlet enforces."""
        return {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": self.concurrency_limit,
                "UnreservedConcurrentExecutions": self.concurrency_limit - self._reserved_total(),
            },
            "AccountUsage": {
                "TotalCodeSize": sum(d["config"]["CodeSize"] for d in self._functions.values()),
                "FunctionCount": len(self._functions),
            },
        }

    def _enter(self, name: str, doc: dict[str, Any]) -> None:
        reserved = doc["concurrency"]
        running = self._inflight.get(name, 0)
        if reserved is not None:
            if running >= reserved:
                raise TooManyRequests(
                    "Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded"
                )
        else:
            if self._unreserved_inflight >= self.concurrency_limit - self._reserved_total():
                raise TooManyRequests("Rate Exceeded.", reason="ConcurrentInvocationLimitExceeded")
            self._unreserved_inflight += 1
        self._inflight[name] = running + 1

    def _leave(self, name: str, doc: dict[str, Any]) -> None:
        self._inflight[name] = max(0, self._inflight.get(name, 1) - 1)
        if doc["concurrency"] is None:
            self._unreserved_inflight = max(0, self._unreserved_inflight - 1)

    # -- event invoke configs ---------------------------------------------------------------------------
    def _event_config_key(self, FunctionName: str, Qualifier: str | None) -> tuple[dict[str, Any], str, str]:
        ref = parse_function_name(FunctionName, Qualifier)
        doc = self._doc(ref.name, ref.qualifier)
        qual = ref.qualifier or LATEST
        if qual != LATEST and qual not in doc["versions"] and qual not in doc["aliases"]:
            raise self._not_found(ref.name, qual)
        return doc, ref.name, qual

    def _check_event_config(
        self, MaximumRetryAttempts: Any, MaximumEventAgeInSeconds: Any, destinations: Any
    ) -> None:
        if MaximumRetryAttempts is not None:
            check_range("maximumRetryAttempts", MaximumRetryAttempts, 0, 2)
        if MaximumEventAgeInSeconds is not None:
            check_range("maximumEventAgeInSeconds", MaximumEventAgeInSeconds, 60, 21600)
        for kind in ("OnSuccess", "OnFailure"):
            dest = ((destinations or {}).get(kind) or {}).get("Destination")
            if dest is not None and not str(dest).startswith("arn:"):
                raise InvalidParameterValue(
                    f"The provided destination config DestinationConfig.{kind} is invalid."
                )

    def _event_config_out(self, name: str, qual: str, cfg: dict[str, Any]) -> dict[str, Any]:
        out = {"FunctionArn": self.function_arn(name, qual), **json.loads(json.dumps(cfg))}
        out["LastModified"] = _epoch(cfg["LastModified"])
        return out

    async def put_function_event_invoke_config(
        self,
        FunctionName: str,
        Qualifier: str | None = None,
        MaximumRetryAttempts: int | None = None,
        MaximumEventAgeInSeconds: int | None = None,
        DestinationConfig: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """PutFunctionEventInvokeConfig: replaces the whole config."""
        self._check_event_config(MaximumRetryAttempts, MaximumEventAgeInSeconds, DestinationConfig)
        async with self._write_lock:
            doc, name, qual = self._event_config_key(FunctionName, Qualifier)
            cfg: dict[str, Any] = {"LastModified": self.clock.time()}
            if MaximumRetryAttempts is not None:
                cfg["MaximumRetryAttempts"] = MaximumRetryAttempts
            if MaximumEventAgeInSeconds is not None:
                cfg["MaximumEventAgeInSeconds"] = MaximumEventAgeInSeconds
            cfg["DestinationConfig"] = {
                "OnSuccess": dict((DestinationConfig or {}).get("OnSuccess") or {}),
                "OnFailure": dict((DestinationConfig or {}).get("OnFailure") or {}),
            }
            doc["event_configs"][qual] = cfg
            await self._save(doc)
        return self._event_config_out(name, qual, cfg)

    async def update_function_event_invoke_config(
        self,
        FunctionName: str,
        Qualifier: str | None = None,
        MaximumRetryAttempts: int | None = None,
        MaximumEventAgeInSeconds: int | None = None,
        DestinationConfig: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """UpdateFunctionEventInvokeConfig: merges into the existing config."""
        self._check_event_config(MaximumRetryAttempts, MaximumEventAgeInSeconds, DestinationConfig)
        async with self._write_lock:
            doc, name, qual = self._event_config_key(FunctionName, Qualifier)
            cfg = doc["event_configs"].get(qual) or {"DestinationConfig": {"OnSuccess": {}, "OnFailure": {}}}
            if MaximumRetryAttempts is not None:
                cfg["MaximumRetryAttempts"] = MaximumRetryAttempts
            if MaximumEventAgeInSeconds is not None:
                cfg["MaximumEventAgeInSeconds"] = MaximumEventAgeInSeconds
            for kind in ("OnSuccess", "OnFailure"):
                if DestinationConfig and kind in DestinationConfig:
                    cfg["DestinationConfig"][kind] = dict(DestinationConfig[kind] or {})
            cfg["LastModified"] = self.clock.time()
            doc["event_configs"][qual] = cfg
            await self._save(doc)
        return self._event_config_out(name, qual, cfg)

    async def get_function_event_invoke_config(
        self, FunctionName: str, Qualifier: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """GetFunctionEventInvokeConfig."""
        doc, name, qual = self._event_config_key(FunctionName, Qualifier)
        cfg = doc["event_configs"].get(qual)
        if cfg is None:
            raise FunctionNotFound(
                f"The function {self.function_arn(name, qual)} doesn't have an EventInvokeConfig"
            )
        return self._event_config_out(name, qual, cfg)

    async def list_function_event_invoke_configs(self, FunctionName: str, **_: Any) -> dict[str, Any]:
        """ListFunctionEventInvokeConfigs."""
        ref = parse_function_name(FunctionName)
        doc = self._doc(ref.name)
        return {
            "FunctionEventInvokeConfigs": [
                self._event_config_out(ref.name, q, c) for q, c in sorted(doc["event_configs"].items())
            ]
        }

    async def delete_function_event_invoke_config(
        self, FunctionName: str, Qualifier: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """DeleteFunctionEventInvokeConfig."""
        async with self._write_lock:
            doc, name, qual = self._event_config_key(FunctionName, Qualifier)
            if doc["event_configs"].pop(qual, None) is None:
                raise FunctionNotFound(
                    f"The function {self.function_arn(name, qual)} doesn't have an EventInvokeConfig"
                )
            await self._save(doc)
        return {}

    def event_settings(self, name: str, qualifier: str | None) -> tuple[int, int, dict[str, Any]]:
        """(MaximumRetryAttempts, MaximumEventAgeInSeconds, DestinationConfig) for async invocations."""
        doc = self._functions.get(name)
        cfg = (doc or {}).get("event_configs", {}).get(qualifier or LATEST) or {}
        return (
            cfg.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS),
            cfg.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE),
            cfg.get("DestinationConfig") or {},
        )

    # -- invocation ----------------------------------------------------------------------------------------
    async def invoke(
        self,
        FunctionName: str,
        InvocationType: str = "RequestResponse",
        LogType: str = "None",
        ClientContext: str | None = None,
        Payload: Any = b"",
        Qualifier: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Invoke: RequestResponse runs and answers; Event queues durably (202); DryRun only checks (204)."""
        ref = parse_function_name(FunctionName, Qualifier)
        payload = _payload_bytes(Payload)
        if InvocationType not in ("RequestResponse", "Event", "DryRun"):
            raise ValidationError(
                f"1 validation error detected: Value '{InvocationType}' at 'invocationType' failed to "
                "satisfy "
                "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )
        if InvocationType == "Event":
            if len(payload) > ASYNC_PAYLOAD_LIMIT:
                raise RequestTooLarge(
                    f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes "
                    "for the InvokeFunction operation"
                )
        elif len(payload) > SYNC_PAYLOAD_LIMIT:
            raise RequestTooLarge(
                f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
            )
        _check_json(payload)
        doc, version, config, code_dir = self._resolve(ref)
        if InvocationType == "DryRun":
            return {"StatusCode": 204, "Payload": b""}
        if InvocationType == "Event":
            await self.events.enqueue(ref.name, ref.qualifier, payload)
            return {"StatusCode": 202, "Payload": b""}
        request_id = str(uuid.uuid4())
        invoked_arn = self.function_arn(ref.name, ref.qualifier)
        outcome, lines = await self.execute(
            doc, version, config, code_dir, payload, request_id, invoked_arn, ClientContext
        )
        result: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": version, "Payload": outcome.payload}
        if outcome.error_type is not None:
            result["FunctionError"] = "Unhandled"
        if LogType == "Tail":
            result["LogResult"] = tail(lines)
        return result

    async def execute(
        self,
        doc: dict[str, Any],
        version: str,
        config: dict[str, Any],
        code_dir: str,
        payload: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: str | None = None,
    ) -> tuple[Outcome, list[str]]:
        """Run one invocation under the concurrency limits; returns its outcome and its log events."""
        name = config["FunctionName"]
        self._enter(name, doc)
        try:
            spec = self._spec(version, config, code_dir)
            pool = await self.host.pool(spec)
            outcome = await self._run(pool, spec, payload, request_id, invoked_arn, client_context)
        finally:
            self._leave(name, doc)
        if outcome.error_type is None and len(outcome.payload) > RESPONSE_PAYLOAD_LIMIT:
            outcome = _replace_payload(
                outcome,
                {
                    "errorMessage": "Response payload size exceeded maximum allowed payload size "
                    f"({RESPONSE_PAYLOAD_LIMIT + 100} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                },
            )
        lines = self._log_invocation(spec, outcome, request_id)
        return outcome, lines

    async def _run(
        self,
        pool: Pool,
        spec: FunctionSpec,
        payload: bytes,
        request_id: str,
        invoked_arn: str,
        client_context: str | None,
    ) -> Outcome:
        try:
            env, _cold = await pool.acquire()
        except InitFailed as failure:
            return pool.init_failure_outcome(failure)
        context = None
        if client_context:
            try:
                context = json.loads(base64.b64decode(client_context))
            except ValueError:
                context = None
        header = {
            "op": "invoke",
            "request_id": request_id,
            "deadline_ms": int(time.time() * 1000 + spec.timeout * 1000),
            "arn": invoked_arn,
            "version": spec.version,
            "client_context": context,
            "identity": None,
            "trace_id": f"Root=1-{int(self.clock.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        return await pool.invoke(env, header, payload, spec.timeout)

    def _log_invocation(self, spec: FunctionSpec, outcome: Outcome, request_id: str) -> list[str]:
        now = self.clock.time()
        lines = invocation_lines(spec, outcome, request_id, now=now, region=self.config.region)
        self.logs.append(spec.log_group, outcome.log_stream, lines, int(now * 1000))
        return lines

    def _log_snapshot_output(self, pool: Pool, env: Any, output: str) -> None:
        self.logs.append(pool.spec.log_group, env.log_stream, output_lines(output))

    async def deliver(self, arn: str, payload: Any, invocation_type: InvocationType) -> Any:
        """Router entry: invoke the function an ARN names with a JSON payload.

        RequestResponse returns the handler's result; a function error raises ``TaskFailed`` with
        Error = errorType and Cause = Lambda's error JSON, as Step Functions sees it.
        """
        body = json.dumps(payload).encode()
        if invocation_type == "Event":
            await self.invoke(FunctionName=arn, InvocationType="Event", Payload=body)
            return None
        response = await self.invoke(FunctionName=arn, Payload=body)
        raw: bytes = response["Payload"]
        if "FunctionError" in response:
            error = json.loads(raw)
            raise TaskFailed(error.get("errorType", "Exception"), raw.decode())
        return json.loads(raw) if raw else None


def _payload_bytes(payload: Any) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    if hasattr(payload, "read"):
        data = payload.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return json.dumps(payload).encode()  # a JSON value (Step Functions' lambda:invoke passes one)


def _check_json(payload: bytes) -> None:
    if not payload:
        return
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestContent(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None


def _replace_payload(outcome: Outcome, error: dict[str, Any]) -> Outcome:
    return replace(outcome, payload=json.dumps(error).encode(), error_type=error["errorType"], status="error")


def _page(items: list[dict[str, Any]], key: str, marker: str | None, max_items: int | None) -> dict[str, Any]:
    start = int(marker) if marker and marker.isdigit() else 0
    size = max_items or 50
    result: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        result["NextMarker"] = str(start + size)
    return result


def _epoch(now: float) -> Any:
    return datetime.fromtimestamp(now, UTC)


def _fingerprint(config: dict[str, Any]) -> str:
    keep = {
        k: v for k, v in config.items() if k not in ("LastModified", "RevisionId", "FunctionArn", "Version")
    }
    return hashlib.sha256(orjson.dumps(keep, option=orjson.OPT_SORT_KEYS)).hexdigest()
