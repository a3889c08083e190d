"""Parse and validate a States Language document into the immutable model.

https://states-language.net/spec.html ·
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html

:func:`parse_definition` collects every problem it finds and raises one
:class:`~cloudlet.errors.InvalidDefinition` whose message reads like AWS's::

    Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Foo
    at /States/Bar/Next'   (one line)

(several problems are joined with ``", "``). ``InvalidDefinition.path`` names the first one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from cloudlet.asl import choice as choice_rules
from cloudlet.asl.jsonata import compile_jsonata, is_jsonata_template
from cloudlet.asl.jsonpath import compile_path, compile_reference_path
from cloudlet.asl.model import (
    DEFAULT,
    Batcher,
    Catcher,
    ChoiceBranch,
    Graph,
    Integration,
    QueryLanguage,
    Reader,
    Retrier,
    State,
    StateMachineModel,
)
from cloudlet.asl.payload import compile_payload
from cloudlet.errors import InvalidDefinition

__all__ = ["parse_definition", "validation_errors"]

_PREFIX = "Invalid State Machine Definition: '"

_COMMON = {"Type", "Comment", "QueryLanguage"}
_FLOW = {"Next", "End"}
_IO = {"InputPath", "OutputPath"}
_RESULT = {"ResultSelector", "ResultPath"}
_ERRORS = {"Retry", "Catch"}

#: Every field each state type accepts, in either query language.
_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _FLOW | _IO | {"Parameters", "ResultPath", "Result", "Output", "Assign"},
    "Task": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _ERRORS
    | {
        "Resource",
        "Parameters",
        "Arguments",
        "Output",
        "Assign",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": _COMMON | _IO | {"Choices", "Default", "Output", "Assign"},
    "Wait": _COMMON
    | _FLOW
    | _IO
    | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Output", "Assign"},
    "Succeed": _COMMON | _IO | {"Output"},
    "Fail": _COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
    "Parallel": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _ERRORS
    | {"Branches", "Parameters", "Arguments", "Output", "Assign"},
    "Map": _COMMON
    | _FLOW
    | _IO
    | _RESULT
    | _ERRORS
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ItemReader",
        "ResultWriter",
        "ItemBatcher",
        "Label",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Output",
        "Assign",
    },
}

#: Fields only a JSONPath state may have.
_JSONPATH_ONLY = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
        "ItemsPath",
        "Iterator",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCountPath",
    }
)
#: Fields only a JSONata state may have.
_JSONATA_ONLY = frozenset({"Arguments", "Output", "Items"})

_TOP_FIELDS = {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}

_LAMBDA_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+(:[^:]+)?$")
_ACTIVITY_ARN = re.compile(r"^arn:[^:]+:states:[^:]*:[^:]*:activity:.+$")
_SERVICE_ARN = re.compile(r"^arn:[^:]+:states:::([A-Za-z0-9-]+):([A-Za-z0-9:.\-_]+)$")
_MAX_STATE_NAME = 80
#: A workflow variable name: a letter or ``_`` then letters, digits or ``_`` (Unicode letters too).
_VARIABLE_NAME = re.compile(r"[^\W\d]\w*")


class _Errors:
    """Collects validation problems in AWS's words."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, message: str, where: str, code: str = "SCHEMA_VALIDATION_FAILED") -> None:
        self.items.append((f"{code}: {message} at {where}", where))

    def add_raised(self, exc: InvalidDefinition, where: str) -> None:
        text = exc.message
        if text.startswith(_PREFIX) and text.endswith("'"):
            text = text[len(_PREFIX) : -1]
        self.items.append((text, exc.path or where))

    def guard(self, where: str, fn: Callable[[], Any]) -> Any:
        """Run a compile step; record its ``InvalidDefinition`` and return ``None`` instead."""
        try:
            return fn()
        except InvalidDefinition as exc:
            self.add_raised(exc, where)
            return None


def validation_errors(definition: str | dict[str, Any]) -> list[tuple[str, str]]:
    """Every problem with ``definition`` as ``(message, location)`` pairs; empty when valid."""
    try:
        parse_definition(definition)
    except InvalidDefinition as exc:
        return [(exc.message, exc.path or "/")]
    return []


def parse_definition(definition: str | bytes | dict[str, Any]) -> StateMachineModel:
    """Parse ``definition`` (JSON text or an already-loaded dict) and validate it fully."""
    if isinstance(definition, str | bytes):
        try:
            doc = json.loads(definition)
        except ValueError as exc:
            raise InvalidDefinition(
                f"{_PREFIX}INVALID_JSON_DESCRIPTION: {exc}'",
                path="/",
            ) from None
    else:
        doc = definition
    errors = _Errors()
    if not isinstance(doc, dict):
        errors.add("The state machine definition must be a JSON object", "/")
        _raise(errors)
    for key in doc:
        if key not in _TOP_FIELDS:
            errors.add(f"Field '{key}' is not supported", "/")
    language: QueryLanguage = "JSONPath"
    ql = doc.get("QueryLanguage", "JSONPath")
    if ql in ("JSONPath", "JSONata"):
        language = ql
    else:
        errors.add("Value must be one of [JSONPath, JSONata]", "/QueryLanguage")
    timeout = doc.get("TimeoutSeconds")
    if timeout is not None and not _is_positive_int(timeout):
        errors.add("The value of 'TimeoutSeconds' must be a positive integer", "/TimeoutSeconds")
    builder = _Builder(errors, language)
    graph = builder.graph(doc, "", top=True)
    if errors.items:
        _raise(errors)
    assert graph is not None
    return StateMachineModel(
        graph=graph,
        definition=doc,
        comment=doc.get("Comment"),
        timeout_seconds=timeout,
        version=doc.get("Version"),
        query_language=language,
        patterns=frozenset(builder.pattern_locations),
        pattern_locations=dict(builder.pattern_locations),
    )


def _expressions(value: Any) -> list[str]:
    """Every ``{% ... %}`` expression text inside a field value."""
    if isinstance(value, str):
        return [value] if is_jsonata_template(value) else []
    if isinstance(value, dict):
        return [e for v in value.values() for e in _expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in _expressions(v)]
    return []


def _raise(errors: _Errors) -> None:
    message = ", ".join(m for m, _ in errors.items)
    raise InvalidDefinition(f"{_PREFIX}{message}'", path=errors.items[0][1])


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_positive_int(v: Any) -> bool:
    return _is_int(v) and v > 0


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


class _Builder:
    """Walks the document once, compiling and validating as it goes."""

    def __init__(self, errors: _Errors, language: QueryLanguage) -> None:
        self.errors = errors
        self.language = language
        self.names: dict[str, str] = {}
        self.pattern_locations: dict[str, str] = {}

    # ------------------------------------------------------------------ graphs

    def graph(self, doc: Any, where: str, *, top: bool = False) -> Graph | None:
        err = self.errors
        if not isinstance(doc, dict):
            err.add("The value must be an object", where or "/")
            return None
        if not top:
            # a processor or branch has no QueryLanguage of its own: its states inherit the machine's
            allowed = {"StartAt", "States", "Comment", "ProcessorConfig"}
            for key in doc:
                if key not in allowed:
                    err.add(f"Field '{key}' is not supported", where)
        start_at = doc.get("StartAt")
        states_doc = doc.get("States")
        if start_at is None:
            err.add("The field 'StartAt' is required but was missing", where or "/")
        elif not isinstance(start_at, str):
            err.add("The value of 'StartAt' must be a string", f"{where}/StartAt")
        if states_doc is None:
            err.add("The field 'States' is required but was missing", where or "/")
            return None
        if not isinstance(states_doc, dict):
            err.add("The value of 'States' must be an object", f"{where}/States")
            return None
        if not states_doc:
            err.add("The field 'States' must contain at least one state", f"{where}/States")
        states: dict[str, State] = {}
        for name, body in states_doc.items():
            loc = f"{where}/States/{name}"
            if name in self.names:
                err.add(f"Duplicate State name: {name}", loc, "DUPLICATE_STATE_NAME")
            self.names[name] = loc
            if len(name) > _MAX_STATE_NAME:
                err.add(f"State name '{name}' is longer than {_MAX_STATE_NAME} characters", loc)
            state = self.state(name, body, loc)
            if state is not None:
                states[name] = state
        if isinstance(start_at, str) and start_at not in states_doc:
            # AWS says 'Next' for every transition field, StartAt included
            err.add(f"Missing 'Next' target: {start_at}", f"{where}/StartAt", "MISSING_TRANSITION_TARGET")
        self._check_transitions(states, states_doc, where)
        if states and not any(st.end or st.type in ("Succeed", "Fail") for st in states.values()):
            # no location; it also stands in for the unreachable-state walk
            err.items.append(("MISSING_END_STATE: Workflow has no terminal state at null", where or "/"))
        elif isinstance(start_at, str):
            self._check_reachable(start_at, states, where)
        return Graph(start_at if isinstance(start_at, str) else "", states, self.language)

    def _check_transitions(self, states: dict[str, State], states_doc: dict[str, Any], where: str) -> None:
        for name, st in states.items():
            loc = f"{where}/States/{name}"
            targets: list[tuple[str | None, str]] = [(st.next, f"{loc}/Next")]
            targets += [(st.default, f"{loc}/Default")]
            targets += [(c.next, f"{loc}/Choices[{i}]/Next") for i, c in enumerate(st.choices)]
            targets += [(c.next, f"{loc}/Catch[{i}]/Next") for i, c in enumerate(st.catch)]
            for target, tloc in targets:
                if target is not None and target not in states_doc:
                    self.errors.add(f"Missing 'Next' target: {target}", tloc, "MISSING_TRANSITION_TARGET")

    def _check_reachable(self, start: str, states: dict[str, State], where: str) -> None:
        seen = {start}
        todo = [start]
        while todo:
            st = states.get(todo.pop())
            if st is None:
                continue
            nexts = [st.next, st.default, *(c.next for c in st.choices), *(c.next for c in st.catch)]
            for n in nexts:
                if n is not None and n not in seen:
                    seen.add(n)
                    todo.append(n)
        for name in states:
            if name not in seen:
                self.errors.add(
                    f'State "{name}" is not reachable.', f"{where}/States/{name}", "MISSING_TRANSITION_TARGET"
                )

    # ------------------------------------------------------------------ states

    def state(self, name: str, body: Any, where: str) -> State | None:
        err = self.errors
        if not isinstance(body, dict):
            err.add("The state must be an object", where)
            return None
        stype = body.get("Type")
        if stype is None:
            err.add("The field 'Type' is required but was missing", where)
            return None
        if not isinstance(stype, str) or stype not in _FIELDS:
            err.add(f"The value of 'Type' is not a valid state type: {stype}", f"{where}/Type")
            return None
        ql = body.get("QueryLanguage", self.language)
        if ql not in ("JSONPath", "JSONata"):
            err.add("Value must be one of [JSONPath, JSONata]", f"{where}/QueryLanguage")
            ql = self.language
        elif ql == "JSONPath" and self.language == "JSONata":
            err.add(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine", where
            )
        language: QueryLanguage = ql
        allowed = _FIELDS[stype]
        for key in body:
            if key not in allowed:
                err.add(f"Field '{key}' is not supported", where)
            elif language == "JSONata" and key in _JSONPATH_ONLY:
                err.add(
                    f"The QueryLanguage is set to 'JSONata', but field '{key}' is only supported for the "
                    "'JSONPath' QueryLanguage",
                    where,
                )
            elif language == "JSONPath" and key in _JSONATA_ONLY:
                err.add(
                    f"The QueryLanguage is set to 'JSONPath', but field '{key}' is only supported for the "
                    "'JSONata' QueryLanguage",
                    where,
                )
        text = json.dumps(body)
        fields: dict[str, Any] = {
            "name": name,
            "type": stype,
            "where": where,
            "query_language": language,
            "comment": body.get("Comment"),
            "uses_context": "$$" in text or "$states" in text,
        }
        self._flow(stype, body, where, fields)
        self._io(stype, body, where, language, fields)
        build = getattr(self, "_" + stype.lower())
        build(body, where, language, fields)
        return State(**fields)

    def _flow(self, stype: str, body: dict[str, Any], where: str, fields: dict[str, Any]) -> None:
        if stype in ("Choice", "Succeed", "Fail"):
            return
        nxt, end = body.get("Next"), body.get("End")
        if nxt is not None and end is not None:
            self.errors.add("The fields 'Next' and 'End' cannot both be set", where)
        elif nxt is None and end is not True:
            if end is not None and end is not True:
                self.errors.add("The value of 'End' must be true", f"{where}/End")
            else:
                self.errors.add("The field 'Next' or 'End' is required but was missing", where)
        if nxt is not None and not isinstance(nxt, str):
            self.errors.add("The value of 'Next' must be a string", f"{where}/Next")
            nxt = None
        fields["next"] = nxt
        fields["end"] = end is True

    # ------------------------------------------------------------------ input / output

    def _path(self, body: dict[str, Any], key: str, where: str, *, nullable: bool = True) -> Any:
        if key not in body:
            return DEFAULT
        text = body[key]
        if text is None:
            if not nullable:
                self.errors.add(f"The value of '{key}' cannot be null", f"{where}/{key}")
            return None
        if not isinstance(text, str):
            self.errors.add(f"The value of '{key}' must be a string", f"{where}/{key}")
            return DEFAULT
        if text == "$":
            return DEFAULT
        return self.errors.guard(f"{where}/{key}", lambda: compile_path(text, where=f"{where}/{key}"))

    def _io(
        self, stype: str, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        g = self.errors.guard
        if language == "JSONPath":
            if stype != "Fail":
                fields["input_path"] = self._path(body, "InputPath", where)
                fields["output_path"] = self._path(body, "OutputPath", where)
            if "Parameters" in body and stype != "Map":
                fields["parameters"] = g(
                    f"{where}/Parameters",
                    lambda: compile_payload(body["Parameters"], where=f"{where}/Parameters"),
                )
            if "ResultSelector" in body:
                fields["result_selector"] = g(
                    f"{where}/ResultSelector",
                    lambda: compile_payload(body["ResultSelector"], where=f"{where}/ResultSelector"),
                )
            if "ResultPath" in body:
                fields["result_path"] = self._result_path(body["ResultPath"], f"{where}/ResultPath")
            if "Assign" in body:
                fields["assign"] = self._assign_jsonpath(body["Assign"], f"{where}/Assign")
        else:
            if "Arguments" in body:
                fields["arguments"] = self._jsonata(body["Arguments"], f"{where}/Arguments", "Arguments")
            if "Output" in body:
                fields["output"] = self._jsonata(body["Output"], f"{where}/Output", "Output")
            if "Assign" in body:
                fields["assign"] = self._assign_jsonata(body["Assign"], f"{where}/Assign")

    def _result_path(self, text: Any, where: str) -> Any:
        if text is None:
            return None
        if not isinstance(text, str):
            self.errors.add("The value of 'ResultPath' must be a string", where)
            return DEFAULT
        if text == "$":
            return DEFAULT
        return self.errors.guard(where, lambda: compile_reference_path(text, where=where))

    def _assign_jsonpath(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            self.errors.add("The value of 'Assign' must be an object", where)
            return None
        self._check_variable_names(value, where)
        return self.errors.guard(where, lambda: compile_payload(value, where=where))

    def _assign_jsonata(self, value: Any, where: str, field: str = "Assign") -> Any:
        if not isinstance(value, dict):
            self.errors.add("The value of 'Assign' must be an object", where)
            return None
        self._check_variable_names(value, where)
        return self._jsonata(value, where, field)

    def _check_variable_names(self, value: dict[str, Any], where: str) -> None:
        for key in value:
            name = key[:-2] if key.endswith(".$") else key
            if not _VARIABLE_NAME.fullmatch(name) or len(name) > 80:
                self.errors.add(f"The variable name '{name}' is not valid", f"{where}/{key}")

    def _jsonata(self, value: Any, where: str, field: str) -> Any:
        if not field.startswith("Catch[") and any("$states.errorOutput" in e for e in _expressions(value)):
            # only a catcher's Output and Assign see the error output
            self.errors.add(
                "The JSONata expression references '$states.errorOutput', which is only available in a "
                "Catch's 'Output' and 'Assign'",
                where,
                "SCHEMA_VALIDATION_FAILED",
            )
            return None
        return self.errors.guard(where, lambda: compile_jsonata(value, where=where, field=field))

    # ------------------------------------------------------------------ retry / catch

    def _retry(self, value: Any, where: str) -> tuple[Retrier, ...]:
        err = self.errors
        if not isinstance(value, list):
            err.add("The value of 'Retry' must be an array", where)
            return ()
        out: list[Retrier] = []
        for i, r in enumerate(value):
            loc = f"{where}[{i}]"
            if not isinstance(r, dict):
                err.add("A retrier must be an object", loc)
                continue
            for key in r:
                if key not in (
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ):
                    err.add(f"Field '{key}' is not supported", loc)
            names = self._error_equals(r, loc, last=i == len(value) - 1)
            interval = r.get("IntervalSeconds", 1)
            if not _is_positive_int(interval) or interval > 99999999:
                err.add("The value of 'IntervalSeconds' must be a positive integer", f"{loc}/IntervalSeconds")
                interval = 1
            attempts = r.get("MaxAttempts", 3)
            if not _is_int(attempts) or attempts < 0 or attempts > 99999999:
                err.add("The value of 'MaxAttempts' must be a non-negative integer", f"{loc}/MaxAttempts")
                attempts = 3
            rate = r.get("BackoffRate", 2.0)
            if not _is_number(rate) or rate < 1.0:
                err.add("The value of 'BackoffRate' must be a number >= 1.0", f"{loc}/BackoffRate")
                rate = 2.0
            max_delay = r.get("MaxDelaySeconds")
            if max_delay is not None and (not _is_positive_int(max_delay) or max_delay > 31622400):
                err.add("The value of 'MaxDelaySeconds' must be a positive integer", f"{loc}/MaxDelaySeconds")
                max_delay = None
            jitter = r.get("JitterStrategy", "NONE")
            if jitter not in ("NONE", "FULL"):
                err.add("Value must be one of [FULL, NONE]", f"{loc}/JitterStrategy")
                jitter = "NONE"
            out.append(Retrier(names, float(interval), attempts, float(rate), max_delay, jitter))
        return tuple(out)

    def _error_equals(self, rule: dict[str, Any], loc: str, *, last: bool) -> tuple[str, ...]:
        names = rule.get("ErrorEquals")
        if names is None:
            self.errors.add("The field 'ErrorEquals' is required but was missing", loc)
            return ()
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            self.errors.add(
                "The value of 'ErrorEquals' must be a non-empty array of strings", f"{loc}/ErrorEquals"
            )
            return ()
        if "States.ALL" in names:
            if len(names) != 1:
                self.errors.add("States.ALL must appear alone in an ErrorEquals array", f"{loc}/ErrorEquals")
            elif not last:
                self.errors.add(
                    "A retrier or catcher with States.ALL must be the last one", f"{loc}/ErrorEquals"
                )
        return tuple(names)

    def _catch(self, value: Any, where: str, language: QueryLanguage) -> tuple[Catcher, ...]:
        err = self.errors
        if not isinstance(value, list):
            err.add("The value of 'Catch' must be an array", where)
            return ()
        out: list[Catcher] = []
        for i, c in enumerate(value):
            loc = f"{where}[{i}]"
            if not isinstance(c, dict):
                err.add("A catcher must be an object", loc)
                continue
            allowed = {"ErrorEquals", "Next", "Comment", "Assign"}
            allowed |= {"ResultPath"} if language == "JSONPath" else {"Output"}
            for key in c:
                if key not in allowed:
                    err.add(f"Field '{key}' is not supported", loc)
            names = self._error_equals(c, loc, last=i == len(value) - 1)
            nxt = c.get("Next")
            if not isinstance(nxt, str):
                err.add("The field 'Next' is required but was missing", loc)
                continue
            result_path: Any = DEFAULT
            output: Any = None
            assign: Any = None
            if language == "JSONPath":
                if "ResultPath" in c:
                    result_path = self._result_path(c["ResultPath"], f"{loc}/ResultPath")
                if "Assign" in c:
                    assign = self._assign_jsonpath(c["Assign"], f"{loc}/Assign")
            else:
                # a catcher's fields are named under its index, as AWS's causes do: "Catch[1]/Output"
                if "Output" in c:
                    output = self._jsonata(c["Output"], f"{loc}/Output", f"Catch[{i}]/Output")
                if "Assign" in c:
                    assign = self._assign_jsonata(c["Assign"], f"{loc}/Assign", f"Catch[{i}]/Assign")
            out.append(Catcher(names, nxt, result_path, output, assign))
        return tuple(out)

    def _errors_fields(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        if "Retry" in body:
            fields["retry"] = self._retry(body["Retry"], f"{where}/Retry")
        if "Catch" in body:
            fields["catch"] = self._catch(body["Catch"], f"{where}/Catch", language)

    # ------------------------------------------------------------------ numbers in either language

    def _number_field(
        self,
        body: dict[str, Any],
        key: str,
        where: str,
        language: QueryLanguage,
        check: Callable[[Any], bool],
        requirement: str,
    ) -> Any:
        """A field that is a literal number, or (JSONata) a ``{% %}`` template."""
        value = body[key]
        loc = f"{where}/{key}"
        if language == "JSONata" and is_jsonata_template(value):
            return self._jsonata(value, loc, key)
        if not check(value):
            self.errors.add(f"The value of '{key}' must be {requirement}", loc)
            return None
        return value

    # ------------------------------------------------------------------ state types

    def _pass(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        if language == "JSONPath" and "Result" in body:
            fields["result"] = body["Result"]

    def _succeed(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        return

    def _fail(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        from cloudlet.asl.payload import compile_value_expression

        err = self.errors
        for lit, path in (("Error", "ErrorPath"), ("Cause", "CausePath")):
            if lit in body and path in body:
                err.add(f"The fields '{lit}' and '{path}' cannot both be set", where)
            attr = lit.lower()
            if lit in body:
                value = body[lit]
                if language == "JSONata" and is_jsonata_template(value):
                    fields[attr] = self._jsonata(value, f"{where}/{lit}", lit)
                elif not isinstance(value, str):
                    err.add(f"The value of '{lit}' must be a string", f"{where}/{lit}")
                else:
                    fields[attr] = value
            if path in body and language == "JSONPath":
                text = body[path]
                loc = f"{where}/{path}"
                if not isinstance(text, str):
                    err.add(f"The value of '{path}' must be a string", loc)
                else:
                    fields[attr + "_path"] = err.guard(
                        loc,
                        lambda text=text, loc=loc, path=path: compile_value_expression(  # type: ignore[misc]
                            text, where=loc, field=path
                        ),
                    )

    def _wait(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        err = self.errors
        kinds = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if k in body]
        if len(kinds) != 1:
            err.add(
                "A Wait state must contain exactly one of "
                "'Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'",
                where,
            )
            return
        kind = kinds[0]
        value = body[kind]
        loc = f"{where}/{kind}"
        fields["wait_kind"] = kind
        if language == "JSONata" and is_jsonata_template(value):
            fields["wait_value"] = self._jsonata(value, loc, kind)
            return
        if kind == "Seconds":
            if not _is_int(value) or value < 0 or value > 99999999:
                err.add("The value of 'Seconds' must be a non-negative integer", loc)
            fields["wait_value"] = value
        elif kind == "Timestamp":
            if choice_rules.parse_timestamp(value) is None:
                err.add("The value of 'Timestamp' must be an ISO-8601 extended offset date-time", loc)
            fields["wait_value"] = value
        else:
            if not isinstance(value, str):
                err.add(f"The value of '{kind}' must be a string", loc)
                return
            fields["wait_value"] = err.guard(loc, lambda: compile_path(value, where=loc))

    def _choice(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        err = self.errors
        choices = body.get("Choices")
        if not isinstance(choices, list) or not choices:
            err.add("The field 'Choices' must be a non-empty array", f"{where}/Choices" if choices else where)
            return
        default = body.get("Default")
        if default is not None and not isinstance(default, str):
            err.add("The value of 'Default' must be a string", f"{where}/Default")
            default = None
        fields["default"] = default
        out: list[ChoiceBranch] = []
        for i, rule in enumerate(choices):
            loc = f"{where}/Choices[{i}]"
            if not isinstance(rule, dict):
                err.add("A choice rule must be an object", loc)
                continue
            nxt = rule.get("Next")
            if not isinstance(nxt, str):
                err.add("The field 'Next' is required but was missing", loc)
                continue
            assign: Any = None
            output: Any = None
            if language == "JSONata":
                for key in rule:
                    if key not in ("Condition", "Next", "Comment", "Assign", "Output"):
                        err.add(f"Field '{key}' is not supported", loc)
                cond = rule.get("Condition")
                if cond is None:
                    err.add("The field 'Condition' is required but was missing", loc)
                    continue
                if isinstance(cond, bool):
                    compiled: Any = choice_rules.Condition(cond, json.dumps(cond), f"Choices[{i}]/Condition")
                elif not is_jsonata_template(cond):
                    err.add(
                        "The value of 'Condition' must be a JSONata expression or a boolean",
                        f"{loc}/Condition",
                    )
                    continue
                else:
                    # AWS names a rule's fields by their place: "Choices[1]/Condition"
                    template = self._jsonata(cond, f"{loc}/Condition", f"Choices[{i}]/Condition")
                    compiled = choice_rules.Condition(template, cond[2:-2].strip(), f"Choices[{i}]/Condition")
                if "Output" in rule:
                    output = self._jsonata(rule["Output"], f"{loc}/Output", f"Choices[{i}]/Output")
                if "Assign" in rule:
                    assign = self._assign_jsonata(rule["Assign"], f"{loc}/Assign", f"Choices[{i}]/Assign")
            else:
                if "Condition" in rule or "Output" in rule:
                    key = "Condition" if "Condition" in rule else "Output"
                    err.add(
                        f"The QueryLanguage is set to 'JSONPath', but field '{key}' is only supported "
                        "for the 'JSONata' QueryLanguage",
                        loc,
                    )
                    continue
                compiled = err.guard(
                    loc,
                    lambda rule=rule, loc=loc: choice_rules.compile_rule(rule, where=loc),  # type: ignore[misc]
                )
                if compiled is None:
                    continue
                if "Assign" in rule:
                    assign = self._assign_jsonpath(rule["Assign"], f"{loc}/Assign")
            out.append(ChoiceBranch(compiled, nxt, assign, output))
        fields["choices"] = tuple(out)

    def _task(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        err = self.errors
        self._errors_fields(body, where, language, fields)
        resource = body.get("Resource")
        if resource is None:
            err.add("The field 'Resource' is required but was missing", where)
        elif not isinstance(resource, str) or not resource.startswith("arn:"):
            err.add("Value is not a valid resource ARN", f"{where}/Resource")
        else:
            fields["integration"] = self._integration(resource, f"{where}/Resource")
        for key, path_key in (
            ("TimeoutSeconds", "TimeoutSecondsPath"),
            ("HeartbeatSeconds", "HeartbeatSecondsPath"),
        ):
            attr = "timeout_seconds" if key == "TimeoutSeconds" else "heartbeat_seconds"
            if key in body and path_key in body:
                err.add(f"The fields '{key}' and '{path_key}' cannot both be set", where)
            if key in body:
                fields[attr] = self._number_field(
                    body,
                    key,
                    where,
                    language,
                    lambda v: _is_positive_int(v) and v <= 99999999,
                    "a positive integer",
                )
            elif path_key in body and language == "JSONPath":
                text = body[path_key]
                loc = f"{where}/{path_key}"
                if isinstance(text, str):
                    fields[attr] = err.guard(
                        loc,
                        lambda text=text, loc=loc: compile_path(text, where=loc),  # type: ignore[misc]
                    )
                else:
                    err.add(f"The value of '{path_key}' must be a string", loc)
        t: Any = fields.get("timeout_seconds")
        h: Any = fields.get("heartbeat_seconds")
        if _is_int(t) and _is_int(h) and h >= t:
            err.add(
                "The value of 'HeartbeatSeconds' must be less than 'TimeoutSeconds'",
                f"{where}/HeartbeatSeconds",
            )
        if "Credentials" in body:
            creds = body["Credentials"]
            loc = f"{where}/Credentials"
            if not isinstance(creds, dict):
                err.add("The value of 'Credentials' must be an object", loc)
            else:
                role_keys = [k for k in creds if k in ("RoleArn", "RoleArn.$")]
                if not role_keys:
                    err.add("The field 'RoleArn' is required but was missing", loc)
                for key in creds:
                    if key not in ("RoleArn", "RoleArn.$"):
                        err.add(f"Field '{key}' is not supported", loc)
                if role_keys:
                    if language == "JSONPath":
                        fields["credentials"] = err.guard(loc, lambda: compile_payload(creds, where=loc))
                    else:
                        fields["credentials"] = self._jsonata(creds, loc, "Credentials")

    def _integration(self, resource: str, where: str) -> Integration:
        if _LAMBDA_ARN.match(resource):
            return Integration("lambda", "request_response", resource, "lambda", "invoke")
        if _ACTIVITY_ARN.match(resource):
            self.pattern_locations.setdefault("activity", where)
            return Integration("activity", "request_response", resource)
        m = _SERVICE_ARN.match(resource)
        if m is None:
            return Integration("service", "request_response", resource)
        service, action = m.group(1), m.group(2)
        pattern: Any = "request_response"
        for suffix, pat in (
            (".waitForTaskToken", "wait_for_task_token"),
            (".sync:2", "sync2"),
            (".sync", "sync"),
        ):
            if action.endswith(suffix):
                action = action[: -len(suffix)]
                pattern = pat
                break
        base = resource[: len(resource) - (len(m.group(2)) - len(action))]
        if pattern != "request_response":
            key = "sync" if pattern in ("sync", "sync2") else pattern
            self.pattern_locations.setdefault(key, where)
        if service == "lambda" and action == "invoke":
            return Integration("lambda_invoke", pattern, base, service, action)
        return Integration("service", pattern, base, service, action)

    def _parallel(
        self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]
    ) -> None:
        err = self.errors
        self._errors_fields(body, where, language, fields)
        branches = body.get("Branches")
        if not isinstance(branches, list) or not branches:
            err.add("The field 'Branches' must be a non-empty array", where)
            return
        out = []
        for i, b in enumerate(branches):
            g = self.graph(b, f"{where}/Branches[{i}]")
            if g is not None:
                out.append(g)
        fields["branches"] = tuple(out)

    def _map(self, body: dict[str, Any], where: str, language: QueryLanguage, fields: dict[str, Any]) -> None:
        err = self.errors
        g = err.guard
        self._errors_fields(body, where, language, fields)
        if "ItemProcessor" in body and "Iterator" in body:
            err.add("The fields 'ItemProcessor' and 'Iterator' cannot both be set", where)
        key = "ItemProcessor" if "ItemProcessor" in body else "Iterator"
        proc = body.get(key)
        if proc is None:
            err.add("The field 'ItemProcessor' is required but was missing", where)
        else:
            if isinstance(proc, dict):
                config = proc.get("ProcessorConfig") or {}
                if not isinstance(config, dict):
                    err.add(
                        "The value of 'ProcessorConfig' must be an object", f"{where}/{key}/ProcessorConfig"
                    )
                    config = {}
                mode = config.get("Mode", "INLINE")
                if mode not in ("INLINE", "DISTRIBUTED"):
                    err.add(
                        "Value must be one of [INLINE, DISTRIBUTED]", f"{where}/{key}/ProcessorConfig/Mode"
                    )
                fields["distributed"] = mode == "DISTRIBUTED"
                exec_type = config.get("ExecutionType")
                if exec_type is not None and exec_type not in ("STANDARD", "EXPRESS"):
                    err.add(
                        "Value must be one of [STANDARD, EXPRESS]",
                        f"{where}/{key}/ProcessorConfig/ExecutionType",
                    )
            fields["processor"] = self.graph(proc, f"{where}/{key}")
        if "ItemSelector" in body and "Parameters" in body:
            err.add("The fields 'ItemSelector' and 'Parameters' cannot both be set", where)
        if language == "JSONPath":
            fields["items_path"] = self._path(body, "ItemsPath", where, nullable=False)
            sel_key = "ItemSelector" if "ItemSelector" in body else "Parameters"
            if sel_key in body:
                loc = f"{where}/{sel_key}"
                fields["item_selector"] = g(loc, lambda: compile_payload(body[sel_key], where=loc))
        else:
            if "Items" in body:
                fields["items"] = self._jsonata(body["Items"], f"{where}/Items", "Items")
            if "ItemSelector" in body:
                fields["item_selector"] = self._jsonata(
                    body["ItemSelector"], f"{where}/ItemSelector", "ItemSelector"
                )
        specs: tuple[tuple[str, str, Callable[[Any], bool], str], ...] = (
            ("MaxConcurrency", "max_concurrency", lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
            (
                "ToleratedFailureCount",
                "tolerated_failure_count",
                lambda v: _is_int(v) and v >= 0,
                "a non-negative integer",
            ),
            (
                "ToleratedFailurePercentage",
                "tolerated_failure_percentage",
                lambda v: _is_number(v) and 0 <= v <= 100,
                "a number between 0 and 100",
            ),
        )
        for fkey, attr, check, requirement in specs:
            pkey = fkey + "Path"
            if fkey in body and pkey in body:
                err.add(f"The fields '{fkey}' and '{pkey}' cannot both be set", where)
            if fkey in body:
                fields[attr] = self._number_field(body, fkey, where, language, check, requirement)
            elif pkey in body and language == "JSONPath":
                loc = f"{where}/{pkey}"
                text = body[pkey]
                if isinstance(text, str):
                    fields[attr] = g(
                        loc,
                        lambda text=text, loc=loc: compile_path(text, where=loc),  # type: ignore[misc]
                    )
                else:
                    err.add(f"The value of '{pkey}' must be a string", loc)
        if fields.get("max_concurrency") is None:
            fields["max_concurrency"] = 0
        label = body.get("Label")
        if label is not None:
            if not isinstance(label, str) or len(label) > 40:
                err.add("The value of 'Label' must be a string of at most 40 characters", f"{where}/Label")
            fields["label"] = label
        for src, attr in (
            ("ItemReader", "item_reader"),
            ("ResultWriter", "result_writer"),
            ("ItemBatcher", "item_batcher"),
        ):
            if src in body:
                fields[attr] = body[src]
                if not fields.get("distributed"):
                    err.add(f"The field '{src}' is only supported in DISTRIBUTED mode", f"{where}/{src}")
        if "ItemBatcher" in body:
            fields["item_batcher"] = self._batcher(body["ItemBatcher"], f"{where}/ItemBatcher", language)
        if "ItemReader" in body:
            fields["item_reader"] = self._reader(body["ItemReader"], f"{where}/ItemReader", language)
        # writing results to Amazon S3 (manifest and result files) is not implemented
        fields["unsupported"] = tuple(k for k in ("ResultWriter",) if k in body)

    def _reader(self, doc: Any, where: str, language: QueryLanguage) -> Reader | None:
        err = self.errors
        if not isinstance(doc, dict):
            err.add("The value of 'ItemReader' must be an object", where)
            return None
        args_key = "Parameters" if language == "JSONPath" else "Arguments"
        for key in doc:
            if key not in ("Resource", "ReaderConfig", args_key):
                err.add(f"Field '{key}' is not supported", where)
        resource = doc.get("Resource")
        if not isinstance(resource, str) or not resource.startswith("arn:"):
            err.add("The field 'Resource' is required but was missing", where)
            return None
        parameters: Any = None
        if args_key in doc:
            loc = f"{where}/{args_key}"
            if language == "JSONPath":
                parameters = err.guard(loc, lambda: compile_payload(doc[args_key], where=loc))
            else:
                parameters = self._jsonata(doc[args_key], loc, f"ItemReader/{args_key}")
        config = doc.get("ReaderConfig") or {}
        if not isinstance(config, dict):
            err.add("The value of 'ReaderConfig' must be an object", f"{where}/ReaderConfig")
            config = {}
        input_type = config.get("InputType")
        if input_type is not None and input_type not in ("JSON", "JSONL", "CSV", "MANIFEST"):
            err.add("Value must be one of [CSV, JSON, JSONL, MANIFEST]", f"{where}/ReaderConfig/InputType")
        if input_type is None and not resource.endswith(":listObjectsV2"):
            err.add("The field 'InputType' is required but was missing", f"{where}/ReaderConfig")
        header_location = config.get("CSVHeaderLocation", "FIRST_ROW")
        headers = config.get("CSVHeaders") or []
        if header_location == "GIVEN" and not headers:
            err.add("The field 'CSVHeaders' is required but was missing", f"{where}/ReaderConfig")
        delimiters = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
        delimiter = delimiters.get(config.get("CSVDelimiter", "COMMA"), ",")
        max_items: Any = None
        if "MaxItems" in config:
            max_items = self._number_field(
                config, "MaxItems", f"{where}/ReaderConfig", language, _is_positive_int, "a positive integer"
            )
        elif "MaxItemsPath" in config and language == "JSONPath":
            loc = f"{where}/ReaderConfig/MaxItemsPath"
            max_items = err.guard(loc, lambda: compile_path(config["MaxItemsPath"], where=loc))
        return Reader(
            resource, parameters, input_type, header_location, tuple(map(str, headers)), delimiter, max_items
        )

    def _batcher(self, doc: Any, where: str, language: QueryLanguage) -> Batcher | None:
        err = self.errors
        if not isinstance(doc, dict):
            err.add("The value of 'ItemBatcher' must be an object", where)
            return None
        allowed = {"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}
        if language == "JSONPath":
            allowed |= {"MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"}
        for key in doc:
            if key not in allowed:
                err.add(f"Field '{key}' is not supported", where)
        limits: dict[str, Any] = {}
        for key in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
            if key in doc:
                limits[key] = self._number_field(
                    doc, key, where, language, lambda v: _is_positive_int(v), "a positive integer"
                )
            elif key + "Path" in doc:
                text = doc[key + "Path"]
                loc = f"{where}/{key}Path"
                if isinstance(text, str):
                    limits[key] = err.guard(loc, lambda text=text, loc=loc: compile_path(text, where=loc))  # type: ignore[misc]
                else:
                    err.add(f"The value of '{key}Path' must be a string", loc)
        if not limits:
            err.add(
                "The field 'MaxItemsPerBatch' or 'MaxInputBytesPerBatch' is required but was missing", where
            )
        batch_input: Any = None
        if "BatchInput" in doc:
            loc = f"{where}/BatchInput"
            if language == "JSONPath":
                batch_input = err.guard(loc, lambda: compile_payload(doc["BatchInput"], where=loc))
            else:
                batch_input = self._jsonata(doc["BatchInput"], loc, "ItemBatcher/BatchInput")
        return Batcher(limits.get("MaxItemsPerBatch"), limits.get("MaxInputBytesPerBatch"), batch_input)
