"""Share links: a read-only snapshot of a conversation, served to anyone with its link.

A share names the conversation's latest checkpoint when it was made, and serves the
messages of that checkpoint only: what was said later is never in it. Shares live in
LangGraph's store, twice: under `("shares",)` by their unguessable id (what a reader's
link finds), and in the owner's `("users", <user>, "shares")` (what they list, revoke, and
what deleting the conversation or erasing the user deletes).
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

import msgspec
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.store.base import BaseStore, PutOp

from threadline.chat.errors import ConversationNotFound
from threadline.chat.turns.turn import TurnServices
from threadline.clock import now
from threadline.engine.messages import CREATED_AT
from threadline.errors import DomainError
from threadline.storage.namespaces import user_namespace

__all__ = (
    "MAX_SHARES_PER_USER",
    "NothingToShare",
    "Share",
    "ShareNotFound",
    "SharedConversation",
    "SharedMessage",
    "Shares",
    "SharingError",
    "TooManyShares",
)

MAX_SHARES_PER_USER = 100
_SHARED: tuple[str] = ("shares",)


class SharingError(DomainError):
    """A share that cannot be made or read as asked; `code` is stable."""


class ShareNotFound(SharingError):
    """No share with this id (never made, revoked, or its conversation deleted)."""

    code = "share_not_found"
    default_detail = "no share with this id exists"


class NothingToShare(SharingError):
    """The conversation has no message yet."""

    code = "nothing_to_share"
    default_detail = "this conversation has no message to share yet"


class TooManyShares(SharingError):
    """The user keeps as many shares as they may; revoke one first."""

    code = "too_many_shares"
    default_detail = f"at most {MAX_SHARES_PER_USER} shares per user: revoke one first"


class Share(msgspec.Struct, kw_only=True):
    """A share of the user's: its id, its conversation, and when it was taken."""

    share_id: str
    conversation_id: str
    created_at: str


class SharedMessage(msgspec.Struct, omit_defaults=True):
    """One message of a shared conversation."""

    role: Literal["user", "assistant"]
    content: str
    created_at: str | None = None


class SharedConversation(msgspec.Struct, kw_only=True):
    """What a share's reader sees: the title and messages as they were when it was made."""

    share_id: str
    title: str | None
    created_at: str
    messages: list[SharedMessage]


def _mine(user_id: str) -> tuple[str, str, str]:
    return user_namespace(user_id, "shares")


class Shares:
    """Making, reading and revoking shares; each made and revoked by its owner only."""

    def __init__(self, crew: TurnServices, store: BaseStore) -> None:
        """Read conversations through `crew`; keep shares in `store`."""
        self._crew = crew
        self._store = store

    async def create(self, user_id: str, conversation_id: str) -> Share:
        """Share the conversation as it stands now.

        Raises:
            ConversationNotFound: Not a conversation of this user.
            NothingToShare: It has no checkpoint yet.
            TooManyShares: The user keeps MAX_SHARES_PER_USER shares already.
        """
        summary = await self._crew.index.get(user_id, conversation_id)
        if summary is None:
            raise ConversationNotFound
        checkpoint_id = await self._crew.runner.latest_checkpoint(conversation_id)
        if checkpoint_id is None:
            raise NothingToShare
        kept = await self._store.asearch(_mine(user_id), limit=MAX_SHARES_PER_USER)
        if len(kept) >= MAX_SHARES_PER_USER:
            raise TooManyShares
        share = Share(
            share_id=secrets.token_urlsafe(24), conversation_id=conversation_id, created_at=now()
        )
        value: dict[str, Any] = {
            "user_id": user_id,
            "checkpoint_id": checkpoint_id,
            "title": summary.title,
            **msgspec.to_builtins(share),
        }
        await self._store.aput(_SHARED, share.share_id, value, index=False)
        await self._store.aput(_mine(user_id), share.share_id, value, index=False)
        return share

    async def of_conversation(self, user_id: str, conversation_id: str) -> list[Share]:
        """The conversation's shares that are not revoked, oldest first.

        Raises:
            ConversationNotFound: Not a conversation of this user.
        """
        if not await self._crew.index.owns(user_id, conversation_id):
            raise ConversationNotFound
        found = await self._store.asearch(
            _mine(user_id), filter={"conversation_id": conversation_id}, limit=MAX_SHARES_PER_USER
        )
        shares = [msgspec.convert(item.value, Share, strict=False) for item in found]
        return sorted(shares, key=lambda share: share.created_at)

    async def revoke(self, user_id: str, conversation_id: str, share_id: str) -> None:
        """Revoke a share: its link answers 404 from now on.

        Raises:
            ConversationNotFound: Not a conversation of this user.
            ShareNotFound: No share of this conversation with this id.
        """
        if not await self._crew.index.owns(user_id, conversation_id):
            raise ConversationNotFound
        item = await self._store.aget(_mine(user_id), share_id)
        if item is None or item.value.get("conversation_id") != conversation_id:
            raise ShareNotFound
        await self._delete(user_id, [share_id])

    async def read(self, share_id: str) -> SharedConversation:
        """The shared snapshot, for anyone holding its id.

        Raises:
            ShareNotFound: No such share, or its conversation is gone.
        """
        item = await self._store.aget(_SHARED, share_id)
        if item is None:
            raise ShareNotFound
        value = item.value
        conversation_id = value["conversation_id"]
        if not await self._crew.index.owns(value["user_id"], conversation_id):
            raise ShareNotFound
        runner = self._crew.runner
        messages = await runner.transcript_at(conversation_id, value["checkpoint_id"])
        return SharedConversation(
            share_id=share_id,
            title=value.get("title"),
            created_at=value["created_at"],
            messages=[shown for m in messages if (shown := _shared(m)) is not None],
        )

    async def forget(self, user_id: str, conversation_id: str) -> None:
        """Delete every share of one conversation (it is being deleted)."""
        while found := await self._store.asearch(
            _mine(user_id), filter={"conversation_id": conversation_id}, limit=MAX_SHARES_PER_USER
        ):
            await self._delete(user_id, [item.key for item in found])

    async def erase(self, user_id: str) -> int:
        """Delete every share of `user_id`; returns how many there were."""
        deleted = 0
        while found := await self._store.asearch(_mine(user_id), limit=MAX_SHARES_PER_USER):
            await self._delete(user_id, [item.key for item in found])
            deleted += len(found)
        return deleted

    async def _delete(self, user_id: str, share_ids: list[str]) -> None:
        ops = [PutOp(_SHARED, key, None) for key in share_ids]
        ops += [PutOp(_mine(user_id), key, None) for key in share_ids]
        await self._store.abatch(ops)


def _shared(message: Any) -> SharedMessage | None:
    """A user message or an answer as shown to a reader; tool steps are not shown."""
    if isinstance(message, HumanMessage):
        created = message.additional_kwargs.get(CREATED_AT)
        return SharedMessage("user", str(message.text), created)
    if isinstance(message, AIMessage) and not message.tool_calls and str(message.text):
        return SharedMessage(
            "assistant", str(message.text), message.response_metadata.get(CREATED_AT)
        )
    return None
