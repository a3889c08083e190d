"""Loading a definition for the service: the engine's parse plus the checks that depend on the type.

https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html (Express
workflows support neither ``.sync`` nor ``.waitForTaskToken`` integrations; the engine's
``check_express`` says so in AWS's words).
"""

from __future__ import annotations

import re
from typing import Any

from cloudlet.asl import StateMachine
from cloudlet.errors import InvalidDefinition
from cloudlet.workflows.errors import InvalidStateMachineDefinition
from cloudlet.workflows.records import EXPRESS

_PREFIX = "Invalid State Machine Definition: '"
_DIAGNOSTIC = re.compile(r"(?:^|, )(?=[A-Z][A-Z_]+: )")


def load_definition(text: str, machine_type: str) -> StateMachine:
    """Parse and validate ``text`` for a state machine of ``machine_type``."""
    try:
        machine = StateMachine.from_definition(text)
    except InvalidDefinition as exc:
        raise InvalidStateMachineDefinition(definition_detail(exc.message)) from None
    if machine_type == EXPRESS:
        try:
            machine.check_express()
        except InvalidDefinition as exc:
            raise InvalidStateMachineDefinition(definition_detail(exc.message)) from None
    return machine


def definition_detail(message: str) -> str:
    """The engine's message without AWS's ``Invalid State Machine Definition: '...'`` wrapper."""
    if message.startswith(_PREFIX) and message.endswith("'"):
        return message[len(_PREFIX) : -1]
    return message


def diagnostics(detail: str) -> list[dict[str, Any]]:
    """ValidateStateMachineDefinition's diagnostics for one InvalidDefinition detail text."""
    out: list[dict[str, Any]] = []
    for part in (p for p in _DIAGNOSTIC.split(detail) if p):
        code, _, message = part.partition(": ")
        # AWS splits "CODE: message at /Location" into its three fields.
        text, _, where = message.rpartition(" at ")
        entry: dict[str, Any] = {"severity": "ERROR", "code": code, "message": message.strip()}
        if text and where.startswith("/"):
            entry["message"] = text.strip()
            entry["location"] = where
        out.append(entry)
    return out
