"""Apache Kafka adapters (aiokafka): the task publisher, the worker's consumer, topic setup.

Wire format: key = the task id as text, value = JSON ``{"taskid": "<uuid>"}`` (see `messages`).
Unreadable messages go to ``<topic>.dlq``. Nothing here reads settings: the composition root passes
bootstrap servers, topic, group and client ids in.
"""

from adapters.kafka.consumer import (
    DLQ_ERROR_HEADER,
    DLQ_GROUP_HEADER,
    DLQ_SOURCE_OFFSET_HEADER,
    DLQ_SOURCE_PARTITION_HEADER,
    DLQ_SOURCE_TOPIC_HEADER,
    Backoff,
    KafkaTaskConsumer,
    TaskHandler,
)
from adapters.kafka.messages import UndecodableMessage, decode_task_id, encode_task_message
from adapters.kafka.publisher import KafkaTaskPublisher
from adapters.kafka.topics import (
    DEFAULT_GROUP_ID,
    DEFAULT_TOPIC,
    dead_letter_topic,
    ensure_topics,
)

__all__ = [
    "DEFAULT_GROUP_ID",
    "DEFAULT_TOPIC",
    "DLQ_ERROR_HEADER",
    "DLQ_GROUP_HEADER",
    "DLQ_SOURCE_OFFSET_HEADER",
    "DLQ_SOURCE_PARTITION_HEADER",
    "DLQ_SOURCE_TOPIC_HEADER",
    "Backoff",
    "KafkaTaskConsumer",
    "KafkaTaskPublisher",
    "TaskHandler",
    "UndecodableMessage",
    "dead_letter_topic",
    "decode_task_id",
    "encode_task_message",
    "ensure_topics",
]
