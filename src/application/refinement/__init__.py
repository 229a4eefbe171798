"""Refinement: an advisor (an LLM) improves the engine's answer where the guards allow."""
