"""What the model is shown of a long conversation: a bounded window and a running summary.

`bounded_window` is the built-in graph's own step before each answer, and is meant for a
graph of one's own too (THREADLINE_GRAPH) whose state is `state.ChatState`:

    async def agent(state: ChatState) -> dict[str, Any]:
        shown = await bounded_window(state, model, budget=32_000)
        reply = await model.ainvoke([SystemMessage("..."), *shown.messages])
        return shown.with_reply(reply)

Messages folded out of the window leave the state (so each checkpoint stays bounded) and
stay in the transcript (the writes that added them are kept), so history is complete.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, RemoveMessage

from threadline.engine.context import fold, summarize, summary_message, visible
from threadline.engine.state import ChatState, Digest
from threadline.storage.checkpoints.channel import FOLDED

__all__ = ("Window", "bounded_window")


class Window(NamedTuple):
    """The conversation as the model sees it this time, and how the state changes."""

    messages: list[AnyMessage]  # the summary (if any), then the recent messages
    shown: list[AnyMessage]  # the recent messages alone
    kept: list[AnyMessage]  # the window after the fold (stopped empty replies included)
    digest: Digest
    folded: list[AnyMessage]  # what left the window now
    tokens: int  # model tokens the summary took (0 without a fold)

    def with_reply(self, reply: BaseMessage) -> dict[str, Any]:
        """The node's state update: the folded messages out, the digest, and `reply` in."""
        # Folded messages leave the window; their writes keep them in the transcript.
        removed = [RemoveMessage(id=m.id or "", name=FOLDED) for m in self.folded]
        update: dict[str, Any] = {"messages": [*removed, reply]}
        if self.folded:
            update["digest"] = self.digest
        return update


async def bounded_window(
    state: ChatState, model: BaseChatModel, budget: int, reserved: int = 0
) -> Window:
    """Fold what does not fit `budget` (estimated tokens) into the running summary.

    Args:
        state: The thread's state (`messages` and `digest`).
        model: Writes the summary when something is folded (never streamed).
        budget: The most the model may be sent, in estimated tokens (CONTEXT_TOKENS).
        reserved: What the caller adds besides (its system prompt), in estimated tokens.
    """
    window = state.get("messages", [])
    digest = _digest_of(state)
    cut = fold(window, budget, reserved)
    folded, kept = list(window[:cut]), list(window[cut:])
    tokens = 0
    if folded:
        summary, tokens = await summarize(model, digest["summary"], folded, budget)
        digest = Digest(summary=summary, messages=digest["messages"] + len(visible(folded)))
    shown = [m for m in kept if not _empty_reply(m)]
    return Window(
        [*summary_message(digest["summary"]), *shown], shown, kept, digest, folded, tokens
    )


def _digest_of(state: ChatState) -> Digest:
    """The state's digest; none if it is of another shape, so a bad one never stops a turn."""
    found: Any = state.get("digest")
    if (
        isinstance(found, dict)
        and isinstance(found.get("summary"), str)
        and isinstance(found.get("messages"), int)
    ):
        return Digest(summary=found["summary"], messages=found["messages"])
    return Digest(summary="", messages=0)


def _empty_reply(message: BaseMessage) -> bool:
    # A reply stopped before its first token is kept in the thread (the user saw it stop)
    # but says nothing; providers reject empty assistant messages, so the model skips it.
    return isinstance(message, AIMessage) and not message.content and not message.tool_calls
