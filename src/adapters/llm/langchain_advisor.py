"""The `Advisor` port over `langchain_openai.ChatOpenAI`: any OpenAI-compatible endpoint.

OpenAI itself, vLLM, Ollama, OpenRouter… all speak ``POST /v1/chat/completions``. The answer
is structured with pydantic models (`adapters.llm.schema`) through langchain's
``with_structured_output(…, include_raw=True)``, by one of three methods:

- ``function_calling`` (default): the schema as a forced tool call. The most widely
  supported: OpenAI, vLLM (named function calling), Ollama, OpenRouter, LiteLLM.
- ``json_schema``: ``response_format`` with the JSON schema (OpenAI's structured outputs,
  recent vLLM and Ollama).
- ``json_mode``: ``response_format: json_object``, the schema told in the prompt, for servers
  that support neither.

`include_raw` keeps the raw message, so token usage is known even when the answer cannot be
parsed. Retries (429, 5xx, connection errors, with backoff and ``Retry-After``) are the
OpenAI client's, per call (`max_retries`); what fails after them becomes an `AdvisorError`
whose message names the HTTP status, never the provider's text (which may echo a key).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import openai
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from adapters.llm.prompt import system_message, user_message
from adapters.llm.schema import Refinement
from application.ports.advisor import (
    AdviceReply,
    AdviceRequest,
    Advisor,
    AdvisorError,
    CallStats,
    ProposedNote,
    ProposedQuery,
    ProposedTable,
)

__all__ = ["LangChainAdvisor", "StructuredOutputMethod"]

StructuredOutputMethod = Literal["function_calling", "json_schema", "json_mode"]

# A local server (vLLM, Ollama) takes any key, but the OpenAI client insists on one.
_NO_KEY = "not-needed"


class LangChainAdvisor(Advisor):
    """Asks a chat model for a `Refinement` of the brief, once per `refine` call."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.0,
        timeout_seconds: float = 60.0,
        max_retries: int = 2,
        method: StructuredOutputMethod = "function_calling",
    ) -> None:
        self._model = model
        self._method = method
        chat = ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=SecretStr(api_key or _NO_KEY),
            temperature=temperature,
            timeout=timeout_seconds,
            max_retries=max_retries,
        )
        self._structured = chat.with_structured_output(Refinement, method=method, include_raw=True)

    @property
    def model(self) -> str | None:
        return self._model

    async def refine(self, request: AdviceRequest) -> AdviceReply:
        messages = [
            SystemMessage(system_message(json_mode=self._method == "json_mode")),
            HumanMessage(user_message(request)),
        ]
        started = time.perf_counter()
        try:
            output: Any = await self._structured.ainvoke(messages)
        except openai.APIError as error:
            raise _advisor_error(error, self._stats(started, None)) from None
        stats = self._stats(started, output.get("raw"))
        parsed = output.get("parsed")
        if not isinstance(parsed, Refinement):
            problem = output.get("parsing_error")
            why = f"{type(problem).__name__}: {str(problem)[:300]}" if problem else "no answer"
            raise AdvisorError("malformed", f"the answer is not a Refinement ({why})", stats)
        return AdviceReply(
            tables=tuple(
                ProposedTable(
                    t.table,
                    t.ddl,
                    tuple(t.migrations) if t.migrations is not None else None,
                    t.rationale,
                )
                for t in parsed.tables
            ),
            queries=tuple(ProposedQuery(q.queryid, q.query, q.rationale) for q in parsed.queries),
            notes=tuple(
                ProposedNote(n.title, n.rationale, n.table, tuple(n.queryids)) for n in parsed.notes
            ),
            summary=parsed.summary,
            stats=stats,
        )

    def _stats(self, started: float, raw: Any) -> CallStats:
        usage = getattr(raw, "usage_metadata", None) or {}
        metadata = getattr(raw, "response_metadata", None) or {}
        return CallStats(
            model=metadata.get("model_name") or self._model,
            latency_ms=int((time.perf_counter() - started) * 1000),
            prompt_tokens=usage.get("input_tokens"),
            completion_tokens=usage.get("output_tokens"),
        )


def _advisor_error(error: openai.APIError, stats: CallStats) -> AdvisorError:
    if isinstance(error, openai.APITimeoutError):
        return AdvisorError("timeout", "the LLM endpoint did not answer in time", stats)
    if isinstance(error, openai.APIConnectionError):
        return AdvisorError("connection_error", "cannot reach the LLM endpoint", stats)
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        outcome = (
            "rate_limited" if status == 429 else "server_error" if status >= 500 else "http_error"
        )
        return AdvisorError(outcome, f"HTTP {status} from the LLM endpoint", stats)
    return AdvisorError("error", type(error).__name__, stats)
