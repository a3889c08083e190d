"""The function registry: every function's configuration, versions and aliases, in the store.

One document per function (``lambda.functions`` / NAME) holds its ``$LATEST`` configuration,
code location, tags, reserved concurrency, event invoke configs, published versions and
aliases, so each change is one atomic write. The operation groups (``configuration``,
``versions``, ``limits``, ``invoke_configs``) and the service build on this class.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudlet.arns import build_arn
from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.functions.environments import EnvironmentHost
from cloudlet.functions.errors import (
    REVISION_MISMATCH,
    FunctionNotFound,
    PreconditionFailed,
)
from cloudlet.functions.model import (
    LATEST,
    FunctionRef,
    FunctionSpec,
    lambda_timestamp,
)
from cloudlet.store import Put, Store

NAMESPACE = "lambda.functions"


class FunctionRegistry:
    """Functions by name, their lookups (name, version, alias) and durable saves."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        config: ServiceConfig,
        host: EnvironmentHost,
        snapshot_latest: bool,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.host = host
        #: cloudlet also restores $LATEST from a snapshot when SnapStart is on (AWS only does for versions)
        self.snapshot_latest = snapshot_latest
        self.data_dir = Path(config.data_dir).absolute() / "functions"
        self._functions: dict[str, dict[str, Any]] = {}
        self._write_lock = asyncio.Lock()

    async def load(self) -> None:
        """Read every function from the store."""
        for name, doc in await self.store.scan(NAMESPACE):
            self._functions[name] = doc

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

    def _check_revision(self, config: dict[str, Any], revision: str | None) -> None:
        if revision is not None and revision != config["RevisionId"]:
            raise PreconditionFailed(REVISION_MISMATCH)

    def _touch(self, config: dict[str, Any]) -> None:
        config["LastModified"] = lambda_timestamp(self.clock.time())
        config["RevisionId"] = str(uuid.uuid4())

    def _public_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(config))

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


def page(items: list[dict[str, Any]], key: str, marker: str | None, max_items: int | None) -> dict[str, Any]:
    """One page of a List* answer: ``key`` items from ``marker`` and a NextMarker when more remain."""
    start = int(marker) if marker and marker.isdigit() else 0
    size = max_items or 50
    result: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        result["NextMarker"] = str(start + size)
    return result


def as_datetime(now: float) -> Any:
    """Epoch seconds as a UTC ``datetime`` (timestamp members of the API's answers)."""
    return datetime.fromtimestamp(now, UTC)
