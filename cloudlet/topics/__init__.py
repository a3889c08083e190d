"""Topics with SNS semantics: durable fan-out to queues, functions and HTTP(S) endpoints.

``Topics`` is the service; its async methods are SNS's operations under boto3's names.
"""

from cloudlet.topics.service import DEFAULT_ENDPOINT, Topics

__all__ = ["DEFAULT_ENDPOINT", "Topics"]
