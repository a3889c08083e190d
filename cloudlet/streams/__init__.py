"""Streams with Kinesis semantics: N shards, MD5 hash-key routing, ordered durable records.

``Streams`` is the service; its async methods are Kinesis' operations under boto3's names.
"""

from cloudlet.streams.service import Streams

__all__ = ["Streams"]
