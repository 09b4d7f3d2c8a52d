"""Conversations as LangGraph threads, its assistants and its store (the LangGraph API)."""
