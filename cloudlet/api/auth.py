"""AWS Signature Version 4 verification: recompute the signature with botocore's signer.

Off unless the API is configured with access keys. Errors are AWS's authentication errors;
the protocol layer renders them in the request's own protocol.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudlet.api.http import Request
from cloudlet.errors import CloudletError

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]+)\s*$"
)
#: How far a request's X-Amz-Date may be from the server's clock.
MAX_SKEW = timedelta(minutes=15)


class AuthError(CloudletError):
    """The request is not signed, or not signed with a known key. ``query_code`` for query APIs."""

    status = 403
    query_code = "InvalidClientTokenId"

    def __init__(self, message: str, *, code: str, query_code: str, status: int = 403) -> None:
        super().__init__(message, code=code)
        self.query_code = query_code
        self.status = status


@dataclass(frozen=True, slots=True)
class CredentialScope:
    """``AKID/20240101/us-east-1/sqs/aws4_request`` from an Authorization header."""

    access_key: str
    date: str
    region: str
    service: str


def credential_scope(authorization: str | None) -> CredentialScope | None:
    """The credential scope of a SigV4 Authorization header, or None when there is none."""
    if not authorization or "Credential=" not in authorization:
        return None
    start = authorization.index("Credential=") + len("Credential=")
    end = authorization.find(",", start)
    parts = authorization[start : end if end >= 0 else None].strip().split("/")
    if len(parts) != 5:
        return None
    return CredentialScope(parts[0], parts[1], parts[2], parts[3])


def verify(request: Request, keys: Mapping[str, str], now: datetime | None = None) -> str:
    """Check ``request``'s SigV4 signature against ``keys`` (access key -> secret); return the key id.

    The signature travels in the ``Authorization`` header, or in the query string of a presigned
    URL (``X-Amz-Signature`` with ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``).
    """
    authorization = request.headers.get("authorization")
    moment = now or datetime.now(UTC)
    if not authorization:
        if "X-Amz-Signature=" in request.query_string:
            return _verify_presigned(request, keys, moment)
        raise AuthError(
            "Missing Authentication Token",
            code="MissingAuthenticationTokenException",
            query_code="MissingAuthenticationToken",
        )
    match = _AUTH_RE.match(authorization)
    scope = credential_scope(authorization)
    if match is None or scope is None:
        raise AuthError(
            f"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
            f"parameters. Authorization={authorization.split(' ', 1)[0]}",
            code="IncompleteSignatureException",
            query_code="IncompleteSignature",
            status=400,
        )
    secret = _secret(keys, scope)
    timestamp = request.headers.get("x-amz-date", "")
    signed_at = _signed_at(timestamp)
    if abs(moment - signed_at) > MAX_SKEW:
        raise AuthError(
            f"Signature expired: {timestamp} is now earlier than "
            f"{(moment - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')}",
            code="InvalidSignatureException",
            query_code="SignatureDoesNotMatch",
        )
    _check(request, scope, secret, timestamp, match["signed"], match["signature"], request.query_string)
    return scope.access_key


def _verify_presigned(request: Request, keys: Mapping[str, str], moment: datetime) -> str:
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    missing = [
        name
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders")
        if name not in params
    ]
    if missing or params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        raise AuthError(
            f"AWS query-string parameters must include {', '.join(missing) or 'X-Amz-Algorithm'}. "
            "Re-examine the query-string parameters.",
            code="IncompleteSignatureException",
            query_code="IncompleteSignature",
            status=400,
        )
    scope = credential_scope(f"Credential={params['X-Amz-Credential']}")
    if scope is None:
        raise AuthError(
            "Credential should be scoped to a valid region.",
            code="IncompleteSignatureException",
            query_code="IncompleteSignature",
            status=400,
        )
    secret = _secret(keys, scope)
    timestamp = params["X-Amz-Date"]
    signed_at = _signed_at(timestamp)
    try:
        expires = int(params.get("X-Amz-Expires", "3600"))
    except ValueError:
        expires = -1
    if moment > signed_at + timedelta(seconds=expires) or moment < signed_at - MAX_SKEW:
        raise AuthError("Request has expired", code="AccessDeniedException", query_code="AccessDenied")
    # The signature covers every query parameter but itself, as the client encoded them.
    query = "&".join(
        pair for pair in request.query_string.split("&") if not pair.startswith("X-Amz-Signature=")
    )
    signed, signature = params["X-Amz-SignedHeaders"], params["X-Amz-Signature"]
    try:
        _check(request, scope, secret, timestamp, signed, signature, query)
    except AuthError:
        if request.method != "GET" or "Action=" not in query:
            raise
        # botocore presigns query-protocol operations with the method they are serialized
        # with (POST), while the URL is then fetched with GET.
        _check(request, scope, secret, timestamp, signed, signature, query, method="POST")
    return scope.access_key


def _secret(keys: Mapping[str, str], scope: CredentialScope) -> str:
    secret = keys.get(scope.access_key)
    if secret is None:
        raise AuthError(
            "The security token included in the request is invalid.",
            code="UnrecognizedClientException",
            query_code="InvalidClientTokenId",
        )
    return secret


def _signed_at(timestamp: str) -> datetime:
    try:
        return datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthError(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            code="IncompleteSignatureException",
            query_code="IncompleteSignature",
            status=400,
        ) from None


def _check(
    request: Request,
    scope: CredentialScope,
    secret: str,
    timestamp: str,
    signed_headers: str,
    signature: str,
    query_string: str,
    *,
    method: str | None = None,
) -> None:
    """Recompute the signature with botocore's signer and compare."""
    headers = {name: request.headers.get(name, "") for name in signed_headers.split(";")}
    host = request.headers.get("host", "localhost")
    url = f"http://{host}{request.path}"
    if query_string:
        url += f"?{query_string}"
    aws_request = AWSRequest(method=method or request.method, url=url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(scope.access_key, secret), scope.service, scope.region)
    canonical = signer.canonical_request(aws_request)
    expected = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    if not hmac.compare_digest(expected, signature):
        raise AuthError(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details.",
            code="InvalidSignatureException",
            query_code="SignatureDoesNotMatch",
        )
