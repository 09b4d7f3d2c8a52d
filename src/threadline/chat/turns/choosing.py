"""A conversation's assistant: chosen by its first message, kept, and what runs its turns.

Its model too: chosen by any message (or `set_model`), kept beside the assistant.
"""

from __future__ import annotations

import msgspec

from threadline.chat.errors import (
    ConversationNotFound,
    InvalidContext,
    InvalidRequest,
    UnknownAssistant,
    UnknownModel,
)
from threadline.chat.turns.turn_parts import TurnEngine
from threadline.conversations.index import Choice, ConversationIndex
from threadline.engine.assistants import Assistant, Assistants, ContextRefused, RunOptions
from threadline.engine.graph import MODEL_KEY
from threadline.engine.tools.knowledge import ATTACHED_DOCUMENTS
from threadline.llm.choices import ModelChoices

__all__ = (
    "MAX_CHOICE_BYTES",
    "check_kept",
    "check_model",
    "check_unchanged",
    "engine_of",
    "owned",
    "resolved",
)

# The most a first message's `context` and `configurable` may take in the index, encoded.
MAX_CHOICE_BYTES = 16 * 1024


def engine_of(
    assistants: Assistants, chosen: Choice, models: ModelChoices | None = None
) -> TurnEngine:
    """The runner and run options of a conversation that chose `chosen`.

    Raises:
        UnknownAssistant: Its assistant is not served (any more).
        InvalidContext: Its context does not fit the assistant's graph (any more).
        UnknownModel: Its model may not be picked (any more).
    """
    assistant = _assistant(chosen, assistants)
    try:
        context, configurable = assistant.options(chosen.context, chosen.configurable)
    except ContextRefused as error:
        raise InvalidContext(str(error)) from None
    if models is not None:
        model = chosen.model or models.default
        check_model(models, model)
        configurable = {**configurable, MODEL_KEY: model}
    if chosen.documents:
        configurable = {**configurable, ATTACHED_DOCUMENTS: list(chosen.documents)}
    return TurnEngine(assistant.runner, RunOptions(context, configurable))


def check_model(models: ModelChoices, model: str) -> None:
    """Refuse a model a user may not pick.

    Raises:
        UnknownModel: `model` is not among MODELS (nor the default or the offline model).
    """
    if not models.allows(model):
        served = ", ".join(repr(name) for name in models.allowed)
        raise UnknownModel(f"no model {model!r} may be picked ({served})")


def _assistant(chosen: Choice, assistants: Assistants) -> Assistant:
    assistant = assistants.get(chosen.assistant_id)
    if assistant is None:
        served = ", ".join(repr(name) for name in assistants.ids)
        raise UnknownAssistant(f"no assistant {chosen.assistant_id!r} is served ({served})")
    return assistant


def resolved(chosen: Choice, assistants: Assistants) -> Choice:
    """A new conversation's choice, its assistant named (the default, if it named none).

    Raises:
        UnknownAssistant, InvalidContext: It names none served, or is too large to keep.
    """
    named = msgspec.structs.replace(
        chosen, assistant_id=_assistant(chosen, assistants).assistant_id
    )
    if len(msgspec.json.encode(named)) > MAX_CHOICE_BYTES:
        raise InvalidContext(f"context and configurable take at most {MAX_CHOICE_BYTES} bytes")
    return named


def check_unchanged(kept: Choice, asked: Choice | None) -> None:
    """A later message may name the conversation's assistant again, but change nothing."""
    if asked is None:
        return
    if asked.context is not None or asked.configurable is not None:
        raise InvalidContext("a conversation's context is set by its first message")
    if asked.assistant_id not in {None, kept.assistant_id}:
        raise InvalidRequest(f"this conversation's assistant is {kept.assistant_id!r}")


def check_kept(kept: Choice, asked: Choice) -> None:
    """A run that names its thread's choice again (each run of a LangGraph client may).

    Raises:
        InvalidContext, InvalidRequest: It asks for another context, configurable or
            assistant than the conversation's.
    """
    if asked.context is not None and asked.context != kept.context:
        raise InvalidContext("a conversation's context is set by its first message")
    if asked.configurable is not None and asked.configurable != kept.configurable:
        raise InvalidContext("a conversation's configurable is set by its first message")
    check_unchanged(kept, Choice(assistant_id=asked.assistant_id))


async def owned(index: ConversationIndex, user_id: str, conversation_id: str) -> Choice:
    """What the user's conversation chose; raises ConversationNotFound if not theirs."""
    chosen = await index.choice_of(user_id, conversation_id)
    if chosen is None:
        raise ConversationNotFound
    return chosen
