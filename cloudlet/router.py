"""The router: hands a JSON payload to whichever service owns an ARN.

Every resource in an application is addressable by ARN and receives JSON. Services never
import each other; a rule target, a workflow task or a topic subscription reaches another
resource only through ``Router.deliver``. Services also register the object that carries
their AWS API operations (``register_api``) so that Step Functions' service integrations and
the HTTP API can call ``sqs:SendMessage`` and friends by name.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from cloudlet.arns import parse_arn
from cloudlet.errors import ResourceNotFound, ValidationError

InvocationType = Literal["RequestResponse", "Event"]


class Target(Protocol):
    """Something that receives payloads for ARNs: a service's delivery entry point."""

    def __call__(self, arn: str, payload: Any, invocation_type: InvocationType) -> Awaitable[Any]: ...


Callable_ = Callable[[Any], Any]

_CAMEL_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")


def operation_method_name(operation: str) -> str:
    """``SendMessageBatch`` -> ``send_message_batch`` (boto3's naming of an operation)."""
    return _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", operation)).lower()


class Router:
    """Maps ARNs to their owning service and AWS service names to their API objects."""

    def __init__(self) -> None:
        self._exact: dict[str, Target] = {}
        self._owners: dict[tuple[str, str], Target] = {}
        self._apis: dict[str, ServiceApi] = {}

    # -- registration ---------------------------------------------------------------------
    def register_owner(self, service: str, resource_type: str, target: Target) -> None:
        """Route every ARN of ``service`` whose resource type is ``resource_type`` ("" for any)."""
        self._owners[(service, resource_type)] = target

    def register_arn(self, arn: str, target: Target | Callable_) -> None:
        """Route one exact ARN (or name) to ``target``; a plain callable receives just the payload."""
        self._exact[arn] = target if _is_target(target) else _wrap_callable(target)  # type: ignore[arg-type,assignment]

    def unregister_arn(self, arn: str) -> None:
        self._exact.pop(arn, None)

    def register_api(self, service: str, api: object) -> None:
        """Expose ``api``'s methods as the operations of AWS service ``service`` ("sqs", "states", ...).

        Several objects may share one AWS service (Lambda's functions and its event source
        mappings); an operation is looked up on each in the order they were registered.
        """
        self._apis.setdefault(service, ServiceApi(service)).parts.append(api)

    # -- lookups --------------------------------------------------------------------------
    def api(self, service: str) -> object:
        """The object carrying ``service``'s operations, or ``ResourceNotFound``."""
        try:
            return self._apis[service]
        except KeyError:
            raise ResourceNotFound(f"Service '{service}' is not running in this application") from None

    @property
    def services(self) -> dict[str, object]:
        """Every AWS service name with the object carrying its operations."""
        return dict(self._apis)

    def owner(self, arn: str) -> Target:
        """The target that receives payloads for ``arn``."""
        if arn in self._exact:
            return self._exact[arn]
        try:
            parsed = parse_arn(arn)
        except ValidationError:
            raise ResourceNotFound(f"No resource is registered for '{arn}'") from None
        target = self._owners.get((parsed.service, parsed.resource_type)) or self._owners.get(
            (parsed.service, "")
        )
        if target is None:
            raise ResourceNotFound(f"No service owns '{arn}'")
        return target

    # -- delivery ---------------------------------------------------------------------------
    async def deliver(
        self, arn: str, payload: Any, *, invocation_type: InvocationType = "RequestResponse"
    ) -> Any:
        """Hand ``payload`` to the owner of ``arn``; returns its result for RequestResponse."""
        return await self.owner(arn)(arn, payload, invocation_type)

    async def call(self, service: str, operation: str, params: dict[str, Any]) -> Any:
        """Call an AWS API operation by name, e.g. ``call("sqs", "SendMessage", {...})``."""
        api = self.api(service)
        method = getattr(api, operation_method_name(operation), None)
        if method is None:
            raise ValidationError(f"Operation {service}:{operation} is not supported by cloudlet")
        result = method(**params)
        if inspect.isawaitable(result):
            result = await result
        return result


class ServiceApi:
    """The operations of one AWS service, gathered from the objects registered for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parts: list[object] = []

    def __getattr__(self, method: str) -> Any:
        for part in self.parts:
            found = getattr(part, method, None)
            if found is not None:
                return found
        raise AttributeError(f"{self.name} has no operation method {method!r}")


def _is_target(obj: object) -> bool:
    try:
        params = inspect.signature(obj).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return len(params) == 3


def _wrap_callable(fn: Callable_) -> Target:
    async def target(arn: str, payload: Any, invocation_type: InvocationType) -> Any:
        result = fn(payload)
        if inspect.isawaitable(result):
            result = await result
        return result

    return target
