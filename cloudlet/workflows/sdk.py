"""Parameter and result names of service integrations, from botocore's service models.

Task ``Parameters`` name members in PascalCase (``StateMachineArn``), while some AWS APIs
name them in camelCase (Step Functions' own ``stateMachineArn``); AWS SDK integrations
(``arn:aws:states:::aws-sdk:SERVICE:action``) also return results with PascalCase member
names. The service models say which member is meant, so no API needs a hand-written table.
https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationNotFoundError, Shape

#: Service names as the ``aws-sdk`` integration writes them -> the router's service names.
SDK_SERVICES = {"sfn": "states", "eventbridge": "events", "cloudwatchlogs": "logs"}
#: The router's service names -> botocore's model names, where they differ.
_MODEL_NAMES = {"states": "stepfunctions"}


@functools.lru_cache(maxsize=64)
def _operation(service: str, operation: str) -> Any:
    session = _session()
    try:
        model = session.get_service_model(_MODEL_NAMES.get(service, service))
        return model.operation_model(operation)
    except (UnknownServiceError, OperationNotFoundError):
        return None


@functools.lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def request_params(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with member names spelled as the API's model spells them (case-insensitively)."""
    op = _operation(service, operation)
    if op is None or op.input_shape is None:
        return params
    renamed = _rename(params, op.input_shape, lambda name, _: name)
    return renamed if isinstance(renamed, dict) else params


def sdk_result(service: str, operation: str, result: Any) -> Any:
    """An API response as AWS SDK integrations return it: structure members in PascalCase."""
    op = _operation(service, operation)
    if op is None or op.output_shape is None:
        return result
    return _rename(result, op.output_shape, lambda name, _: name[:1].upper() + name[1:])


def _rename(value: Any, shape: Shape, spell: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = {name.lower(): (name, member) for name, member in shape.members.items()}
        out: dict[str, Any] = {}
        for key, item in value.items():
            found = members.get(key.lower())
            if found is None:
                out[key] = item
            else:
                out[spell(found[0], found[1])] = _rename(item, found[1], spell)
        return out
    if kind == "list" and isinstance(value, list):
        return [_rename(item, shape.member, spell) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _rename(v, shape.value, spell) for k, v in value.items()}
    return value
