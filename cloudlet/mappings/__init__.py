"""Lambda event source mappings: pollers that feed SQS queues and Kinesis streams to functions.

``EventSourceMappings`` carries Lambda's ``*_event_source_mapping(s)`` operations and registers
itself under the ``lambda`` API beside the functions service.
"""

from cloudlet.mappings.service import EventSourceMappings

__all__ = ["EventSourceMappings"]
