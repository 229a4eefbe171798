"""The LLM advisor: langchain-openai against any OpenAI-compatible endpoint."""

from adapters.llm.langchain_advisor import LangChainAdvisor, StructuredOutputMethod

__all__ = ["LangChainAdvisor", "StructuredOutputMethod"]
