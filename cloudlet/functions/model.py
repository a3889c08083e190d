"""What a function is: names and ARNs, limits, validation, and the spec an environment runs.

https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudlet.arns import parse_arn
from cloudlet.errors import ValidationError
from cloudlet.functions.errors import InvalidParameterValue

LATEST = "$LATEST"
#: Invocation payload quotas: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 256 * 1024
RESPONSE_PAYLOAD_LIMIT = 6 * 1024 * 1024
DEFAULT_MEMORY = 128
DEFAULT_TIMEOUT = 3
#: Lambda keeps at least this much account concurrency unreserved.
MIN_UNRESERVED_CONCURRENCY = 100
DEFAULT_MAX_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE = 21600
#: The Lambda init phase's own time limit.
INIT_TIMEOUT = 10.0

RUNTIMES = {
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "java11",
    "java17",
    "java21",
    "dotnet8",
    "ruby3.2",
    "ruby3.3",
    "provided.al2",
    "provided.al2023",
}

#: Environment variables Lambda sets itself and refuses in Environment.Variables.
RESERVED_VARIABLES = (
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
)

_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_QUALIFIER = re.compile(r"^(\$LATEST|[a-zA-Z0-9-_]{1,128})$")
_ALIAS = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$")


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One function version as an execution environment needs it."""

    name: str
    version: str
    revision: str
    arn: str
    handler: str
    runtime: str
    code_dir: str
    layers: tuple[str, ...]
    memory_mb: int
    timeout: float
    variables: tuple[tuple[str, str], ...]
    snapshot: bool
    region: str
    endpoint_url: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        """Environments are shared only by invocations of the same revision of a version."""
        return (self.name, self.version, self.revision)

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


def lambda_environment(spec: FunctionSpec, log_stream: str, runtime_dir: str) -> dict[str, str]:
    """The environment variables of an execution environment, as Lambda defines them."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if spec.snapshot else "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "LAMBDA_TASK_ROOT": spec.code_dir,
        "LAMBDA_RUNTIME_DIR": runtime_dir,
        # Dummy credentials: boto3 inside a function signs requests that cloudlet accepts.
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
    }
    if spec.endpoint_url:
        env["AWS_ENDPOINT_URL"] = spec.endpoint_url
        # Operations with a host prefix (states:StartSyncExecution -> sync-HOST) must reach the endpoint.
        env["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
    env.update(dict(spec.variables))
    return env


def log_stream_name(version: str, env_id: str, now: float) -> str:
    """``2026/11/26/[$LATEST]<32 hex>``, Lambda's log stream naming."""
    day = datetime.fromtimestamp(now, UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{env_id}"


def lambda_timestamp(now: float) -> str:
    """Lambda's ``LastModified`` format: ``2026-11-26T01:02:03.456+0000``."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def iso_millis(now: float) -> str:
    """``2026-11-26T01:02:03.456Z`` (destination records, log lines)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- names -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A function named by a request: name plus optional qualifier (version or alias)."""

    name: str
    qualifier: str | None


def parse_function_name(function_name: str, qualifier: str | None = None) -> FunctionRef:
    """Accept a name, ``name:qualifier``, a partial ARN ``123456789012:function:name`` or a full ARN."""
    text = function_name
    if not isinstance(text, str) or not text:
        raise ValidationError(
            _constraint("functionName", text, "Member must have length greater than or equal to 1")
        )
    name: str
    embedded: str | None = None
    if text.startswith("arn:"):
        arn = parse_arn(text)
        parts = arn.resource.split(":")
        if arn.service != "lambda" or parts[0] != "function" or len(parts) not in (2, 3):
            raise ValidationError(
                _constraint(
                    "functionName",
                    text,
                    "Member must satisfy regular expression pattern: "
                    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
                    r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?",
                )
            )
        name = parts[1]
        embedded = parts[2] if len(parts) == 3 else None
    else:
        parts = text.split(":")
        if len(parts) == 1:
            name = parts[0]
        elif len(parts) == 2:
            name, embedded = parts
        elif len(parts) in (3, 4) and parts[1] == "function":
            name = parts[2]
            embedded = parts[3] if len(parts) == 4 else None
        else:
            raise ValidationError(
                _constraint("functionName", text, "Member must satisfy regular expression pattern")
            )
    if not _NAME.match(name):
        raise ValidationError(
            _constraint(
                "functionName", text, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"
            )
        )
    if embedded is not None and qualifier is not None and embedded != qualifier:
        raise InvalidParameterValue(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    qual = qualifier if qualifier is not None else embedded
    if qual is not None and not _QUALIFIER.match(qual):
        raise ValidationError(
            _constraint(
                "qualifier", qual, r"Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
            )
        )
    return FunctionRef(name, qual)


def check_alias_name(name: str) -> None:
    if not isinstance(name, str) or not _ALIAS.match(name):
        raise ValidationError(
            _constraint(
                "name", name, r"Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
            )
        )


def _constraint(member: str, value: Any, rule: str) -> str:
    return f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"


def check_range(member: str, value: Any, low: int, high: int) -> None:
    """Lambda's ValidationException for numbers outside the model's range."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(_constraint(member, value, "Member must be an integer"))
    if value < low:
        raise ValidationError(
            _constraint(member, value, f"Member must have value greater than or equal to {low}")
        )
    if value > high:
        raise ValidationError(
            _constraint(member, value, f"Member must have value less than or equal to {high}")
        )


def check_variables(variables: Any) -> dict[str, str]:
    """Environment.Variables: string to string, no reserved keys."""
    if variables is None:
        return {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise InvalidParameterValue("Environment variables must be a map of strings to strings.")
    reserved = [k for k in variables if k in RESERVED_VARIABLES]
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables "
            "you have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    for key in variables:
        if not re.match(r"^[a-zA-Z]([a-zA-Z0-9_])+$", key):
            raise InvalidParameterValue(
                "Lambda was unable to configure your environment variables because the environment variables "
                f"you have provided are invalid. Key '{key}' must start with a letter and contain only "
                "letters, numbers and underscores."
            )
    return dict(variables)
