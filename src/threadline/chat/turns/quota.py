"""A turn's share of its user's daily token quota: reserved before each model call.

A turn reserves when it is admitted (its message and a reply's worth of output), then,
through `QuotaMeter`, before each model call it makes: the call's input as estimated
(`engine.context.estimate_tokens`, tool definitions included) and its most output
(`max_tokens`). A reservation is one statement on the shared usage row, so turns starting
at once on several servers cannot together pass the quota. When the turn ends, however it
ends, it records what it really used and gives back the rest (`Stake.settle`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, SystemMessage

from threadline.chat.errors import QuotaExceeded
from threadline.engine.context import estimate_tokens
from threadline.engine.replies import Reply, tokens_of
from threadline.storage.buckets import RateBuckets
from threadline.storage.usage import UsageLedger, today

__all__ = ("QuotaMeter", "Stake", "given_back_unless_started", "seconds_to_midnight")


def seconds_to_midnight() -> float:
    """Seconds until the quota renews (midnight UTC), rounded up."""
    tomorrow = datetime.combine(today() + timedelta(days=1), datetime.min.time(), UTC)
    return math.ceil((tomorrow - datetime.now(UTC)).total_seconds())


class Stake:
    """What one turn has reserved of its user's day, and what it used."""

    def __init__(
        self, usage: UsageLedger, user_id: str, quota: int | None, reply_tokens: int
    ) -> None:
        self._usage = usage
        self.user_id = user_id
        self.quota = quota  # None: no quota, nothing is reserved
        self.reply_tokens = reply_tokens  # a reply's most output, for calls that name none
        self.day: date = today()
        self.reserved = 0
        self._needed = 0  # the reservations of the turn's model calls so far
        self._settled = False

    async def reserve(self, tokens: int) -> None:
        """Reserve `tokens` more for the turn (nothing without a quota).

        Raises:
            QuotaExceeded: They do not fit in what is left of the day's quota.
        """
        if self.quota is None:
            return
        if not await self._usage.reserve(self.user_id, self.day, tokens, self.quota):
            raise QuotaExceeded(retry_after=seconds_to_midnight())
        self.reserved += tokens

    async def reserve_taking(self, tokens: int, rate: RateBuckets) -> float:
        """Reserve `tokens` (under a quota), then take a rate token: one statement.

        Returns:
            0 if the rate token was taken, else the seconds until one is available (the
            tokens stay reserved: the caller settles the stake).

        Raises:
            QuotaExceeded: They do not fit; no rate token was taken.
        """
        if self.quota is None:
            return await rate.take(self.user_id)
        day, user, quota = self.day, self.user_id, self.quota
        reserved, taken = await self._usage.reserve_taking(user, day, tokens, quota, rate)
        if not reserved:
            raise QuotaExceeded(retry_after=seconds_to_midnight())
        self.reserved += tokens
        return 0.0 if taken else await rate.wait(self.user_id)

    async def draw(self, tokens: int) -> None:
        """Cover a model call of `tokens` at most: what the turn holds, then a new reservation.

        Raises:
            QuotaExceeded: The call does not fit in what is left of the day's quota.
        """
        self._needed += tokens
        if self._needed > self.reserved:
            await self.reserve(self._needed - self.reserved)

    def settle_turn(
        self, steps: Sequence[AnyMessage], reply: Reply | None, *, answered: bool
    ) -> None:
        """Settle with the model tokens of a turn's calls: its tool steps, then its reply.

        An answered turn (a reply, stopped or not, or a pause for an approval) counts a
        message too.
        """
        used = sum(tokens_of(m) for m in steps if isinstance(m, AIMessage))
        self.settle(used + (reply.tokens if reply is not None else 0), 1 if answered else 0)

    def meters(self, *, inline: bool = True) -> list[QuotaMeter]:
        """The callbacks a run of the turn is given: a meter under a quota, else none.

        Args:
            inline: Whether the meter may run inline (see `QuotaMeter`).
        """
        return [QuotaMeter(self, inline=inline)] if self.quota is not None else []

    def settle(self, used: int, messages: int) -> None:
        """Record what the turn used and give back the rest of its reservation (once)."""
        if self._settled:
            return
        self._settled = True
        if used != self.reserved or messages:
            self._usage.add(self.user_id, used - self.reserved, messages, day=self.day)


@contextmanager
def given_back_unless_started(stake: Stake | None) -> Iterator[None]:
    """Give the stake's reservation back if the block fails: its turn never started."""
    try:
        yield
    except BaseException:
        if stake is not None:
            stake.settle(0, 0)
        raise


def _tools_tokens(tools: Any) -> int:
    """The estimated tokens of the tool definitions a call offers."""
    return estimate_tokens([SystemMessage(msgspec.json.encode(tools).decode())]) if tools else 0


class QuotaMeter(AsyncCallbackHandler):
    """Draws on a turn's stake before each model call of its run, wherever it is made.

    A LangChain callback handed to the run, so every chat model call of the graph (the
    reply, a tool step, a summary, the router, and a graph of one's own) reaches it before
    its request is sent; a refusal is raised there, and the call is not made.
    """

    raise_error = True  # a refusal stops the call

    def __init__(self, stake: Stake, *, inline: bool = True) -> None:
        """A meter for one run.

        Args:
            stake: The turn's stake.
            inline: Run inline (awaited in turn, no task per event). Not when LangGraph's
                messages stream adds its handler after this one (a graph brought along):
                a refusal raised inline would leave that handler's call never awaited.
        """
        self._stake = stake
        self.run_inline = inline

    # Only the start of chat model calls: nothing per token, chain or tool.
    @property
    def ignore_llm(self) -> bool:  # noqa: D102 - LangChain's switch
        return True

    @property
    def ignore_chain(self) -> bool:  # noqa: D102 - LangChain's switch
        return True

    @property
    def ignore_agent(self) -> bool:  # noqa: D102 - LangChain's switch
        return True

    @property
    def ignore_retriever(self) -> bool:  # noqa: D102 - LangChain's switch
        return True

    @property
    def ignore_retry(self) -> bool:  # noqa: D102 - LangChain's switch
        return True

    @property
    def ignore_custom_event(self) -> bool:  # noqa: D102 - LangChain's switch
        return True

    async def on_chat_model_start(
        self,
        serialized: dict[str, Any],  # noqa: ARG002 - LangChain's signature
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,  # noqa: ARG002 - LangChain's signature
        **kwargs: Any,
    ) -> None:
        """Reserve the call's estimated input and its most output before it is sent."""
        params = kwargs.get("invocation_params") or {}
        output = params.get("max_tokens") or self._stake.reply_tokens
        sent = sum(estimate_tokens(prompt) for prompt in messages)
        await self._stake.draw(sent + _tools_tokens(params.get("tools")) + output)
