"""Standard interrupts: a graph of one's own that calls LangGraph's `interrupt` asks the user
(`interrupt`), is answered (`respond`), shows what waits in history, survives a restart,
and can always be unstuck (`cancel_interrupt`)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.interrupt_graphs import FORM, QUESTION
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _graph(settings: Settings, name: str) -> Settings:
    return msgspec.structs.replace(settings, graph=f"tests.interrupt_graphs:{name}")


async def _asked(chat: ChatClient, text: str = "transfer $5 to bob") -> list[Frame]:
    await chat.send(message=text)
    frames = await chat.until_any("interrupt", "message", "error")
    assert [f["type"] for f in frames] == ["ack", "interrupt"], frames
    return frames


async def _pending(chat: ChatClient, conversation_id: str) -> list[Frame]:
    await chat.send(type="history", conversation_id=conversation_id)
    history = await chat.receive()
    assert history["type"] == "history", history
    pending: list[Frame] = history["pending_interrupts"]
    return pending


async def _respond(chat: ChatClient, conversation_id: str, interrupt_id: str, value: Any) -> Frame:
    await chat.send(
        type="respond", conversation_id=conversation_id, interrupt_id=interrupt_id, value=value
    )
    frames = await chat.until_any("message", "error")
    return frames[-1]


async def test_a_string_question_reaches_the_client_and_its_answer_the_graph(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(_graph(settings, "ask_string")) as address,
        connect(address, "alice") as chat,
    ):
        ack, asked = await _asked(chat)
        conversation_id = ack["conversation_id"]
        interrupt_id = asked["interrupt_id"]
        assert asked == {
            "type": "interrupt",
            "conversation_id": conversation_id,
            "interrupt_id": interrupt_id,
            "value": QUESTION,
            "seq": asked["seq"],
        }
        assert isinstance(interrupt_id, str)
        assert interrupt_id
        assert fake_groq.requests == []  # paused before the model was asked
        pending = await _pending(chat, conversation_id)
        assert pending == [{k: v for k, v in asked.items() if k != "seq"}]

        reply = await _respond(chat, conversation_id, interrupt_id, "yes, go ahead")
        assert reply["content"] == 'Reply 1: The user answered: "yes, go ahead"'
        assert await _pending(chat, conversation_id) == []
        after = await chat.turn("thanks", conversation_id)
        assert after.reply["content"] == "Reply 2: thanks"
        history = await chat.history(conversation_id)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]


async def test_a_dict_question_waits_across_a_restart_and_takes_any_json_answer(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    asking = _graph(settings, "ask_dict")
    async with serve_threadline(asking) as address, connect(address, "alice") as chat:
        ack, asked = await _asked(chat)
    assert asked["value"] == FORM
    conversation_id = ack["conversation_id"]
    async with serve_threadline(asking) as address, connect(address, "alice") as chat:
        pending = await _pending(chat, conversation_id)
        assert pending == [
            {
                "type": "interrupt",
                "conversation_id": conversation_id,
                "interrupt_id": asked["interrupt_id"],
                "value": FORM,
            }
        ]
        answer = {"amount": 10, "note": ["twice", None, 1.5]}
        reply = await _respond(chat, conversation_id, asked["interrupt_id"], answer)
    expected = '{"amount": 10, "note": ["twice", null, 1.5]}'
    assert reply["content"] == f"Reply 1: The user answered: {expected}"


async def test_two_questions_at_once_are_answered_each_by_its_id(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(_graph(settings, "ask_twice")) as address,
        connect(address, "alice") as chat,
    ):
        await chat.send(message="transfer something")
        frames = await chat.until("interrupt")
        frames += await chat.until("interrupt")
        assert [f["type"] for f in frames] == ["ack", "interrupt", "interrupt"]
        conversation_id = frames[0]["conversation_id"]
        asked = {f["value"]: f["interrupt_id"] for f in frames[1:]}
        assert sorted(asked) == ["Which account?", "Which amount?"]
        assert [f["interrupt_id"] for f in await _pending(chat, conversation_id)] == [
            f["interrupt_id"] for f in frames[1:]
        ]
        # One answer: that branch goes on, the other still asks (under the same id).
        await chat.send(
            type="respond",
            conversation_id=conversation_id,
            interrupt_id=asked["Which amount?"],
            value=5,
        )
        still = await chat.until_any("interrupt", "message", "error")
        assert [f["type"] for f in still] == ["interrupt"], still
        assert still[0]["interrupt_id"] == asked["Which account?"]
        assert [f["value"] for f in await _pending(chat, conversation_id)] == ["Which account?"]
        reply = await _respond(chat, conversation_id, asked["Which account?"], "savings")
    assert reply["content"] == 'Reply 1: The user answered account: "savings" and amount: 5'


async def test_a_message_while_a_question_waits_is_told_which_and_a_cancel_unsticks_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    asking = _graph(settings, "ask_string")
    async with serve_threadline(asking) as address, connect(address, "alice") as chat:
        ack, asked = await _asked(chat)
        conversation_id, interrupt_id = ack["conversation_id"], asked["interrupt_id"]
        refused = await chat.error(message="never mind", conversation_id=conversation_id)
        assert (refused["code"], refused["interrupt_id"]) == ("approval_pending", interrupt_id)
        assert refused["retryable"] is False
        again = await chat.error(type="regenerate", conversation_id=conversation_id)
        assert (again["code"], again["interrupt_id"]) == ("approval_pending", interrupt_id)
        wrong = await chat.error(
            type="respond", conversation_id=conversation_id, interrupt_id="nope", value=1
        )
        assert wrong["code"] == "nothing_to_approve"
        async with connect(address, "mallory") as mallory:
            foreign = await mallory.error(type="cancel_interrupt", conversation_id=conversation_id)
            assert foreign["code"] == "conversation_not_found"
    # Still waiting after a restart; cancelled, the run ends as stopped.
    async with serve_threadline(asking) as address, connect(address, "alice") as chat:
        wrong = await chat.error(
            type="cancel_interrupt", conversation_id=conversation_id, interrupt_id="nope"
        )
        assert wrong["code"] == "nothing_to_approve"
        await chat.send(
            type="cancel_interrupt", conversation_id=conversation_id, interrupt_id=interrupt_id
        )
        stopped = (await chat.until_any("message", "error"))[-1]
        assert (stopped["type"], stopped["stopped"]) == ("message", True), stopped
        assert await _pending(chat, conversation_id) == []
        nothing = await chat.error(type="cancel_interrupt", conversation_id=conversation_id)
        assert nothing["code"] == "nothing_to_approve"
        # Sent without an id, the detail speaks of no id.
        assert nothing["detail"] == "nothing of this conversation waits for an answer", nothing
        after = await chat.turn("hello again", conversation_id)
        assert after.reply["content"] == "Reply 1: hello again"
        history = await chat.history(conversation_id)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[1]["stopped"] is True


async def test_a_cancelled_tool_approval_leaves_a_valid_thread_the_next_message_builds_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, connect(address, "alice") as chat:
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        await chat.send(message="what is 6 * 7?")
        ack, call, waiting = await chat.until("approval_required")
        assert waiting["interrupt_id"]
        conversation_id = ack["conversation_id"]
        await chat.send(type="cancel_interrupt", conversation_id=conversation_id)
        stopped = (await chat.until_any("message", "error"))[-1]
        assert (stopped["type"], stopped["stopped"]) == ("message", True), stopped
        after = await chat.turn("never mind", conversation_id)
        history = await chat.history(conversation_id)
    assert after.reply["content"] == "Reply 2: never mind"
    # The model was sent the call with a result, never a call without one.
    assert "tool: stopped by the user before it finished" in fake_groq.user_turns()
    roles = ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [m["role"] for m in history] == roles
    assert (history[2]["tool_call_id"], history[2]["is_error"]) == (call["tool_call_id"], True)
    assert history[3]["stopped"] is True
