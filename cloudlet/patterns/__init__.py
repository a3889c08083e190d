"""EventBridge event patterns: validation with AWS's messages, one matcher, many-rule index.

Pure: no I/O, no logging, no globals. Data in, data out.

    from cloudlet.patterns import EventPattern, InvalidEventPattern, PatternIndex, test_event_pattern

    p = EventPattern('{"source": ["aws.ec2"]}')   # validates; raises InvalidEventPattern
    p.matches(event_dict_or_json_text)            # -> bool (the brute-force reference matcher)

    idx = PatternIndex()
    idx.add("rule-a", pattern)                    # str, dict or EventPattern; same name replaces
    idx.remove("rule-a")
    idx.match(event)                              # -> set of names whose pattern matches

    test_event_pattern(event, pattern)            # AWS TestEventPattern (validates the event too)

Modules, one idea each:

* `values`: what a value is to a matcher (typed exact keys, numbers as order-preserving
  integer codes within ±5e9 at 6 decimals, wildcard syntax, IP addresses).
* `jsontext`: pattern JSON with repeated keys kept (validated; the last applies) and the
  JSON parser's messages.
* `compiler`: validation in AWS's words and compilation into `model` branches; a `Dialect`
  selects operators, nesting and the error type, so other pattern languages reuse it.
* `model`: immutable matchers and steps; each matcher's ``test`` is the reference semantics.
* `flatten`: an event into its leaf values by dotted path, with array trails for
  array-consistent matching.
* `pattern`: `EventPattern`, the reference matcher.
* `index`: `PatternIndex`, all patterns in one shared automaton walked once per event.
* `eventbridge`: `test_event_pattern` and event validation (TestEventPattern).
* `filter_policy`: SNS subscription filter policies (attribute and message-body scope).

Reuse by other services:

* SNS filter policies: ``FilterPolicy(policy_text, scope="MessageAttributes")`` (or
  ``"MessageBody"``) validates with SNS's rules and messages (`InvalidFilterPolicy`, code
  ``InvalidParameter``); ``policy.matches_attributes(message_attributes)`` takes SNS
  MessageAttributes (``{"name": {"DataType": ..., "StringValue": ...}}``) and
  ``policy.matches_body(message_text)`` a message body. Many subscriptions on one topic can
  share one index: validate each with `FilterPolicy` (which enforces SNS's limits), then
  ``index = PatternIndex(dialect=SNS_ATTRIBUTES)``; ``index.add(subscription_arn,
  policy.pattern)``; ``index.match(attributes_event(message_attributes))`` (body-scope
  policies: a second index with ``dialect=SNS_BODY``, matched against the parsed body).
* Lambda event-source-mapping and Pipes filter criteria use the EventBridge language itself:
  ``EventPattern(criteria["Pattern"])`` and ``.matches(record)``; records whose ``body`` or
  ``data`` is JSON are matched after the service decodes it (as Lambda does), with the
  pattern keyed the same way.
"""

from __future__ import annotations

from cloudlet.errors import InvalidEventPattern
from cloudlet.patterns.compiler import EVENTBRIDGE, Dialect, compile_pattern
from cloudlet.patterns.eventbridge import MAX_PATTERN_LENGTH, test_event_pattern, validate_event
from cloudlet.patterns.filter_policy import (
    SNS_ATTRIBUTES,
    SNS_BODY,
    FilterPolicy,
    InvalidFilterPolicy,
    attributes_event,
)
from cloudlet.patterns.flatten import flatten
from cloudlet.patterns.index import PatternIndex
from cloudlet.patterns.pattern import EventPattern

__all__ = [
    "EVENTBRIDGE",
    "MAX_PATTERN_LENGTH",
    "SNS_ATTRIBUTES",
    "SNS_BODY",
    "Dialect",
    "EventPattern",
    "FilterPolicy",
    "InvalidEventPattern",
    "InvalidFilterPolicy",
    "PatternIndex",
    "attributes_event",
    "compile_pattern",
    "flatten",
    "test_event_pattern",
    "validate_event",
]
