"""Topic names and `ensure_topics`, which creates the task topic and its dead-letter topic.

Brokers with `auto.create.topics.enable` would create both on first use, but with the broker's
default partition count; the partition count bounds how many workers share the work, so the
deployment creates them explicitly. Creation is best effort: a broker that is down must not keep
a process from starting, so failures are logged and reported as False, never raised.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from adapters.kafka._producer import BROKER_ERRORS, describe

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "DEFAULT_GROUP_ID",
    "DEFAULT_TOPIC",
    "dead_letter_topic",
    "ensure_topics",
]

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "db_analysis_tasks"
DEFAULT_GROUP_ID = "db_analysis_workers"
DEAD_LETTER_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Where the consumer of `topic` puts messages it cannot read.

    >>> dead_letter_topic("db_analysis_tasks")
    'db_analysis_tasks.dlq'
    """
    return f"{topic}{DEAD_LETTER_SUFFIX}"


async def ensure_topics(
    bootstrap_servers: str,
    topic: str = DEFAULT_TOPIC,
    partitions: int = 6,
    replication: int = 1,
    *,
    time_limit: float = 15.0,
    client_id: str = "dbanalysis-admin",
) -> bool:
    """Create `topic` and its dead-letter topic where missing; True when both exist afterwards.

    Existing topics are left as they are (their partition count is not changed). The whole call
    takes at most `time_limit` seconds.
    """
    wanted = [topic, dead_letter_topic(topic)]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        request_timeout_ms=int(time_limit * 1000),
    )
    try:
        async with asyncio.timeout(time_limit):
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if not missing:
                return True
            response = await admin.create_topics(
                [NewTopic(name, partitions, replication) for name in missing]
            )
    except BROKER_ERRORS as exc:
        log.warning(
            "kafka: could not ensure topics %s on %s: %s", wanted, bootstrap_servers, describe(exc)
        )
        return False
    finally:
        await admin.close()
    created = True
    for name, code, *details in response.topic_errors:
        # Another process may have created it since list_topics: that is success too.
        if code == 0 or for_code(code) is TopicAlreadyExistsError:
            log.info("kafka: topic %s ready", name)
            continue
        created = False
        reason = details[0] if details and details[0] else for_code(code).__name__
        log.warning("kafka: could not create topic %s: %s", name, reason)
    return created
