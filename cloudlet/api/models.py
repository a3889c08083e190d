"""botocore's service models, as the HTTP API uses them to route, parse and serialize.

cloudlet services register under the AWS *signing* names (``states``, ``sqs``, ``lambda``...);
botocore names the same models differently (``stepfunctions``). This module loads each model
once, indexes how requests name their operations (``X-Amz-Target`` prefixes, query ``Version``
values, rest-json request URIs) and keeps the few facts that the current models no longer
carry: the location names of SQS's query protocol and SQS's legacy query error codes.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

logger = logging.getLogger(__name__)

#: Router service names (AWS signing names) whose botocore model has another name.
BOTOCORE_NAMES: dict[str, str] = {"states": "stepfunctions"}

#: SQS moved from the query protocol to JSON; the JSON model dropped the query wire names that
#: older clients still send and expect. Shape name -> serialization to restore for the query
#: protocol (from the SQS API reference's query examples).
#: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/Query_QueryReceiveMessage.html
_SQS_QUERY_LIST_MEMBERS: dict[str, str] = {
    "SendMessageBatchRequestEntryList": "SendMessageBatchRequestEntry",
    "DeleteMessageBatchRequestEntryList": "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatchRequestEntryList": "ChangeMessageVisibilityBatchRequestEntry",
    "SendMessageBatchResultEntryList": "SendMessageBatchResultEntry",
    "DeleteMessageBatchResultEntryList": "DeleteMessageBatchResultEntry",
    "ChangeMessageVisibilityBatchResultEntryList": "ChangeMessageVisibilityBatchResultEntry",
    "BatchResultErrorEntryList": "BatchResultErrorEntry",
    "MessageList": "Message",
    "QueueUrlList": "QueueUrl",
    "AttributeNameList": "AttributeName",
    "MessageSystemAttributeList": "MessageSystemAttributeName",
    "MessageAttributeNameList": "MessageAttributeName",
    "StringList": "StringListValue",
    "BinaryList": "BinaryListValue",
    "TagKeyList": "TagKey",
    "AWSAccountIdList": "AWSAccountId",
    "ActionNameList": "ActionName",
    "ListMessageMoveTasksResultEntryList": "ListMessageMoveTasksResultEntry",
}
#: Map shape -> (flattened element name, key name, value name).
_SQS_QUERY_MAPS: dict[str, tuple[str, str, str]] = {
    "QueueAttributeMap": ("Attribute", "Name", "Value"),
    "MessageSystemAttributeMap": ("Attribute", "Name", "Value"),
    "MessageBodyAttributeMap": ("MessageAttribute", "Name", "Value"),
    "MessageBodySystemAttributeMap": ("MessageSystemAttribute", "Name", "Value"),
    "TagMap": ("Tag", "Key", "Value"),
}

#: SQS's error codes on the query protocol (and in the JSON protocol's ``x-amzn-query-error``
#: header), by the modeled exception's shape name.
#: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html
SQS_QUERY_ERROR_CODES: dict[str, str] = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
    "QueueNameExists": "QueueAlreadyExists",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "InvalidAttributeName": "InvalidAttributeName",
    "InvalidAttributeValue": "InvalidAttributeValue",
    "InvalidIdFormat": "InvalidIdFormat",
    "InvalidMessageContents": "InvalidMessageContents",
    "InvalidAddress": "InvalidAddress",
    "InvalidSecurity": "InvalidSecurity",
    "OverLimit": "OverLimit",
    "RequestThrottled": "RequestThrottled",
    "ResourceNotFoundException": "ResourceNotFoundException",
    "KmsAccessDenied": "KMS.AccessDeniedException",
    "KmsDisabled": "KMS.DisabledException",
    "KmsInvalidKeyUsage": "KMS.InvalidKeyUsageException",
    "KmsInvalidState": "KMS.InvalidStateException",
    "KmsNotFound": "KMS.NotFoundException",
    "KmsOptInRequired": "KMS.OptInRequired",
    "KmsThrottled": "KMS.ThrottlingException",
}

#: SQS's XML namespace on the query protocol (absent from the JSON model's metadata).
_SQS_XML_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"


@dataclass(frozen=True, slots=True)
class ModeledError:
    """What a service model says about one of its exceptions."""

    shape_name: str
    #: The code on the wire (query protocol ``<Code>``; the shape name for JSON protocols).
    code: str
    status: int | None
    sender_fault: bool


@dataclass(frozen=True, slots=True)
class RestRoute:
    """One rest-json operation's request line, compiled."""

    method: str
    pattern: re.Pattern[str]
    required_query: tuple[tuple[str, str | None], ...]
    literal_length: int
    operation: OperationModel


class ServiceApi:
    """One AWS service's model (and, for SQS, its query-protocol twin) with lookup indexes."""

    def __init__(self, name: str, model: ServiceModel, query_model: ServiceModel | None = None) -> None:
        self.name = name
        self.model = model
        #: The model used for the query protocol (the same model when it is a query service).
        self.query_model = query_model if query_model is not None else model
        self.protocol: str = model.metadata.get("protocol", "json")
        self.target_prefix: str | None = model.metadata.get("targetPrefix")
        self.api_version: str = model.metadata.get("apiVersion", "")
        self.query_compatible = "awsQueryCompatible" in model.metadata
        self.xml_namespace: str = self.query_model.metadata.get("xmlNamespace") or (
            _SQS_XML_NAMESPACE if name == "sqs" else f"https://{name}.amazonaws.com/doc/{self.api_version}/"
        )
        self.operations: frozenset[str] = frozenset(model.operation_names)
        self._errors = self._index_errors(model)
        self.rest_routes: tuple[RestRoute, ...] = (
            self._compile_routes(model) if self.protocol in ("rest-json", "rest-xml") else ()
        )

    def operation(self, name: str, *, query: bool = False) -> OperationModel:
        """The operation model (from the query twin when ``query``); KeyError when unknown."""
        if name not in self.operations:
            raise KeyError(name)
        return (self.query_model if query else self.model).operation_model(name)

    def error(self, code: str) -> ModeledError | None:
        """The modeled exception whose shape name or wire code is ``code``."""
        return self._errors.get(code)

    def legacy_query_code(self, shape_name: str) -> str | None:
        """The query-protocol code of a query-compatible service's exception (SQS)."""
        if self.name == "sqs":
            return SQS_QUERY_ERROR_CODES.get(shape_name)
        err = self._errors.get(shape_name)
        return err.code if err is not None and err.code != shape_name else None

    @staticmethod
    def _index_errors(model: ServiceModel) -> dict[str, ModeledError]:
        index: dict[str, ModeledError] = {}
        for shape in model.error_shapes:
            meta = shape.metadata.get("error", {})
            code = meta.get("code", shape.name)
            if model.service_name == "sqs":
                code = SQS_QUERY_ERROR_CODES.get(shape.name, shape.name)
            err = ModeledError(
                shape.name, code, meta.get("httpStatusCode"), bool(meta.get("senderFault", True))
            )
            index[shape.name] = err
            index.setdefault(code, err)
        return index

    @staticmethod
    def _compile_routes(model: ServiceModel) -> tuple[RestRoute, ...]:
        routes = []
        for name in model.operation_names:
            op = model.operation_model(name)
            uri: str = op.http.get("requestUri", "/")
            path, _, query = uri.partition("?")
            required: list[tuple[str, str | None]] = []
            for part in filter(None, query.split("&")):
                key, eq, value = part.partition("=")
                required.append((key, value if eq else None))
            regex = ""
            literal = 0
            for token in re.split(r"(\{[^}]+\})", path):
                if token.startswith("{"):
                    label = token[1:-1]
                    if label.endswith("+"):
                        regex += f"(?P<{_group(label[:-1])}>.+)"
                    else:
                        regex += f"(?P<{_group(label)}>[^/]+)"
                else:
                    regex += re.escape(token)
                    literal += len(token)
            if path.endswith("/") and len(path) > 1:
                regex = regex[: -len(re.escape("/"))] + "/?"
            routes.append(
                RestRoute(
                    op.http.get("method", "POST"),
                    re.compile(f"^{regex}$"),
                    tuple(required),
                    literal + 10 * len(required),
                    op,
                )
            )
        routes.sort(key=lambda r: -r.literal_length)
        return tuple(routes)


def _group(label: str) -> str:
    """A regex group name for a URI label (labels may hold characters groups cannot)."""
    return "g_" + re.sub(r"\W", "_", label)


def uri_group(label: str) -> str:
    """The group name under which a URI label's value was captured."""
    return _group(label.rstrip("+"))


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_api(name: str) -> ServiceApi | None:
    """The model of the service that the router knows as ``name``; None when botocore has none."""
    botocore_name = BOTOCORE_NAMES.get(name, name)
    loader = _session().get_component("data_loader")
    try:
        raw = loader.load_service_model(botocore_name, "service-2")
    except Exception:  # botocore raises UnknownServiceError / DataNotFoundError
        logger.warning("no botocore model", extra={"action": "load_model", "service": name})
        return None
    model = ServiceModel(raw, service_name=botocore_name)
    query_model = ServiceModel(sqs_query_model_data(raw), "sqs") if botocore_name == "sqs" else None
    return ServiceApi(name, model, query_model)


def sqs_query_model_data(raw: dict[str, Any]) -> dict[str, Any]:
    """SQS's model as the query protocol sees it: the JSON model with its query wire names
    and error codes restored (what clients built before SQS moved to JSON were built from)."""
    data = copy.deepcopy(raw)
    data["metadata"] = dict(data["metadata"], protocol="query", protocols=["query"])
    data["metadata"]["xmlNamespace"] = _SQS_XML_NAMESPACE
    shapes = data["shapes"]
    for list_name, member_name in _SQS_QUERY_LIST_MEMBERS.items():
        if list_name in shapes:
            shapes[list_name]["member"] = dict(shapes[list_name]["member"], locationName=member_name)
    for map_name, (_, key, value) in _SQS_QUERY_MAPS.items():
        if map_name in shapes:
            shapes[map_name]["key"] = dict(shapes[map_name]["key"], locationName=key)
            shapes[map_name]["value"] = dict(shapes[map_name]["value"], locationName=value)
    # A flattened map member is named by its element name on the wire, not its member name.
    for shape in shapes.values():
        if shape.get("type") != "structure":
            continue
        for member in shape.get("members", {}).values():
            target = member.get("shape")
            if target in _SQS_QUERY_MAPS:
                member["locationName"] = _SQS_QUERY_MAPS[target][0]
    for op in data["operations"].values():
        output = op.get("output")
        if output is not None:
            output["resultWrapper"] = f"{op['name']}Result"
    for shape_name, code in SQS_QUERY_ERROR_CODES.items():
        if shape_name in shapes:
            shapes[shape_name]["error"] = {"code": code, "httpStatusCode": 400, "senderFault": True}
    return data


def shape_wire_name(shape: Shape, default: str) -> str:
    """The name a member travels under (its ``locationName``) or ``default``."""
    return shape.serialization.get("name", default)
