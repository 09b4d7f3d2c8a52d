"""Instructions Threadline gives the model for its own calls (not the user's system prompt)."""

from __future__ import annotations

__all__ = ("DOCUMENTS_NOTE", "MEMORIES_HEADING", "ROUTER_INSTRUCTION", "SUMMARY_INSTRUCTION")

SUMMARY_INSTRUCTION = (
    "Update the running summary of a conversation. Keep names, facts, decisions, open "
    "questions and the user's preferences; drop pleasantries. Answer with the summary only."
)

ROUTER_INSTRUCTION = (
    "Pick the specialist who should answer the user's message. Answer with the "
    "specialist's name only. The specialists:"
)

# What the model is told at the start of a turn about the user's memories, one per line
# after this heading, each as "- <text>".
MEMORIES_HEADING = (
    "Memories about this user, saved in earlier conversations (most relevant first; use "
    "them when they help, and say so):"
)
# Told when the user has documents to search; the tool's name follows.
DOCUMENTS_NOTE = (
    "The user has documents in their knowledge base. To answer from them, call the tool "
    "search_documents, and cite the sources it returns by their [number]."
)
