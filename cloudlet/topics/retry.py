"""SNS delivery retry policies as one pure function: attempt number -> delay, or give up.

A policy has four phases (immediate retries, retries at the minimum delay, a backoff phase
from the minimum to the maximum delay, retries at the maximum delay), as SNS documents:
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A ``healthyRetryPolicy`` of an SNS delivery policy."""

    num_retries: int
    num_no_delay_retries: int = 0
    min_delay: float = 20.0
    max_delay: float = 20.0
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    backoff: str = "linear"

    @classmethod
    def from_delivery_policy(cls, doc: dict[str, Any] | None, default: RetryPolicy) -> RetryPolicy:
        """Read ``{"healthyRetryPolicy": {...}}`` (or an ``{"http": {...}}`` topic policy)."""
        if not doc:
            return default
        if "http" in doc and isinstance(doc["http"], dict):
            doc = doc["http"]
        healthy = doc.get("healthyRetryPolicy") or {}
        if not healthy:
            return default
        return cls(
            num_retries=int(healthy.get("numRetries", default.num_retries)),
            num_no_delay_retries=int(healthy.get("numNoDelayRetries", 0)),
            min_delay=float(healthy.get("minDelayTarget", default.min_delay)),
            max_delay=float(healthy.get("maxDelayTarget", default.max_delay)),
            num_min_delay_retries=int(healthy.get("numMinDelayRetries", 0)),
            num_max_delay_retries=int(healthy.get("numMaxDelayRetries", 0)),
            backoff=str(healthy.get("backoffFunction", "linear")),
        )

    def delay(self, retry: int) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based), or None when retries are used up."""
        if retry > self.num_retries:
            return None
        if retry <= self.num_no_delay_retries:
            return 0.0
        retry -= self.num_no_delay_retries
        if retry <= self.num_min_delay_retries:
            return self.min_delay
        retry -= self.num_min_delay_retries
        backoff_count = max(
            0,
            self.num_retries
            - self.num_no_delay_retries
            - self.num_min_delay_retries
            - self.num_max_delay_retries,
        )
        if retry > backoff_count:
            return self.max_delay
        if backoff_count <= 1:
            return self.min_delay
        fraction = (retry - 1) / (backoff_count - 1)
        span = self.max_delay - self.min_delay
        if self.backoff == "arithmetic":
            shaped = fraction**2
        elif self.backoff == "geometric":
            shaped = fraction**3
        elif self.backoff == "exponential":
            shaped = (2 ** (fraction * 10) - 1) / (2**10 - 1)
        else:
            shaped = fraction
        return self.min_delay + span * shaped


#: HTTP(S) endpoints: three retries, 20 seconds apart (SNS's default delivery policy).
HTTP_DEFAULT = RetryPolicy(num_retries=3, min_delay=20.0, max_delay=20.0)
#: AWS-managed endpoints (SQS, Lambda): 3 immediate, 2 at 1 s, 10 backing off to 20 s, then 20 s apart.
MANAGED_DEFAULT = RetryPolicy(
    num_retries=100_015,
    num_no_delay_retries=3,
    min_delay=1.0,
    max_delay=20.0,
    num_min_delay_retries=2,
    num_max_delay_retries=100_000,
    backoff="exponential",
)
