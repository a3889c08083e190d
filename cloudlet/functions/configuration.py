"""Function configuration operations: create, get, list, update, delete; tags."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from cloudlet.errors import ValidationError
from cloudlet.functions.code import materialize_code
from cloudlet.functions.errors import (
    MANDATORY_RUNTIME_HANDLER,
    FunctionConflict,
    InvalidParameterValue,
)
from cloudlet.functions.model import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    LATEST,
    RUNTIMES,
    check_range,
    check_variables,
    parse_function_name,
)
from cloudlet.functions.registry import NAMESPACE, page
from cloudlet.functions.versions import VersionOperations
from cloudlet.store import Delete


class ConfigurationOperations(VersionOperations):
    """CreateFunction, GetFunction(Configuration), ListFunctions, Update*, DeleteFunction, tags."""

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
            code = await asyncio.to_thread(materialize_code, self.data_dir / "code", name, Code)
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
        return page(items, "Functions", Marker, MaxItems)

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
            code = await asyncio.to_thread(
                materialize_code,
                self.data_dir / "code",
                ref.name,
                {"ZipFile": ZipFile, "S3Bucket": S3Bucket, "S3Key": S3Key},
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
