"""Export and import: a conversation as JSON or Markdown, and conversations brought in.

An imported conversation is a normal thread: its messages are written with the saver as
the graph's own state (under the conversation's lease), so it lists, reads, shares and
goes on over the WebSocket like any other.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolCall, ToolMessage

from threadline.chat.errors import ConversationNotFound
from threadline.chat.events import HistoryItem
from threadline.chat.features.feedback import Feedback
from threadline.chat.features.imports import ImportedConversation, ImportedMessage, conversations_in
from threadline.chat.turns.history import history_items
from threadline.chat.turns.turn import TurnServices
from threadline.clock import now
from threadline.conversations.index import ConversationSummary, new_id
from threadline.conversations.titles import MAX_TITLE_CHARS, visible_title
from threadline.engine.messages import CLIENT_MESSAGE_ID, CREATED_AT, STOPPED

__all__ = ("ConversationExport", "Imported", "Transfers", "as_markdown")

_IMPORTED_MODEL = "imported"


class ConversationExport(msgspec.Struct, kw_only=True):
    """A conversation as `export?format=json` gives it (and `import` takes it back)."""

    format: Literal["threadline"] = "threadline"
    version: int = 1
    conversation_id: str
    title: str | None
    created_at: str
    exported_at: str
    messages: list[HistoryItem]


class Imported(msgspec.Struct, kw_only=True):
    """What an import made: the new conversations, in the document's order."""

    conversations: list[ConversationSummary]


def as_markdown(export: ConversationExport) -> str:
    """The conversation as Markdown: a heading per message, its text as it was written."""
    lines = [f"# {export.title or 'Conversation'}", ""]
    for item in export.messages:
        if item.role == "tool" or not item.content:
            continue
        lines += [f"## {'User' if item.role == 'user' else 'Assistant'}", "", item.content, ""]
    return "\n".join(lines)


class Transfers:
    """Exports and imports, each for the owner only."""

    def __init__(self, crew: TurnServices, feedback: Feedback) -> None:
        """Read and write conversations through `crew`; show `feedback` in exports."""
        self._crew = crew
        self._feedback = feedback

    async def export(self, user_id: str, conversation_id: str) -> ConversationExport:
        """The conversation's summary and every stored message, feedback included.

        Raises:
            ConversationNotFound: Not a conversation of this user.
        """
        summary = await self._crew.index.get(user_id, conversation_id)
        if summary is None:
            raise ConversationNotFound
        runner = self._crew.runner
        items = history_items(await runner.transcript(conversation_id), runner.model_name)
        return ConversationExport(
            conversation_id=conversation_id,
            title=summary.title,
            created_at=summary.created_at,
            exported_at=now(),
            messages=await self._feedback.shown_on(user_id, conversation_id, items),
        )

    async def import_document(self, user_id: str, document: object) -> Imported:
        """Make a conversation of the user's from each one the document holds.

        Raises:
            ImportRefused: Not a document it can import, or past a bound; nothing is made.
        """
        found = conversations_in(document)  # all checked before anything is written
        return Imported(conversations=[await self._write(user_id, c) for c in found])

    async def _write(self, user_id: str, imported: ImportedConversation) -> ConversationSummary:
        crew = self._crew
        conversation_id = await crew.index.create(user_id)
        messages = [_message(m) for m in imported.messages]
        given = {m.id or "": i.feedback for i, m in zip(imported.messages, messages, strict=True)}
        try:
            async with crew.leases.hold(conversation_id, user_id=user_id) as lease:
                await crew.runner.write_messages(conversation_id, messages)
                await crew.activity.record(
                    user_id, conversation_id, messages, new_message=False, lease=lease
                )
            await self._feedback.restore(
                user_id, conversation_id, {k: v for k, v in given.items() if v is not None}
            )
        except Exception:
            await crew.index.delete(user_id, conversation_id)
            await crew.runner.delete(conversation_id)
            raise
        title = visible_title(imported.title or imported.messages[0].content)[:MAX_TITLE_CHARS]
        await crew.index.set_title(user_id, conversation_id, title or "Imported", "user")
        summary = await crew.index.get(user_id, conversation_id)
        if summary is None:  # deleted meanwhile
            raise ConversationNotFound
        await crew.activity.created(user_id, conversation_id)
        await crew.activity.renamed(user_id, summary)
        return summary


def _message(imported: ImportedMessage) -> AnyMessage:
    when = imported.created_at or now()
    if imported.role == "user":
        kwargs = {CREATED_AT: when}
        if imported.client_message_id is not None:
            kwargs[CLIENT_MESSAGE_ID] = imported.client_message_id
        return HumanMessage(imported.content, id=new_id(), additional_kwargs=kwargs)
    if imported.role == "tool":
        return ToolMessage(
            imported.content,
            id=new_id(),
            tool_call_id=imported.tool_call_id or "",
            name=imported.name,
            status="error" if imported.is_error else "success",
            additional_kwargs={CREATED_AT: when},
        )
    metadata: dict[str, object] = {
        "model_name": imported.model or _IMPORTED_MODEL,
        CREATED_AT: when,
    }
    if imported.stopped:
        metadata[STOPPED] = True
    calls = [
        ToolCall(id=c.tool_call_id, name=c.name, args=c.args, type="tool_call")
        for c in imported.tool_calls
    ]
    return AIMessage(imported.content, id=new_id(), tool_calls=calls, response_metadata=metadata)
