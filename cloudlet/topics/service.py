"""The topic service: SNS's API over durable topics, subscriptions and deliveries.

Protocols delivered: ``sqs`` (through the router to the queue service), ``lambda`` (the SNS
event, invoked asynchronously through the router) and ``http``/``https`` (POSTed with the
standard library, after the SubscriptionConfirmation flow). ``email``, ``email-json`` and
``sms`` subscriptions are accepted and stay pending confirmation, so nothing is delivered to
them, as on AWS until someone confirms. ``application`` and ``firehose`` are refused with an
error naming what is missing.

Store layout: ``sns.topics`` (name -> topic), ``sns.subscriptions`` (ARN -> subscription),
``sns.outbox`` (pending deliveries, see ``delivery``), ``sns.dedup`` (FIFO deduplication).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import logging
import re
import secrets
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from cloudlet.arns import build_arn, parse_arn
from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import CloudletError, ResourceNotFound, TaskFailed, ValidationError
from cloudlet.patterns import FilterPolicy
from cloudlet.router import InvocationType, Router
from cloudlet.store import Delete, Op, Put, Store
from cloudlet.topics.delivery import Delivery, DeliveryFailed, Dispatcher
from cloudlet.topics.envelope import (
    Notification,
    confirmation_envelope,
    lambda_event,
    notification_envelope,
)
from cloudlet.topics.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    NotFound,
    TagLimitExceeded,
    TagResourceNotFound,
    TooManyEntriesInBatchRequest,
)
from cloudlet.topics.retry import HTTP_DEFAULT, MANAGED_DEFAULT, RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://localhost:4566"
NS_TOPICS = "sns.topics"
NS_SUBSCRIPTIONS = "sns.subscriptions"
NS_DEDUP = "sns.dedup"
MAX_MESSAGE_BYTES = 262_144
DEDUP_WINDOW = 300.0

DELIVERED_PROTOCOLS = {"sqs", "lambda", "http", "https"}
PENDING_ONLY_PROTOCOLS = {"email", "email-json", "sms"}
UNSUPPORTED_PROTOCOLS = {"application", "firehose"}

TOPIC_ATTRIBUTES = {
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "ContentBasedDeduplication",
    "FifoTopic",
    "ArchivePolicy",
    "FifoThroughputScope",
    "DataProtectionPolicy",
}
SUBSCRIPTION_ATTRIBUTES = {
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
}
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_FIFO_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass
class Topic:
    name: str
    arn: str
    fifo: bool
    attributes: dict[str, str]
    tags: dict[str, str]
    dedup: dict[str, tuple[float, str, str | None]] = field(default_factory=dict)

    def doc(self) -> dict[str, Any]:
        return {"fifo": self.fifo, "attributes": self.attributes, "tags": self.tags}


@dataclass
class Subscription:
    arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    owner: str
    attributes: dict[str, str]
    confirmed: bool
    token: str | None = None
    filter: FilterPolicy | None = None

    def doc(self) -> dict[str, Any]:
        return {
            "topic": self.topic_arn,
            "protocol": self.protocol,
            "endpoint": self.endpoint,
            "owner": self.owner,
            "attributes": self.attributes,
            "confirmed": self.confirmed,
            "token": self.token,
        }

    def compile_filter(self) -> None:
        text = self.attributes.get("FilterPolicy")
        scope = self.attributes.get("FilterPolicyScope", "MessageAttributes")
        self.filter = FilterPolicy(text, scope) if text else None  # type: ignore[arg-type]

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery", "false").lower() == "true"


class Topics:
    """SNS: standard and FIFO topics with durable, retried fan-out."""

    def __init__(self, *, store: Store, router: Router, clock: Clock, config: ServiceConfig) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.config = config
        self._topics: dict[str, Topic] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._seq = 0
        self.dispatcher = Dispatcher(store, clock, self._attempt, self._retry_delay, self._give_up)
        router.register_api("sns", self)
        router.register_owner("sns", "", self.deliver)

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        now = self.clock.time()
        for name, doc in await self.store.scan(NS_TOPICS):
            arn = self.topic_arn(name)
            self._topics[arn] = Topic(name, arn, doc["fifo"], doc["attributes"], doc["tags"])
        for arn, doc in await self.store.scan(NS_SUBSCRIPTIONS):
            sub = Subscription(
                arn,
                doc["topic"],
                doc["protocol"],
                doc["endpoint"],
                doc["owner"],
                doc["attributes"],
                doc["confirmed"],
                doc.get("token"),
            )
            sub.compile_filter()
            self._subscriptions[arn] = sub
        stale: list[Op] = []
        for key, doc in await self.store.scan(NS_DEDUP):
            topic = self._topics.get(doc["topic"])
            if topic is None or doc["exp"] <= now:
                stale.append(Delete(NS_DEDUP, key))
            else:
                topic.dedup[doc["key"]] = (doc["exp"], doc["id"], doc.get("seqn"))
        if stale:
            await self.store.write(stale)
        await self.dispatcher.start()
        self._seq = max(self._seq, self.dispatcher.max_seq)

    async def stop(self) -> None:
        await self.dispatcher.stop()

    # -- names -------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return (self.config.endpoint_url or DEFAULT_ENDPOINT).rstrip("/")

    def topic_arn(self, name: str) -> str:
        return build_arn("sns", name, region=self.config.region, account=self.config.account)

    def _topic(self, arn: str | None) -> Topic:
        if not arn:
            raise InvalidParameter("Invalid parameter: TopicArn")
        try:
            parse_arn(arn)
        except ValidationError:
            raise InvalidParameter("Invalid parameter: TopicArn") from None
        topic = self._topics.get(arn)
        if topic is None:
            raise NotFound("Topic does not exist")
        return topic

    def _subscription(self, arn: str) -> Subscription:
        sub = self._subscriptions.get(arn)
        if sub is None:
            try:
                parse_arn(arn)
            except ValidationError:
                raise InvalidParameter("Invalid parameter: SubscriptionArn") from None
            raise NotFound("Subscription does not exist")
        return sub

    def _next_seq(self) -> int:
        self._seq = max(self._seq + 1, int(self.clock.time() * 1_000_000))
        return self._seq

    # -- router entry point ------------------------------------------------------------------------
    async def deliver(self, arn: str, payload: Any, invocation_type: InvocationType = "Event") -> Any:
        """Publish ``payload`` (a string, or JSON it is serialized to) to topic ``arn``."""
        message = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        return await self.publish(TopicArn=arn, Message=message)

    # -- topics --------------------------------------------------------------------------------------
    async def create_topic(
        self,
        Name: str,
        Attributes: Mapping[str, str] | None = None,
        Tags: Sequence[Mapping[str, str]] | None = None,
        DataProtectionPolicy: str | None = None,
    ) -> dict[str, Any]:
        attributes = {k: str(v) for k, v in (Attributes or {}).items()}
        fifo = attributes.get("FifoTopic", "false").lower() == "true"
        if fifo and not _FIFO_TOPIC_NAME.match(Name):
            raise InvalidParameter(
                "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase "
                "ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 "
                "characters long."
            )
        if not fifo and not _TOPIC_NAME.match(Name):
            raise InvalidParameter("Invalid parameter: Topic Name")
        for name in attributes:
            if name not in TOPIC_ATTRIBUTES:
                raise InvalidParameter(f"Invalid parameter: Attributes Reason: Unknown attribute {name}")
        if "ContentBasedDeduplication" in attributes and not fifo:
            raise InvalidParameter(
                "Invalid parameter: Attributes Reason: ContentBasedDeduplication can only be set for "
                "FIFO topics"
            )
        if "DeliveryPolicy" in attributes:
            _parse_json_attribute("DeliveryPolicy", attributes["DeliveryPolicy"])
        if DataProtectionPolicy:
            attributes["DataProtectionPolicy"] = DataProtectionPolicy
        arn = self.topic_arn(Name)
        existing = self._topics.get(arn)
        tags = _tag_dict(Tags)
        if existing is not None:
            for key, value in attributes.items():
                if existing.attributes.get(key) != value:
                    raise InvalidParameter(
                        "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
                    )
            if tags and any(existing.tags.get(k) != v for k, v in tags.items()):
                raise InvalidParameter(
                    "Invalid parameter: Tags Reason: Topic already exists with different tags"
                )
            return {"TopicArn": arn}
        if fifo:
            attributes.setdefault("FifoTopic", "true")
            attributes.setdefault("ContentBasedDeduplication", "false")
        topic = Topic(Name, arn, fifo, attributes, tags)
        self._topics[arn] = topic
        await self.store.write([Put(NS_TOPICS, Name, topic.doc())])
        log.info("topic created", extra={"action": "create_topic", "topic": arn})
        return {"TopicArn": arn}

    async def delete_topic(self, TopicArn: str) -> dict[str, Any]:
        topic = self._topics.pop(TopicArn, None)
        if topic is None:
            return {}  # SNS: deleting a topic that does not exist is not an error
        ops: list[Op] = [Delete(NS_TOPICS, topic.name)]
        for sub in [s for s in self._subscriptions.values() if s.topic_arn == TopicArn]:
            del self._subscriptions[sub.arn]
            ops.append(Delete(NS_SUBSCRIPTIONS, sub.arn))
            ops += self.dispatcher.drop_subscription(sub.arn)
        await self.store.write(ops)
        return {}

    async def list_topics(self, NextToken: str | None = None) -> dict[str, Any]:
        arns = sorted(self._topics)
        start = _page_start(NextToken)
        page = arns[start : start + 100]
        out: dict[str, Any] = {"Topics": [{"TopicArn": a} for a in page]}
        if start + 100 < len(arns):
            out["NextToken"] = _page_token(start + 100)
        return out

    async def get_topic_attributes(self, TopicArn: str) -> dict[str, Any]:
        topic = self._topic(TopicArn)
        subs = [s for s in self._subscriptions.values() if s.topic_arn == TopicArn]
        attrs = {
            "TopicArn": topic.arn,
            "Owner": self.config.account,
            "DisplayName": "",
            "Policy": orjson.dumps(self._default_policy(topic)).decode(),
            "SubscriptionsConfirmed": str(sum(1 for s in subs if s.confirmed)),
            "SubscriptionsPending": str(sum(1 for s in subs if not s.confirmed)),
            "SubscriptionsDeleted": "0",
            "EffectiveDeliveryPolicy": orjson.dumps(_effective_delivery_policy(topic.attributes)).decode(),
        }
        attrs.update(topic.attributes)
        return {"Attributes": attrs}

    def _default_policy(self, topic: Topic) -> dict[str, Any]:
        return {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "SNS:GetTopicAttributes",
                        "SNS:SetTopicAttributes",
                        "SNS:AddPermission",
                        "SNS:RemovePermission",
                        "SNS:DeleteTopic",
                        "SNS:Subscribe",
                        "SNS:ListSubscriptionsByTopic",
                        "SNS:Publish",
                    ],
                    "Resource": topic.arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": self.config.account}},
                }
            ],
        }

    async def set_topic_attributes(
        self, TopicArn: str, AttributeName: str, AttributeValue: str | None = None
    ) -> dict[str, Any]:
        topic = self._topic(TopicArn)
        if AttributeName not in TOPIC_ATTRIBUTES or AttributeName == "FifoTopic":
            raise InvalidParameter("Invalid parameter: AttributeName")
        if AttributeName == "ContentBasedDeduplication" and not topic.fifo:
            raise InvalidParameter(
                "Invalid parameter: Attributes Reason: ContentBasedDeduplication can only be set for "
                "FIFO topics"
            )
        if AttributeName == "DeliveryPolicy" and AttributeValue:
            _parse_json_attribute("DeliveryPolicy", AttributeValue)
        topic.attributes[AttributeName] = AttributeValue or ""
        await self.store.write([Put(NS_TOPICS, topic.name, topic.doc())])
        return {}

    # -- subscriptions ---------------------------------------------------------------------------------
    async def subscribe(
        self,
        TopicArn: str,
        Protocol: str,
        Endpoint: str | None = None,
        Attributes: Mapping[str, str] | None = None,
        ReturnSubscriptionArn: bool = False,
    ) -> dict[str, Any]:
        topic = self._topic(TopicArn)
        protocol = (Protocol or "").lower()
        if protocol in UNSUPPORTED_PROTOCOLS:
            raise InvalidParameter(
                f"Invalid parameter: Protocol Reason: cloudlet does not deliver to the '{protocol}' protocol "
                "(supported: sqs, lambda, http, https; email, email-json and sms stay pending confirmation)"
            )
        if protocol not in DELIVERED_PROTOCOLS | PENDING_ONLY_PROTOCOLS:
            raise InvalidParameter(
                "Invalid parameter: Amazon SNS does not support this protocol string: " + Protocol
            )
        if not Endpoint:
            raise InvalidParameter("Invalid parameter: Endpoint")
        _check_endpoint(protocol, Endpoint)
        if topic.fifo and protocol not in ("sqs",):
            raise InvalidParameter(
                "Invalid parameter: Invalid protocol type: "
                + protocol
                + " for FIFO topics (only sqs is supported)"
            )
        attributes = {k: str(v) for k, v in (Attributes or {}).items()}
        for name, value in attributes.items():
            self._check_subscription_attribute(name, value, protocol)
        for sub in self._subscriptions.values():
            if sub.topic_arn == TopicArn and sub.protocol == protocol and sub.endpoint == Endpoint:
                if any(sub.attributes.get(k) != v for k, v in attributes.items()):
                    raise InvalidParameter(
                        "Invalid parameter: Attributes Reason: Subscription already exists with "
                        "different attributes"
                    )
                return {
                    "SubscriptionArn": sub.arn
                    if sub.confirmed or ReturnSubscriptionArn
                    else "pending confirmation"
                }
        arn = f"{TopicArn}:{uuid.uuid4()}"
        confirmed = protocol in ("sqs", "lambda")
        sub = Subscription(
            arn,
            TopicArn,
            protocol,
            Endpoint,
            self.config.account,
            attributes,
            confirmed,
            None if confirmed else secrets.token_hex(64),
        )
        sub.compile_filter()
        ops: list[Op] = [Put(NS_SUBSCRIPTIONS, arn, sub.doc())]
        deliveries: list[Delivery] = []
        if protocol in ("http", "https"):
            deliveries.append(self._confirmation(sub))
            ops += self.dispatcher.ops_for(deliveries)
        self._subscriptions[arn] = sub
        await self.store.write(ops)
        self.dispatcher.add(deliveries)
        return {"SubscriptionArn": arn if confirmed or ReturnSubscriptionArn else "pending confirmation"}

    def _confirmation(self, sub: Subscription) -> Delivery:
        body = confirmation_envelope(
            "SubscriptionConfirmation",
            message_id=str(uuid.uuid4()),
            topic_arn=sub.topic_arn,
            token=sub.token or "",
            timestamp=self.clock.time(),
            endpoint=self.endpoint,
        )
        return Delivery(self._next_seq(), sub.arn, "confirmation", body, self.clock.time())

    def _check_subscription_attribute(self, name: str, value: str, protocol: str) -> None:
        if name not in SUBSCRIPTION_ATTRIBUTES:
            raise InvalidParameter(f"Invalid parameter: Attributes Reason: Unknown attribute {name}")
        if name == "RawMessageDelivery":
            if value.lower() not in ("true", "false"):
                raise InvalidParameter(
                    "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value"
                )
            if protocol not in ("sqs", "http", "https", "firehose") and value.lower() == "true":
                raise InvalidParameter(
                    "Invalid parameter: Attributes Reason: Delivery protocol [" + protocol + "] does not "
                    "support raw message delivery."
                )
        elif name == "FilterPolicyScope":
            if value not in ("MessageAttributes", "MessageBody"):
                raise InvalidParameter(f"Invalid parameter: FilterPolicyScope: Invalid value [{value}]")
        elif name == "FilterPolicy":
            if value:
                FilterPolicy(value, "MessageBody")  # syntax; the scope check happens at compile
        elif name == "RedrivePolicy":
            if value:
                doc = _parse_json_attribute("RedrivePolicy", value)
                target = doc.get("deadLetterTargetArn") if isinstance(doc, dict) else None
                try:
                    ok = bool(target) and parse_arn(str(target)).service == "sqs"
                except ValidationError:
                    ok = False
                if not ok:
                    raise InvalidParameter(
                        "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn"
                    )
        elif name == "DeliveryPolicy" and value:
            _parse_json_attribute("DeliveryPolicy", value)

    async def confirm_subscription(
        self, TopicArn: str, Token: str, AuthenticateOnUnsubscribe: str | None = None
    ) -> dict[str, Any]:
        self._topic(TopicArn)
        for sub in self._subscriptions.values():
            if sub.topic_arn == TopicArn and sub.token == Token:
                if not sub.confirmed:
                    sub.confirmed = True
                    await self.store.write([Put(NS_SUBSCRIPTIONS, sub.arn, sub.doc())])
                return {"SubscriptionArn": sub.arn}
        raise InvalidParameter("Invalid token")

    async def unsubscribe(self, SubscriptionArn: str) -> dict[str, Any]:
        sub = self._subscription(SubscriptionArn)
        del self._subscriptions[sub.arn]
        ops: list[Op] = [Delete(NS_SUBSCRIPTIONS, sub.arn), *self.dispatcher.drop_subscription(sub.arn)]
        await self.store.write(ops)
        return {}

    def _describe(self, sub: Subscription) -> dict[str, Any]:
        return {
            "SubscriptionArn": sub.arn if sub.confirmed else "PendingConfirmation",
            "Owner": sub.owner,
            "Protocol": sub.protocol,
            "Endpoint": sub.endpoint,
            "TopicArn": sub.topic_arn,
        }

    async def list_subscriptions(self, NextToken: str | None = None) -> dict[str, Any]:
        subs = sorted(self._subscriptions.values(), key=lambda s: s.arn)
        return self._page_subscriptions(subs, NextToken)

    async def list_subscriptions_by_topic(
        self, TopicArn: str, NextToken: str | None = None
    ) -> dict[str, Any]:
        self._topic(TopicArn)
        subs = sorted(
            (s for s in self._subscriptions.values() if s.topic_arn == TopicArn), key=lambda s: s.arn
        )
        return self._page_subscriptions(subs, NextToken)

    def _page_subscriptions(self, subs: list[Subscription], token: str | None) -> dict[str, Any]:
        start = _page_start(token)
        out: dict[str, Any] = {"Subscriptions": [self._describe(s) for s in subs[start : start + 100]]}
        if start + 100 < len(subs):
            out["NextToken"] = _page_token(start + 100)
        return out

    async def get_subscription_attributes(self, SubscriptionArn: str) -> dict[str, Any]:
        sub = self._subscription(SubscriptionArn)
        topic = self._topics.get(sub.topic_arn)
        attrs = {
            "SubscriptionArn": sub.arn,
            "TopicArn": sub.topic_arn,
            "Owner": sub.owner,
            "Protocol": sub.protocol,
            "Endpoint": sub.endpoint,
            "ConfirmationWasAuthenticated": "true" if sub.confirmed else "false",
            "PendingConfirmation": "false" if sub.confirmed else "true",
            "RawMessageDelivery": "false",
            "EffectiveDeliveryPolicy": orjson.dumps(
                _effective_delivery_policy(sub.attributes, topic.attributes if topic else {})
            ).decode(),
        }
        attrs.update({k: v for k, v in sub.attributes.items() if v != ""})
        if "FilterPolicy" in attrs:
            attrs.setdefault("FilterPolicyScope", "MessageAttributes")
        return {"Attributes": attrs}

    async def set_subscription_attributes(
        self, SubscriptionArn: str, AttributeName: str, AttributeValue: str | None = None
    ) -> dict[str, Any]:
        sub = self._subscription(SubscriptionArn)
        value = AttributeValue or ""
        self._check_subscription_attribute(AttributeName, value, sub.protocol)
        attributes = {**sub.attributes, AttributeName: value}
        if AttributeName == "FilterPolicyScope" and not attributes.get("FilterPolicy"):
            raise InvalidParameter(
                "Invalid parameter: Attributes Reason: FilterPolicyScope: Filter policy scope can't be set "
                "without a filter policy"
            )
        trial = dataclasses.replace(sub, attributes=attributes, filter=None)
        trial.compile_filter()  # the policy must be valid in its (possibly new) scope
        sub.attributes = attributes
        sub.filter = trial.filter
        await self.store.write([Put(NS_SUBSCRIPTIONS, sub.arn, sub.doc())])
        return {}

    # -- tags --------------------------------------------------------------------------------------------
    def _tagged(self, arn: str) -> Topic:
        topic = self._topics.get(arn)
        if topic is None:
            raise TagResourceNotFound("Resource does not exist")
        return topic

    async def tag_resource(self, ResourceArn: str, Tags: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        topic = self._tagged(ResourceArn)
        tags = {**topic.tags, **_tag_dict(Tags)}
        if len(tags) > 50:
            raise TagLimitExceeded("Could not complete request: tag quota of per resource exceeded")
        topic.tags = tags
        await self.store.write([Put(NS_TOPICS, topic.name, topic.doc())])
        return {}

    async def untag_resource(self, ResourceArn: str, TagKeys: Sequence[str]) -> dict[str, Any]:
        topic = self._tagged(ResourceArn)
        topic.tags = {k: v for k, v in topic.tags.items() if k not in set(TagKeys)}
        await self.store.write([Put(NS_TOPICS, topic.name, topic.doc())])
        return {}

    async def list_tags_for_resource(self, ResourceArn: str) -> dict[str, Any]:
        topic = self._tagged(ResourceArn)
        return {"Tags": [{"Key": k, "Value": v} for k, v in topic.tags.items()]}

    # -- publishing ----------------------------------------------------------------------------------------
    async def publish(
        self,
        Message: str,
        TopicArn: str | None = None,
        TargetArn: str | None = None,
        PhoneNumber: str | None = None,
        Subject: str | None = None,
        MessageStructure: str | None = None,
        MessageAttributes: Mapping[str, Any] | None = None,
        MessageDeduplicationId: str | None = None,
        MessageGroupId: str | None = None,
    ) -> dict[str, Any]:
        if PhoneNumber is not None:
            raise InvalidParameter(
                "Invalid parameter: PhoneNumber Reason: cloudlet does not send SMS messages"
            )
        topic = self._topic(TopicArn or TargetArn)
        now = self.clock.time()
        note, result = self._prepare(
            topic,
            now,
            Message,
            Subject,
            MessageStructure,
            MessageAttributes,
            MessageDeduplicationId,
            MessageGroupId,
        )
        if note is not None:
            await self._fan_out(topic, [note], now)
        return result

    async def publish_batch(
        self, TopicArn: str, PublishBatchRequestEntries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        topic = self._topic(TopicArn)
        entries = list(PublishBatchRequestEntries or [])
        if not entries:
            raise EmptyBatchRequest("The batch request doesn't contain any entries")
        if len(entries) > 10:
            raise TooManyEntriesInBatchRequest("The batch request contains more entries than permissible")
        ids = [e.get("Id", "") for e in entries]
        if len(set(ids)) != len(ids):
            raise BatchEntryIdsNotDistinct("Two or more batch entries in the request have the same Id")
        if any(not _BATCH_ID.match(i) for i in ids):
            raise InvalidBatchEntryId(
                "The Id of a batch entry in a batch request doesn't abide by the specification"
            )
        total = sum(len(str(e.get("Message", "")).encode()) for e in entries)
        if total > MAX_MESSAGE_BYTES:
            raise BatchRequestTooLong("The length of all the messages put together is more than the limit")
        now = self.clock.time()
        successful, failed, notes = [], [], []
        for entry in entries:
            try:
                note, result = self._prepare(
                    topic,
                    now,
                    entry.get("Message"),
                    entry.get("Subject"),
                    entry.get("MessageStructure"),
                    entry.get("MessageAttributes"),
                    entry.get("MessageDeduplicationId"),
                    entry.get("MessageGroupId"),
                )
            except CloudletError as exc:
                failed.append(
                    {"Id": entry["Id"], "Code": exc.code, "Message": exc.message, "SenderFault": True}
                )
                continue
            if note is not None:
                notes.append(note)
            successful.append({"Id": entry["Id"], **result})
        if notes:
            await self._fan_out(topic, notes, now)
        return {"Successful": successful, "Failed": failed}

    def _prepare(
        self,
        topic: Topic,
        now: float,
        message: str | None,
        subject: str | None,
        structure: str | None,
        attributes: Mapping[str, Any] | None,
        dedup_id: str | None,
        group_id: str | None,
    ) -> tuple[Notification | None, dict[str, Any]]:
        if message is None or message == "":
            raise InvalidParameter("Invalid parameter: Empty message")
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            raise InvalidParameter("Invalid parameter: Message too long")
        if subject is not None:
            if (
                subject == ""
                or len(subject) > 100
                or any(c in subject for c in "\r\n")
                or not subject.isascii()
            ):
                raise InvalidParameter("Invalid parameter: Subject")
        if structure is not None:
            if structure != "json":
                raise InvalidParameter("Invalid parameter: MessageStructure")
            try:
                doc = orjson.loads(message)
            except orjson.JSONDecodeError:
                doc = None
            if not isinstance(doc, dict):
                raise InvalidParameter(
                    "Invalid parameter: Message Structure - JSON message body failed to parse"
                )
            if "default" not in doc:
                raise InvalidParameter(
                    "Invalid parameter: Message Structure - No default entry in JSON message body"
                )
        attrs = _validate_attributes(attributes)
        sequence_number = None
        if topic.fifo:
            if not group_id:
                raise InvalidParameter(
                    "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
                )
            if not dedup_id:
                if topic.attributes.get("ContentBasedDeduplication", "false").lower() != "true":
                    raise InvalidParameter(
                        "Invalid parameter: The topic should either have ContentBasedDeduplication enabled "
                        "or MessageDeduplicationId provided explicitly"
                    )
                dedup_id = hashlib.sha256(message.encode()).hexdigest()
            seen = topic.dedup.get(dedup_id)
            if seen is not None and seen[0] > now:
                result: dict[str, Any] = {"MessageId": seen[1]}
                if seen[2]:
                    result["SequenceNumber"] = seen[2]
                return None, result
        elif dedup_id is not None:
            raise InvalidParameter(
                "Invalid parameter: MessageDeduplicationId Reason: The request includes "
                "MessageDeduplicationId "
                "parameter that is not valid for this topic type"
            )
        seq = self._next_seq()
        if topic.fifo:
            sequence_number = str(10**19 + seq)
        note = Notification(
            message_id=str(uuid.uuid4()),
            topic_arn=topic.arn,
            message=message,
            subject=subject,
            timestamp=now,
            attributes=attrs,
            sequence_number=sequence_number,
            group_id=group_id,
            dedup_id=dedup_id,
            structured=structure == "json",
        )
        if topic.fifo and dedup_id:
            topic.dedup[dedup_id] = (now + DEDUP_WINDOW, note.message_id, sequence_number)
        result = {"MessageId": note.message_id}
        if sequence_number:
            result["SequenceNumber"] = sequence_number
        return note, result

    async def _fan_out(self, topic: Topic, notes: list[Notification], now: float) -> None:
        """Durably record one delivery per matching subscription, then schedule them."""
        subs = [s for s in self._subscriptions.values() if s.topic_arn == topic.arn and s.confirmed]
        deliveries: list[Delivery] = []
        for note in notes:
            for sub in subs:
                if sub.protocol in PENDING_ONLY_PROTOCOLS:
                    continue
                if sub.filter is not None and not sub.filter.matches(note.message, note.attributes):
                    continue
                lane = f"{sub.arn}\x00{note.group_id}" if topic.fifo else None
                deliveries.append(
                    Delivery(self._next_seq(), sub.arn, "notification", _note_doc(note), now, lane=lane)
                )
        ops: list[Op] = list(self.dispatcher.ops_for(deliveries))
        if topic.fifo:
            for note in notes:
                if note.dedup_id:
                    key = hashlib.sha256(f"{topic.arn}\x00{note.dedup_id}".encode()).hexdigest()
                    ops.append(
                        Put(
                            NS_DEDUP,
                            key,
                            {
                                "topic": topic.arn,
                                "key": note.dedup_id,
                                "exp": now + DEDUP_WINDOW,
                                "id": note.message_id,
                                "seqn": note.sequence_number,
                            },
                        )
                    )
            expired = [k for k, v in topic.dedup.items() if v[0] <= now]
            for key in expired:
                del topic.dedup[key]
                ops.append(Delete(NS_DEDUP, hashlib.sha256(f"{topic.arn}\x00{key}".encode()).hexdigest()))
        if ops:
            await self.store.write(ops)
        self.dispatcher.add(deliveries)

    # -- delivering ------------------------------------------------------------------------------------------
    def _retry_delay(self, delivery: Delivery, failure: DeliveryFailed) -> float | None:
        sub = self._subscriptions.get(delivery.subscription_arn)
        if sub is None:
            return None
        topic = self._topics.get(sub.topic_arn)
        if sub.protocol in ("http", "https"):
            policy = RetryPolicy.from_delivery_policy(
                _json_or_none(sub.attributes.get("DeliveryPolicy"))
                or _json_or_none((topic.attributes if topic else {}).get("DeliveryPolicy")),
                HTTP_DEFAULT,
            )
        else:
            policy = MANAGED_DEFAULT
        return policy.delay(delivery.attempt + 1)

    async def _attempt(self, delivery: Delivery) -> None:
        sub = self._subscriptions.get(delivery.subscription_arn)
        if sub is None:
            return  # unsubscribed meanwhile: nothing to deliver
        if delivery.kind == "confirmation":
            await self._post(sub, delivery.body, "SubscriptionConfirmation", raw=False)
            return
        note = _note_from_doc(delivery.body)
        message = _message_for(note, delivery.body, sub.protocol)
        if sub.protocol == "sqs":
            params: dict[str, Any] = {"QueueUrl": sub.endpoint}
            if sub.raw:
                params["MessageBody"] = message
                if note.attributes:
                    params["MessageAttributes"] = _sqs_attributes(note.attributes)
            else:
                params["MessageBody"] = orjson.dumps(
                    notification_envelope(_with_message(note, message), sub.arn, self.endpoint)
                ).decode()
            if sub.endpoint.endswith(".fifo"):
                params["MessageGroupId"] = note.group_id or "default"
                params["MessageDeduplicationId"] = note.dedup_id or note.message_id
            await self._call(lambda: self.router.call("sqs", "SendMessage", params))
        elif sub.protocol == "lambda":
            event = lambda_event(_with_message(note, message), sub.arn, self.endpoint)
            await self._call(lambda: self.router.deliver(sub.endpoint, event, invocation_type="Event"))
        elif sub.protocol in ("http", "https"):
            if sub.raw:
                await self._post(sub, message, "Notification", raw=True, message_id=note.message_id)
            else:
                body = notification_envelope(_with_message(note, message), sub.arn, self.endpoint)
                await self._post(sub, body, "Notification", raw=False)

    async def _call(self, send: Any) -> None:
        try:
            await send()
        except TaskFailed:
            return  # the function ran and failed: Lambda's own async error handling applies
        except (ResourceNotFound, ValidationError) as exc:
            raise DeliveryFailed(exc.code, exc.message, retryable=False) from exc
        except CloudletError as exc:
            raise DeliveryFailed(
                exc.code, exc.message, retryable=exc.status >= 500 or exc.status == 429
            ) from exc

    async def _post(
        self, sub: Subscription, body: Any, kind: str, *, raw: bool, message_id: str | None = None
    ) -> None:
        data = (body if isinstance(body, str) else orjson.dumps(body).decode()).encode()
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "User-Agent": "Amazon Simple Notification Service Agent",
            "x-amz-sns-message-type": kind,
            "x-amz-sns-message-id": message_id
            or (body.get("MessageId", "") if isinstance(body, dict) else ""),
            "x-amz-sns-topic-arn": sub.topic_arn,
        }
        if kind == "Notification":
            headers["x-amz-sns-subscription-arn"] = sub.arn
        if raw:
            headers["x-amz-sns-rawdelivery"] = "true"
        status = await asyncio.to_thread(_http_post, sub.endpoint, data, headers)
        if 200 <= status < 300:
            return
        retryable = status == 429 or status >= 500 or status == 0
        raise DeliveryFailed(f"HTTP{status}", f"endpoint answered {status}", retryable=retryable)

    async def _give_up(self, delivery: Delivery, failure: DeliveryFailed) -> None:
        sub = self._subscriptions.get(delivery.subscription_arn)
        if sub is None or delivery.kind != "notification":
            return
        policy = _json_or_none(sub.attributes.get("RedrivePolicy"))
        target = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
        if not target:
            log.warning(
                "message dropped after failed deliveries",
                extra={"action": "deliver", "subscription": sub.arn, "code": failure.code},
            )
            return
        note = _note_from_doc(delivery.body)
        body = orjson.dumps(notification_envelope(note, sub.arn, self.endpoint)).decode()
        params: dict[str, Any] = {
            "QueueUrl": target,
            "MessageBody": body,
            "MessageAttributes": {
                "ErrorCode": {"DataType": "String", "StringValue": failure.code},
                "ErrorMessage": {"DataType": "String", "StringValue": failure.message[:1000] or failure.code},
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            },
        }
        if target.endswith(".fifo"):
            params["MessageGroupId"] = note.group_id or "default"
            params["MessageDeduplicationId"] = note.dedup_id or note.message_id
        try:
            await self.router.call("sqs", "SendMessage", params)
        except CloudletError as exc:
            log.warning(
                "subscription dead-letter queue unreachable",
                extra={"action": "dead_letter", "subscription": sub.arn, "code": exc.code},
            )


# -- helpers -----------------------------------------------------------------------------------------


def _http_post(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError):
        return 0


def _check_endpoint(protocol: str, endpoint: str) -> None:
    if protocol in ("sqs", "lambda"):
        try:
            arn = parse_arn(endpoint)
        except ValidationError:
            raise InvalidParameter(f"Invalid parameter: {protocol.upper()} endpoint ARN") from None
        expected = "sqs" if protocol == "sqs" else "lambda"
        if arn.service != expected:
            raise InvalidParameter(f"Invalid parameter: {protocol.upper()} endpoint ARN")
    elif protocol in ("http", "https") and not endpoint.lower().startswith(protocol + "://"):
        raise InvalidParameter("Invalid parameter: Endpoint must match the specified protocol")


def _validate_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not attributes:
        return out
    if len(attributes) > 10:
        raise InvalidParameter(
            "Invalid parameter: MessageAttributes Reason: Number of message attributes exceeds 10"
        )
    for name, attr in attributes.items():
        if not isinstance(attr, Mapping) or not attr.get("DataType"):
            raise InvalidParameter(
                f"Invalid parameter: The message attribute '{name}' must contain non-empty "
                "message attribute type."
            )
        data_type = str(attr["DataType"])
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise InvalidParameter(
                f"Invalid parameter: The message attribute '{name}' has an invalid message attribute type, "
                "the set of supported type prefixes is Binary, Number, and String."
            )
        if base == "Binary":
            value = attr.get("BinaryValue")
            if value is None:
                raise InvalidParameter(
                    f"Invalid parameter: The message attribute '{name}' with type 'Binary' "
                    "must use field 'Binary'."
                )
            out[name] = {
                "DataType": data_type,
                "BinaryValue": value.encode() if isinstance(value, str) else bytes(value),
            }
            continue
        text = attr.get("StringValue")
        if text is None:
            raise InvalidParameter(
                f"Invalid parameter: The message attribute '{name}' must contain non-empty message "
                f"attribute value for message attribute type '{data_type}'."
            )
        if base == "Number":
            try:
                float(text)
            except ValueError:
                raise InvalidParameter(
                    f"Invalid parameter: Could not cast message attribute '{name}' value to number."
                ) from None
        if data_type == "String.Array":
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, list):
                raise InvalidParameter(
                    f"Invalid parameter: Message attribute '{name}' of type String.Array "
                    "must be a JSON array."
                )
        out[name] = {"DataType": data_type, "StringValue": text}
    return out


def _sqs_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SNS attributes as SQS message attributes for raw delivery (String.Array becomes String)."""
    out = {}
    for name, attr in attributes.items():
        if "BinaryValue" in attr:
            out[name] = {"DataType": "Binary", "BinaryValue": attr["BinaryValue"]}
        else:
            data_type = "String" if attr["DataType"] == "String.Array" else attr["DataType"]
            out[name] = {"DataType": data_type, "StringValue": attr["StringValue"]}
    return out


def _note_doc(note: Notification) -> dict[str, Any]:
    attrs = {}
    for name, attr in note.attributes.items():
        if "BinaryValue" in attr:
            attrs[name] = {"DataType": attr["DataType"], "B": base64.b64encode(attr["BinaryValue"]).decode()}
        else:
            attrs[name] = dict(attr)
    return {
        "id": note.message_id,
        "topic": note.topic_arn,
        "message": note.message,
        "subject": note.subject,
        "ts": note.timestamp,
        "attrs": attrs,
        "seqn": note.sequence_number,
        "group": note.group_id,
        "dedup": note.dedup_id,
        "structure": note.structured,
    }


def _note_from_doc(doc: dict[str, Any]) -> Notification:
    attrs = {}
    for name, attr in doc["attrs"].items():
        if "B" in attr:
            attrs[name] = {"DataType": attr["DataType"], "BinaryValue": base64.b64decode(attr["B"])}
        else:
            attrs[name] = attr
    return Notification(
        message_id=doc["id"],
        topic_arn=doc["topic"],
        message=doc["message"],
        subject=doc["subject"],
        timestamp=doc["ts"],
        attributes=attrs,
        sequence_number=doc.get("seqn"),
        group_id=doc.get("group"),
        dedup_id=doc.get("dedup"),
        structured=bool(doc.get("structure")),
    )


def _message_for(note: Notification, doc: dict[str, Any], protocol: str) -> str:
    """The text a protocol receives: with MessageStructure json, its own entry or ``default``."""
    if not doc.get("structure"):
        return note.message
    per_protocol = orjson.loads(note.message)
    value = per_protocol.get(protocol, per_protocol["default"])
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _with_message(note: Notification, message: str) -> Notification:
    return note if message == note.message else dataclasses.replace(note, message=message, structured=False)


def _tag_dict(tags: Sequence[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def _parse_json_attribute(name: str, value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidParameter(
            f"Invalid parameter: Attributes Reason: {name}: failed to parse JSON."
        ) from None


def _json_or_none(value: str | None) -> Any:
    if not value:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def _effective_delivery_policy(*attribute_sets: Mapping[str, str]) -> dict[str, Any]:
    for attributes in attribute_sets:
        doc = _json_or_none(attributes.get("DeliveryPolicy"))
        if doc:
            return doc if "http" in doc else {"http": doc}
    return {
        "http": {
            "defaultHealthyRetryPolicy": {
                "minDelayTarget": 20,
                "maxDelayTarget": 20,
                "numRetries": 3,
                "numMaxDelayRetries": 0,
                "numNoDelayRetries": 0,
                "numMinDelayRetries": 0,
                "backoffFunction": "linear",
            },
            "disableSubscriptionOverrides": False,
            "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
        }
    }


def _page_start(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("Invalid parameter: NextToken") from None


def _page_token(start: int) -> str:
    return base64.urlsafe_b64encode(str(start).encode()).decode()
