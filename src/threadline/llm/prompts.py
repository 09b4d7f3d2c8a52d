"""Instructions Threadline gives the model for its own calls (not the user's system prompt)."""

from __future__ import annotations

__all__ = ("ROUTER_INSTRUCTION", "SUMMARY_INSTRUCTION")

SUMMARY_INSTRUCTION = (
    "Update the running summary of a conversation. Keep names, facts, decisions, open "
    "questions and the user's preferences; drop pleasantries. Answer with the summary only."
)

ROUTER_INSTRUCTION = (
    "Pick the specialist who should answer the user's message. Answer with the "
    "specialist's name only. The specialists:"
)
