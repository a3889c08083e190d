"""Event invoke configs: retries, event age and destinations of asynchronous invocations."""

from __future__ import annotations

import json
from typing import Any

from cloudlet.functions.errors import (
    FunctionNotFound,
    InvalidParameterValue,
)
from cloudlet.functions.model import (
    DEFAULT_MAX_EVENT_AGE,
    DEFAULT_MAX_RETRY_ATTEMPTS,
    LATEST,
    check_range,
    parse_function_name,
)
from cloudlet.functions.registry import FunctionRegistry, as_datetime


class EventInvokeConfigOperations(FunctionRegistry):
    """Put/Update/Get/List/DeleteFunctionEventInvokeConfig."""

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
        out["LastModified"] = as_datetime(cfg["LastModified"])
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
