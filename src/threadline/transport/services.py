"""What request handlers need, built once at start-up and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from threadline.chat.langgraph_api.user_store import UserStore
from threadline.chat.service import ChatService
from threadline.chat.turns.limits import UserLimits
from threadline.identity.authenticator import Authenticator
from threadline.settings import Settings
from threadline.storage.database import Pool
from threadline.storage.seats import SocketSeats
from threadline.transport.outbox import SendBudget
from threadline.transport.protocol import FrameDecoder

if TYPE_CHECKING:
    from litestar.datastructures import State


__all__ = ("Services", "claim_conversation", "services_of")


@dataclass(frozen=True, slots=True)
class Services:
    """The app's long-lived parts, for the handlers."""

    settings: Settings
    decoder: FrameDecoder
    chat: ChatService
    pool: Pool
    identity: Authenticator
    limits: UserLimits
    # The bytes waiting to be written to all of this process's sockets.
    send_budget: SendBudget
    # The LangGraph API's store: each user's items in namespaces of their own.
    user_store: UserStore
    # Set when MAX_SOCKETS_PER_USER is.
    seats: SocketSeats | None = None


def services_of(state: State) -> Services:
    """The services the app put on its state at start-up."""
    services: Services = state.services
    return services


async def claim_conversation(chat: ChatService, user: str, conversation_id: str) -> None:
    """The user's conversation under the id a client chose: made if new, kept if theirs.

    For what makes a conversation before any turn (the LangGraph API's `if_not_exists`, a
    thread event stream opened before its first run); a first message makes its own when
    accepted (`send_message(create=True)`). Nothing is read back.

    Raises:
        ConversationExists: The id is another user's (ids are global, as LangGraph's).
    """
    threads = chat.threads
    assert threads is not None  # noqa: S101 - wired whenever the app is
    await threads.claim(user, conversation_id)
