"""The practical ceiling for `bench/api_load.py`: FastAPI + asyncpg, nothing else.

`POST /new` inserts one row (the body as JSONB) and answers 202 with its id; `GET /status` reads
it back. No validation, no outbox, no Kafka, no encryption: what the service's API could at best
do on the same machine and database.

    BARE_DATABASE_URL=postgresql://… uvicorn bench.bare_app:app --port 8001
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["BARE_DATABASE_URL"], min_size=5, max_size=10)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS bare_tasks (id uuid PRIMARY KEY, body jsonb NOT NULL)"
    )
    app.state.pool = pool
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/new", status_code=202)
async def new(request: Request) -> dict[str, Any]:
    body = await request.body()
    task_id = uuid.uuid4()
    await request.app.state.pool.execute(
        "INSERT INTO bare_tasks (id, body) VALUES ($1, $2::jsonb)", task_id, body.decode()
    )
    return {"taskid": str(task_id), "status": "pending"}


@app.get("/status")
async def status(request: Request, taskid: str) -> Response:
    row = await request.app.state.pool.fetchrow(
        "SELECT body FROM bare_tasks WHERE id = $1", uuid.UUID(taskid)
    )
    if row is None:
        return Response(status_code=404)
    return Response(
        json.dumps({"taskid": taskid, "status": "pending"}), media_type="application/json"
    )
