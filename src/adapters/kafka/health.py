"""Whether the Kafka cluster answers: a metadata request through a short-lived client."""

from __future__ import annotations

from aiokafka import AIOKafkaClient

__all__ = ["KafkaProbe"]


class KafkaProbe:
    """Optional for readiness: the API takes tasks while Kafka is down (the outbox keeps them)."""

    name = "kafka"
    required = False

    def __init__(self, bootstrap_servers: str, request_timeout_ms: int = 2_000) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._request_timeout_ms = request_timeout_ms

    async def check(self) -> None:
        client = AIOKafkaClient(
            bootstrap_servers=self._bootstrap_servers,
            client_id="dbanalysis-readiness",
            request_timeout_ms=self._request_timeout_ms,
        )
        try:
            await client.bootstrap()
        finally:
            await client.close()
