"""Amazon Resource Names: build and parse them the way AWS writes them.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudlet.errors import ValidationError

#: Account and region used when an application does not name its own.
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed ARN: ``arn:partition:service:region:account:resource``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """The part of ``resource`` before the first ``:`` or ``/`` ("function", "stateMachine", ...)."""
        for i, ch in enumerate(self.resource):
            if ch in ":/":
                return self.resource[:i]
        return ""

    @property
    def resource_name(self) -> str:
        """The part of ``resource`` after its type (the last segment for SQS/SNS ARNs)."""
        rtype = self.resource_type
        return self.resource[len(rtype) + 1 :] if rtype else self.resource


def parse_arn(text: str) -> Arn:
    """Parse ``text`` as an ARN or raise ``ValidationError``."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2]:
        raise ValidationError(f"Invalid Arn: '{text}'")
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def build_arn(
    service: str,
    resource: str,
    *,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    partition: str = "aws",
) -> str:
    """Build an ARN string, for example ``build_arn("sqs", "orders")``."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
