"""Settings of the HTTP API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cloudlet.arns import DEFAULT_ACCOUNT, DEFAULT_REGION

#: The endpoint boto3 and the AWS CLI are pointed at, as LocalStack users expect it.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
#: Path prefix under which API Gateway routes (SAM Api / HttpApi events) are served.
GATEWAY_PREFIX = "/_api"


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Where the API listens and whether it checks signatures.

    ``access_keys`` maps access key id -> secret access key; when empty (the default) any
    request is accepted, signed or not. ``port`` 0 picks a free port.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    access_keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
