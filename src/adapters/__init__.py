"""Adapters: the ports implemented by technology (memory, sqlalchemy, kafka, llm, verify).

Each subpackage depends on the application's ports and the domain, never on another adapter.
"""
