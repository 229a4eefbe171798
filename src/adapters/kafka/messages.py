"""The task message on the wire.

Key: the task id as text (ASCII, 36 characters), so every message of one task lands in the same
partition and reads plainly in any Kafka tool. Value: UTF-8 JSON ``{"taskid": "<uuid>"}``.

Decoding also accepts a bare UUID string (quoted as JSON or not), which is what a hand-written
producer or ``kafka-console-producer`` tends to send. Anything else is undecodable: the consumer
moves it to the dead-letter topic instead of retrying it forever.

>>> key, value = encode_task_message(uuid.UUID("12345678-1234-5678-1234-567812345678"))
>>> value
b'{"taskid":"12345678-1234-5678-1234-567812345678"}'
>>> decode_task_id(b"12345678-1234-5678-1234-567812345678") == decode_task_id(value)
True
"""

from __future__ import annotations

import json
import uuid

__all__ = ["TASK_ID_FIELD", "UndecodableMessage", "decode_task_id", "encode_task_message"]

TASK_ID_FIELD = "taskid"

# Error texts echo a bit of the value to help whoever reads the dead-letter topic, never more.
_EXCERPT = 64


class UndecodableMessage(ValueError):
    """The message value does not carry a task id."""


def encode_task_message(task_id: uuid.UUID) -> tuple[bytes, bytes]:
    """The (key, value) pair that carries `task_id`."""
    text = str(task_id)
    value = json.dumps({TASK_ID_FIELD: text}, separators=(",", ":")).encode("utf-8")
    return text.encode("ascii"), value


def decode_task_id(value: bytes | None) -> uuid.UUID:
    """The task id in a message value; raises `UndecodableMessage` when there is none."""
    if value is None:
        raise UndecodableMessage("the message has no value")
    try:
        text = value.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise UndecodableMessage("the value is not UTF-8 text") from exc
    if not text:
        raise UndecodableMessage("the value is empty")
    try:
        payload: object = json.loads(text)
    except json.JSONDecodeError:
        payload = text  # not JSON: perhaps a bare, unquoted UUID
    if isinstance(payload, dict):
        raw = payload.get(TASK_ID_FIELD)
        if not isinstance(raw, str):
            raise UndecodableMessage(f'no string "{TASK_ID_FIELD}" in {text[:_EXCERPT]!r}')
    elif isinstance(payload, str):
        raw = payload
    else:
        raise UndecodableMessage(f"not a task message: {text[:_EXCERPT]!r}")
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise UndecodableMessage(f"not a UUID: {raw[:_EXCERPT]!r}") from exc
