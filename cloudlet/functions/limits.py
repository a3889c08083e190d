"""Concurrency: reserved concurrency per function and the account limit, enforced per invocation."""

from __future__ import annotations

from typing import Any

from cloudlet.functions.errors import (
    InvalidParameterValue,
    TooManyRequests,
)
from cloudlet.functions.model import (
    check_range,
    parse_function_name,
)
from cloudlet.functions.registry import FunctionRegistry


class ConcurrencyOperations(FunctionRegistry):
    """Put/Get/DeleteFunctionConcurrency, GetAccountSettings and the in-flight counters."""

    concurrency_limit: int
    min_unreserved_concurrency: int
    _inflight: dict[str, int]
    _unreserved_inflight: int

    def _init_limits(self, concurrency_limit: int, min_unreserved_concurrency: int) -> None:
        self.concurrency_limit = concurrency_limit
        self.min_unreserved_concurrency = min_unreserved_concurrency
        self._inflight = {}
        self._unreserved_inflight = 0

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
