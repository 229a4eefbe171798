"""The Prometheus metrics of a process (prometheus_client's default registry).

    dbanalysis_http_requests_total{method, route, status}     requests answered
    dbanalysis_http_request_duration_seconds{method, route}   their latency
    dbanalysis_tasks{status}                                  tasks in the database, by status
                                                              (read when /metrics is scraped)
    dbanalysis_stage_duration_seconds{stage}                  time in each stage of an analysis
    dbanalysis_analysis_duration_seconds{outcome}             a whole analysis (ok / error)
    dbanalysis_llm_request_duration_seconds{outcome}          one call to the LLM advisor
    dbanalysis_llm_tokens_total{kind}                         prompt / completion tokens spent
    dbanalysis_consumer_lag{topic}                            messages a worker has still to do
                                                              on its partitions (sum: the group)

`route` is the route's template (`/status`), or `unmatched`: a client cannot create series.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "ANALYSIS_SECONDS",
    "CONSUMER_LAG",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "LLM_SECONDS",
    "LLM_TOKENS",
    "STAGE_SECONDS",
    "TASKS",
]

_SLOW = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

HTTP_REQUESTS = Counter(
    "dbanalysis_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "dbanalysis_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
TASKS = Gauge("dbanalysis_tasks", "Tasks in the database, by status", ["status"])
STAGE_SECONDS = Histogram(
    "dbanalysis_stage_duration_seconds",
    "Time spent in a stage of an analysis",
    ["stage"],
    buckets=_SLOW,
)
ANALYSIS_SECONDS = Histogram(
    "dbanalysis_analysis_duration_seconds",
    "Time of a whole analysis",
    ["outcome"],
    buckets=_SLOW,
)
LLM_SECONDS = Histogram(
    "dbanalysis_llm_request_duration_seconds",
    "Latency of a call to the LLM advisor",
    ["outcome"],
    buckets=_SLOW,
)
LLM_TOKENS = Counter("dbanalysis_llm_tokens", "Tokens spent on the LLM advisor", ["kind"])
CONSUMER_LAG = Gauge(
    "dbanalysis_consumer_lag", "Messages not yet done on this worker's partitions", ["topic"]
)
