"""Instructions Threadline gives the model for its own calls (not the user's system prompt)."""

from __future__ import annotations

__all__ = ("SUMMARY_INSTRUCTION",)

SUMMARY_INSTRUCTION = (
    "Update the running summary of a conversation. Keep names, facts, decisions, open "
    "questions and the user's preferences; drop pleasantries. Answer with the summary only."
)
