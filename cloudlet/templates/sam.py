"""SAM -> CloudFormation, by AWS's own transform (the ``aws-sam-translator`` library).

The translator expects code in S3; like ``sam build``, local ``CodeUri`` / ``ContentUri``
paths are handed to it as ``s3://cloudlet-local/<path>`` and mapped back afterwards, and a
local ``DefinitionUri`` is read and inlined as ``Definition`` first.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import yaml

from cloudlet.templates.loader import LineIndex

#: The bucket name that marks a local path in translated templates.
LOCAL_BUCKET = "cloudlet-local"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

_LOCAL_URI_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def is_sam(template: dict[str, Any]) -> bool:
    """Whether the template asks for the SAM transform."""
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in transforms


def _is_local(uri: Any) -> bool:
    return isinstance(uri, str) and not uri.startswith("s3://")


def transform_sam(
    template: dict[str, Any],
    index: LineIndex,
    *,
    region: str,
    parameters: dict[str, Any],
    read_file: Callable[[str], str],
) -> dict[str, Any]:
    """The CloudFormation template that AWS's SAM transform makes of ``template``."""
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(template)
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict):
            continue
        props = (
            resource.setdefault("Properties", {})
            if resource.get("Type", "").startswith("AWS::Serverless")
            else {}
        )
        prop = _LOCAL_URI_PROPERTIES.get(resource.get("Type", ""))
        if prop:
            uri = props.get(prop, globals_function.get("CodeUri") if prop == "CodeUri" else None)
            if uri is None and prop == "CodeUri" and "InlineCode" not in props:
                uri = "."
            if _is_local(uri):
                props[prop] = f"s3://{LOCAL_BUCKET}/{uri}"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and _is_local(props.get("DefinitionUri")):
            path = props.pop("DefinitionUri")
            try:
                text = read_file(path)
            except OSError as exc:
                raise index.error(
                    f"DefinitionUri {path!r} cannot be read: {exc.strerror}",
                    ("Resources", logical_id, "Properties", "DefinitionUri"),
                ) from None
            try:
                props["Definition"] = (
                    json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
                )
            except (ValueError, yaml.YAMLError) as exc:
                raise index.error(
                    f"DefinitionUri {path!r} is not valid JSON or YAML: {exc}",
                    ("Resources", logical_id, "Properties", "DefinitionUri"),
                ) from None
    session = SimpleNamespace(region_name=region)
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    try:
        translator = Translator({}, Parser(), boto_session=session, metrics=metrics)
        translated: dict[str, Any] = translator.translate(
            template, dict(parameters), get_managed_policy_map=lambda: {}
        )
    except InvalidDocumentException as exc:
        first = exc.causes[0] if exc.causes else exc
        logical_id = getattr(first, "_logical_id", None) or getattr(first, "logical_id", None)
        path = ("Resources", logical_id) if logical_id else ("Resources",)
        messages = "; ".join(str(getattr(c, "message", c)) for c in exc.causes) or str(exc)
        raise index.error(f"SAM transform failed: {messages}", path) from None
    finally:
        metrics.publish()  # to nowhere: the translator records metrics we do not send
    return translated


def local_code_path(code: Any) -> str | None:
    """The local path a translated ``Code`` / ``Content`` property points at, if it is local."""
    if isinstance(code, dict) and code.get("S3Bucket") == LOCAL_BUCKET:
        return str(code.get("S3Key") or ".")
    return None
