"""Queues with SQS semantics, durable in the store (standard and FIFO).

``Queues`` is the service; its async methods are SQS's operations under boto3's names.
"""

from cloudlet.queues.service import DEFAULT_ENDPOINT, Queues

__all__ = ["DEFAULT_ENDPOINT", "Queues"]
