"""Feedback on replies: a rating and a comment per assistant message, in LangGraph's store.

A conversation's feedback is a namespace of its owner's, `("feedback", <user>,
<conversation>)`, one item per rated message, keyed by its id. History shows it on the
message; an admin exports all of it as JSON lines for evaluation; deleting the
conversation (or erasing the user) deletes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec
from langchain_core.messages import AIMessage
from langgraph.store.base import BaseStore, GetOp, Item, PutOp

from threadline.chat.errors import ConversationNotFound, MessageNotFound
from threadline.chat.events import FeedbackItem, FeedbackSaved, HistoryItem
from threadline.chat.turns.turn import TurnServices
from threadline.clock import now
from threadline.observability.metrics import FEEDBACK
from threadline.storage.database import Pool
from threadline.storage.namespaces import user_label
from threadline.storage.store_pages import page_of_items

__all__ = ("Feedback", "FeedbackRecord", "Rating")

Rating = Literal["up", "down"] | None
_ROOT = "feedback"
_AT_ONCE = 500


class FeedbackRecord(msgspec.Struct, kw_only=True):
    """One rated message, as the admin export lists it."""

    user_id: str
    conversation_id: str
    message_id: str
    rating: Rating
    comment: str | None
    updated_at: datetime


def _namespace(user_id: str, conversation_id: str) -> tuple[str, str, str]:
    return (_ROOT, user_label(user_id), conversation_id)


class Feedback:
    """Ratings and comments on assistant messages, each for its owner only."""

    def __init__(self, crew: TurnServices, store: BaseStore, pool: Pool) -> None:
        """Check ownership and messages through `crew`; keep feedback in `store`."""
        self._crew = crew
        self._store = store
        self._pool = pool

    async def give(
        self, user_id: str, conversation_id: str, message_id: str, rating: Rating, comment: str
    ) -> FeedbackSaved:
        """Keep the user's rating and comment of a reply (no rating and no comment: clear it).

        Raises:
            ConversationNotFound: Not a conversation of this user.
            MessageNotFound: No assistant message with this id in it.
        """
        if not await self._crew.index.owns(user_id, conversation_id):
            raise ConversationNotFound
        transcript = await self._crew.runner.transcript(conversation_id)
        if not any(isinstance(m, AIMessage) and m.id == message_id for m in transcript):
            raise MessageNotFound("no assistant message with this id exists in this conversation")
        namespace = _namespace(user_id, conversation_id)
        if rating is None and not comment:
            await self._store.adelete(namespace, message_id)
        else:
            value = {
                "user_id": user_id,
                "conversation_id": conversation_id,
                "message_id": message_id,
                "rating": rating,
                "comment": comment or None,
                "at": now(),
            }
            await self._store.aput(namespace, message_id, value, index=False)
        FEEDBACK.labels(rating or "none").inc()
        return FeedbackSaved(conversation_id, message_id, rating, comment or None)

    async def restore(
        self,
        user_id: str,
        conversation_id: str,
        given: dict[str, tuple[Rating, str | None]],
    ) -> None:
        """Keep feedback an import carried: (rating, comment) by message id, all at once.

        The caller has just written those messages to a conversation of the user's.
        """
        if not given:
            return
        namespace = _namespace(user_id, conversation_id)
        at = now()
        await self._store.abatch(
            [
                PutOp(
                    namespace,
                    message_id,
                    {
                        "user_id": user_id,
                        "conversation_id": conversation_id,
                        "message_id": message_id,
                        "rating": rating,
                        "comment": comment,
                        "at": at,
                    },
                    index=False,
                )
                for message_id, (rating, comment) in given.items()
            ]
        )

    async def shown_on(
        self, user_id: str, conversation_id: str, items: Sequence[HistoryItem]
    ) -> list[HistoryItem]:
        """`items` with the feedback given on each assistant message among them."""
        namespace = _namespace(user_id, conversation_id)
        rated = [item for item in items if item.role == "assistant"]
        if not rated:
            return list(items)
        found = await self._store.abatch([GetOp(namespace, i.message_id) for i in rated])
        given = {
            item.key: FeedbackItem(item.value.get("rating"), item.value.get("comment"))
            for item in found
            if isinstance(item, Item)
        }
        return [
            msgspec.structs.replace(i, feedback=given[i.message_id]) if i.message_id in given else i
            for i in items
        ]

    async def forget(self, user_id: str, conversation_id: str) -> None:
        """Delete the feedback on one conversation (it is being deleted)."""
        await self._delete_under(_namespace(user_id, conversation_id))

    async def erase(self, user_id: str) -> int:
        """Delete every feedback of `user_id`; returns how many there were."""
        return await self._delete_under((_ROOT, user_label(user_id)))

    async def _delete_under(self, prefix: tuple[str, ...]) -> int:
        deleted = 0
        while found := await self._store.asearch(prefix, limit=_AT_ONCE):
            await self._store.abatch([PutOp(item.namespace, item.key, None) for item in found])
            deleted += len(found)
        return deleted

    async def export(
        self, since: datetime, cursor: str | None, limit: int
    ) -> tuple[list[FeedbackRecord], str | None]:
        """Every user's feedback changed at or after `since`, oldest first, a page at a time.

        Raises:
            InvalidPageCursor: `cursor` was not issued here.
        """
        rows, after = await page_of_items(self._pool, _ROOT, since, cursor, limit)
        records = [
            FeedbackRecord(
                user_id=row.value["user_id"],
                conversation_id=row.value["conversation_id"],
                message_id=row.key,
                rating=row.value.get("rating"),
                comment=row.value.get("comment"),
                updated_at=row.updated_at,
            )
            for row in rows
        ]
        return records, after
