"""Versions and aliases: PublishVersion (taking the SnapStart snapshot), aliases with weighted routing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import orjson

from cloudlet.errors import ValidationError
from cloudlet.functions.code import SKIP_DIRS, hash_directory
from cloudlet.functions.errors import (
    REVISION_MISMATCH,
    FunctionConflict,
    FunctionNotFound,
    InvalidParameterValue,
    PreconditionFailed,
)
from cloudlet.functions.model import (
    LATEST,
    check_alias_name,
    parse_function_name,
)
from cloudlet.functions.registry import FunctionRegistry, page


class VersionOperations(FunctionRegistry):
    """PublishVersion, ListVersionsByFunction and the alias operations."""

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
        return page(items, "Versions", Marker, MaxItems)

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
        return page(items, "Aliases", Marker, MaxItems)

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


def _fingerprint(config: dict[str, Any]) -> str:
    keep = {
        k: v for k, v in config.items() if k not in ("LastModified", "RevisionId", "FunctionArn", "Version")
    }
    return hashlib.sha256(orjson.dumps(keep, option=orjson.OPT_SORT_KEYS)).hexdigest()
