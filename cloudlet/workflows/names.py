"""Names and ARNs of state machines and executions, validated the way Step Functions does.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html#StepFunctions-CreateStateMachine-request-name
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from cloudlet.workflows.errors import InvalidArn, InvalidName

# Whitespace, brackets, wildcards, special characters and control characters are refused.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def check_name(name: str, *, max_length: int = 80) -> str:
    """``name`` if it is a valid state machine or execution name, else ``InvalidName``."""
    if not isinstance(name, str) or not 1 <= len(name) <= max_length or _BAD_NAME.search(name):
        raise InvalidName(str(name))
    return name


@dataclass(frozen=True, slots=True)
class StatesArn:
    """A parsed ``arn:PARTITION:states:REGION:ACCOUNT:TYPE:PARTS...`` ARN."""

    partition: str
    region: str
    account: str
    resource_type: str  # "stateMachine", "execution", "express", "activity", ...
    parts: tuple[str, ...]

    @property
    def machine_name(self) -> str:
        return self.parts[0]

    def machine_arn(self) -> str:
        """The ARN of the state machine this ARN belongs to."""
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{self.parts[0]}"


def parse_states_arn(arn: str, *, expect: tuple[str, ...]) -> StatesArn:
    """Parse a Step Functions ARN whose resource type is one of ``expect``, or ``InvalidArn``."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise InvalidArn(f"Invalid ARN prefix: {arn}")
    return _parse(arn, expect)


@functools.lru_cache(maxsize=4096)  # every API call parses its ARN, mostly the same few machines'
def _parse(arn: str, expect: tuple[str, ...]) -> StatesArn:
    fields = arn.split(":")
    if len(fields) < 7 or fields[2] != "states" or not all(fields[6:]):
        raise InvalidArn(f"Invalid ARN format: {arn}")
    resource_type = fields[5]
    if resource_type not in expect:
        raise InvalidArn(f"Resource type not valid in this context: {resource_type}")
    return StatesArn(fields[1], fields[3], fields[4], resource_type, tuple(fields[6:]))


def machine_arn(name: str, *, region: str, account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"


def execution_arn(machine: str, name: str, *, express: bool) -> str:
    """The ARN of execution ``name`` of state machine ARN ``machine``."""
    parsed = parse_states_arn(machine, expect=("stateMachine",))
    kind = "express" if express else "execution"
    return (
        f"arn:{parsed.partition}:states:{parsed.region}:{parsed.account}:{kind}:{parsed.machine_name}:{name}"
    )
