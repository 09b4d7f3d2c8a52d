"""Instructions Threadline gives the model for its own calls (not the user's system prompt)."""

from __future__ import annotations

__all__ = (
    "ATTACHED_NOTE",
    "DOCUMENTS_NOTE",
    "IMAGE_NOT_SHOWN",
    "MEMORIES_HEADING",
    "ROUTER_INSTRUCTION",
    "SUMMARY_INSTRUCTION",
)

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

ATTACHED_NOTE = (
    "The user attached documents to this conversation; search_documents searches them "
    "first. To answer about them, call it and cite the sources it returns by their [number]."
)

# In place of an image, for a model that takes none (the conversation changed models).
IMAGE_NOT_SHOWN = "[an image was attached here; this model cannot see it]"
