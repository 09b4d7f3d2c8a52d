"""Turn control: stop, queueing, regenerate, history, resends and disconnects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import anyio
import msgspec
import psycopg
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(60))


def _roles(history: list[Frame]) -> list[str]:
    return [f"{m['role']}: {m['content']}" for m in history]


@pytest.mark.parametrize("earlier", [[], ["hi"]], ids=["first turn", "later turn"])
async def test_stop_keeps_the_partial_reply_and_the_conversation_continues(
    settings: Settings, fake_groq: FakeGroq, earlier: list[str]
) -> None:
    fake_groq.faults.append(Fault(token_delay=0.05, only_for=LONG))
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = None
        seen: list[str] = []
        for text in earlier:
            turn = await chat.turn(text, conversation_id)
            conversation_id = turn.ack["conversation_id"]
            seen += [f"user: {text}", f"assistant: {turn.reply['content']}"]
        await chat.send(message=LONG, **({"conversation_id": conversation_id} if earlier else {}))
        ack = await chat.receive()
        conversation_id = ack["conversation_id"]
        first_token = await chat.receive()
        await chat.send(type="stop", conversation_id=conversation_id)
        frames = [first_token, *await chat.until("message")]
        follow_up = await chat.turn("go on", conversation_id)
        history = await chat.history(conversation_id)

    stopped = frames[-1]
    partial = "".join(f["delta"] for f in frames if f["type"] == "token")
    assert stopped["stopped"] is True
    assert stopped["content"] == partial
    assert 0 < len(partial) < len(f"Reply 1: {LONG}")
    assert stopped["message_id"] == first_token["message_id"]
    assert follow_up.reply["stopped"] is False
    # The model sees the stopped turn's message and the partial reply as the assistant's turn.
    assert fake_groq.user_turns()[1:] == [
        *seen,
        f"user: {LONG}",
        f"assistant: {partial}",
        "user: go on",
    ]
    assert [(m["role"], m.get("stopped", False)) for m in history[len(seen) :]] == [
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", False),
    ]


async def test_a_stop_from_another_socket_of_the_user_also_gets_the_stopped_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as phone:
            conversation_id = (await phone.turn("hi")).ack["conversation_id"]
        fake_groq.faults.append(Fault(token_delay=0.05))
        async with connect(address, "alice") as phone, connect(address, "alice") as laptop:
            await phone.send(message=LONG, conversation_id=conversation_id)
            await phone.until("token")
            await laptop.send(type="stop", conversation_id=conversation_id)
            seen_by_laptop = await laptop.until("message")
            seen_by_phone = await phone.until("message")

    assert seen_by_laptop[-1] == seen_by_phone[-1]
    assert seen_by_laptop[-1]["stopped"] is True
    assert seen_by_laptop[0]["type"] == "ack"  # caught up from the start of the turn


async def test_stop_with_nothing_running_is_an_error(settings: Settings) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        error = await chat.error(type="stop", conversation_id=conversation_id)
        await chat.turn("still fine", conversation_id)

    assert error["code"] == "nothing_to_stop"
    assert error["conversation_id"] == conversation_id
    assert error["retryable"] is False


async def test_back_to_back_messages_are_queued_and_answered_in_order(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.02)
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("first")).ack["conversation_id"]
        await chat.send(message="second", conversation_id=conversation_id)
        await chat.send(message="third", conversation_id=conversation_id)
        frames = await chat.until("message")
        frames += await chat.until("message")
        history = await chat.history(conversation_id)

    queued = [f for f in frames if f["type"] == "queued"]
    replies = [f["content"] for f in frames if f["type"] == "message"]
    assert len(queued) == 1
    assert queued[0]["position"] == 1
    assert replies == ["Reply 2: second", "Reply 3: third"]
    assert _roles(history) == [
        "user: first",
        "assistant: Reply 1: first",
        "user: second",
        "assistant: Reply 2: second",
        "user: third",
        "assistant: Reply 3: third",
    ]
    # The queued turn's ack names the message id the queued frame announced.
    acks = [f for f in frames if f["type"] == "ack"]
    assert queued[0]["message_id"] in {a["message_id"] for a in acks}


async def test_the_reject_policy_refuses_a_message_while_a_turn_runs(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    rejecting = msgspec.structs.replace(settings, busy_policy="reject")
    fake_groq.faults.append(Fault(token_delay=0.05))
    async with serve_threadline(rejecting) as address, connect(address, "alice") as chat:
        await chat.send(message=LONG)
        conversation_id = (await chat.receive())["conversation_id"]
        await chat.send(message="me too", conversation_id=conversation_id)
        frames = await chat.until("message")
        history = await chat.history(conversation_id)

    errors = [f for f in frames if f["type"] == "error"]
    assert errors == [
        {
            "type": "error",
            "code": "conversation_busy",
            "detail": "this conversation is still answering an earlier message",
            "retryable": True,
            "conversation_id": conversation_id,
        }
    ]
    assert [m["role"] for m in history] == ["user", "assistant"]


async def test_a_message_sent_the_moment_a_reply_arrives_is_never_busy(
    settings: Settings,
) -> None:
    rejecting = msgspec.structs.replace(settings, busy_policy="reject")
    async with serve_threadline(rejecting) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("0")).ack["conversation_id"]
        turns = [await chat.turn(str(n), conversation_id) for n in range(1, 15)]

    assert [t.reply["content"] for t in turns] == [f"Reply {n + 1}: {n}" for n in range(1, 15)]


async def test_different_conversations_of_one_user_run_in_parallel(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as chat:
            one = (await chat.turn("one")).ack["conversation_id"]
            two = (await chat.turn("two")).ack["conversation_id"]
        async with connect(address, "alice") as slow, connect(address, "alice") as fast:
            fake_groq.faults.append(Fault(delay=3, only_for="slow"))
            await slow.send(message="slow", conversation_id=one)
            await slow.receive()  # ack: the slow turn holds its conversation
            fast_turn = await fast.turn("fast", two)
            with anyio.move_on_after(0.2):
                # The slow reply is still seconds away, so nothing else may have arrived.
                pending = await slow.receive()
                pytest.fail(f"the slow turn finished first: {pending}")
            slow_reply = (await slow.until("message"))[-1]

    assert fast_turn.reply["content"].endswith(": fast")
    assert slow_reply["content"].endswith(": slow")


async def test_regenerate_replaces_a_stopped_reply_instead_of_stacking(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.append(Fault(token_delay=0.05))
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        await chat.send(message=LONG)
        conversation_id = (await chat.receive())["conversation_id"]
        await chat.receive()  # a first token
        await chat.send(type="stop", conversation_id=conversation_id)
        await chat.until("message")
        await chat.send(type="regenerate", conversation_id=conversation_id)
        regenerated = await chat.collect()
        history = await chat.history(conversation_id)

    assert regenerated.reply["content"] == f"Reply 2: {LONG}"
    assert regenerated.streamed == regenerated.reply["content"]
    assert _roles(history) == [f"user: {LONG}", f"assistant: Reply 2: {LONG}"]
    assert fake_groq.user_turns()[1:] == [f"user: {LONG}"]


async def test_regenerate_answers_the_last_message_again(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        await chat.send(type="regenerate", conversation_id=conversation_id)
        again = await chat.collect()
        history = await chat.history(conversation_id)

    assert again.reply["content"] == "Reply 2: hello"
    assert _roles(history) == ["user: hello", "assistant: Reply 2: hello"]
    assert fake_groq.user_turns()[1:] == ["user: hello"]


async def test_regenerate_with_no_message_to_answer_is_an_error(
    settings: Settings, database_url: str
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        # A new conversation whose first message could not be stored stays empty.
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("ALTER TABLE checkpoints RENAME TO checkpoints_away")
            failed = await chat.error(message="lost in transit")
            await conn.execute("ALTER TABLE checkpoints_away RENAME TO checkpoints")
        error = await chat.error(type="regenerate", conversation_id=failed["conversation_id"])

    assert error["code"] == "nothing_to_regenerate"
    assert error["conversation_id"] == failed["conversation_id"]


async def test_history_after_a_message_id_returns_only_what_followed(settings: Settings) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        first = await chat.turn("one", None)
        conversation_id = first.ack["conversation_id"]
        await chat.send(message="two", conversation_id=conversation_id, client_message_id="c2")
        second = await chat.collect()
        everything = await chat.history(conversation_id)
        after_first_reply = await chat.history(conversation_id, after=first.reply["message_id"])
        after_last = await chat.history(conversation_id, after=second.reply["message_id"])
        bad = await chat.error(
            type="history", conversation_id=conversation_id, after_message_id="nope"
        )

    stamps = [datetime.fromisoformat(m.pop("created_at")) for m in everything]
    assert stamps == sorted(stamps)
    for message in after_first_reply:
        message.pop("created_at")
    assert everything[0] == {
        "message_id": first.ack["message_id"],
        "role": "user",
        "content": "one",
    }
    assert everything[1]["model"] == "openai/gpt-oss-20b"
    assert after_first_reply == [
        {
            "message_id": second.ack["message_id"],
            "role": "user",
            "content": "two",
            "client_message_id": "c2",
        },
        {
            "message_id": second.reply["message_id"],
            "role": "assistant",
            "content": "Reply 2: two",
            "model": "openai/gpt-oss-20b",
        },
    ]
    assert after_last == []
    assert bad["code"] == "invalid_frame"


async def test_history_comes_in_pages_both_ways(settings: Settings) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("m0")).ack["conversation_id"]
        for n in range(1, 5):
            await chat.turn(f"m{n}", conversation_id)
        frame = {"type": "history", "conversation_id": conversation_id, "limit": 4}
        await chat.send(**frame)
        pages: list[Frame] = [await chat.receive()]
        while pages[-1]["next_before"] and len(pages) < 5:
            await chat.send(**frame, before_message_id=pages[-1]["next_before"])
            pages.append(await chat.receive())
        await chat.send(**frame, after_message_id=pages[-1]["messages"][-1]["message_id"])
        forward = await chat.receive()
        both = await chat.error(**frame, after_message_id="a", before_message_id="b")
        too_many = await chat.error(type="history", conversation_id=conversation_id, limit=501)

    said = [m["content"] for page in reversed(pages) for m in page["messages"]]
    assert said[::2] == [f"m{n}" for n in range(5)]
    assert [len(p["messages"]) for p in pages] == [4, 4, 2]
    assert pages[-1]["next_before"] is None
    assert [m["content"] for m in forward["messages"]] == said[2:6]
    assert forward["next_after"] == forward["messages"][-1]["message_id"]
    assert both["code"] == too_many["code"] == "invalid_frame"
    assert "not both" in both["detail"]


async def test_another_user_cannot_stop_regenerate_or_read_a_conversation(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as alice:
            conversation_id = (await alice.turn("private")).ack["conversation_id"]
        async with connect(address, "mallory") as mallory:
            errors = [
                await mallory.error(type=kind, conversation_id=conversation_id)
                for kind in ("stop", "regenerate", "history", "subscribe", "unsubscribe", "resume")
            ]

    assert {e["code"] for e in errors} == {"conversation_not_found"}


async def test_a_resent_client_message_id_never_runs_a_second_turn(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        first = await chat.turn("hi")
        conversation_id = first.ack["conversation_id"]
        await chat.send(message="once", conversation_id=conversation_id, client_message_id="m-1")
        original = await chat.collect()
        await chat.send(message="once", conversation_id=conversation_id, client_message_id="m-1")
        resent = await chat.collect()
        history = await chat.history(conversation_id)

    assert resent.ack == original.ack
    # The same reply, read from storage rather than streamed: whole, so without `seq`.
    assert original.reply["seq"] == len(original.tokens) + 1
    assert resent.reply == {k: v for k, v in original.reply.items() if k != "seq"}
    assert resent.tokens == []  # the stored reply comes whole
    assert len(fake_groq.requests) == 2
    assert [m["content"] for m in history].count("once") == 1


async def test_a_resend_while_the_turn_runs_attaches_to_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.02)
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as chat:
            conversation_id = (await chat.turn("hi")).ack["conversation_id"]
        async with connect(address, "alice") as flaky, connect(address, "alice") as retry:
            frame = {"message": LONG, "conversation_id": conversation_id, "client_message_id": "x"}
            await flaky.send(**frame)
            await flaky.receive()  # ack
            await flaky.receive()  # a token: the turn is running
            await retry.send(**frame)
            attached = await retry.collect()
            original = await flaky.until("message")

    assert attached.reply == original[-1]
    assert attached.streamed == attached.reply["content"]  # caught up, then live, no gaps
    assert len(fake_groq.requests) == 2


async def test_a_disconnect_mid_reply_still_completes_and_history_has_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.append(Fault(token_delay=0.02))
    async with serve_threadline(settings) as address:
        async with connect(address, "alice") as chat:
            await chat.send(message=LONG)
            conversation_id = (await chat.receive())["conversation_id"]
            await chat.receive()  # a token, then the client vanishes
        async with connect(address, "alice") as chat:
            history = await _history_when(chat, conversation_id, lambda h: len(h) == 2)

    assert _roles(history) == [f"user: {LONG}", f"assistant: Reply 1: {LONG}"]


async def test_cancel_on_disconnect_keeps_what_was_streamed_as_stopped(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    cancelling = msgspec.structs.replace(settings, on_disconnect="cancel")
    fake_groq.faults.append(Fault(token_delay=0.05))
    async with serve_threadline(cancelling) as address:
        async with connect(address, "alice") as chat:
            await chat.send(message=LONG)
            conversation_id = (await chat.receive())["conversation_id"]
            await chat.receive()
        async with connect(address, "alice") as chat:
            history = await _history_when(chat, conversation_id, lambda h: len(h) == 2)

    assert history[1]["stopped"] is True
    assert len(history[1]["content"]) < len(f"Reply 1: {LONG}")


async def _history_when(
    chat: ChatClient, conversation_id: str, ready: Callable[[list[Frame]], bool]
) -> list[Frame]:
    """Poll history (bounded) until `ready(history)` holds; returns the last history."""
    history: list[Frame] = []
    with anyio.fail_after(10):
        while not ready(history := await chat.history(conversation_id)):  # noqa: ASYNC110 - polls a server
            await anyio.sleep(0.05)
    return history


async def test_cancel_on_disconnect_never_stops_another_sockets_reply(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    cancelling = msgspec.structs.replace(settings, on_disconnect="cancel")
    async with serve_threadline(cancelling) as address, connect(address, "alice") as laptop:
        conversation_id = (await laptop.turn("hi")).ack["conversation_id"]
        fake_groq.faults.append(Fault(token_delay=0.02, only_for=LONG))
        await laptop.send(message=LONG, conversation_id=conversation_id)
        await laptop.until("token")
        async with connect(address, "alice") as phone:
            await phone.send(message="from the phone", conversation_id=conversation_id)
            await phone.until("queued")
        # The phone left with a message waiting: that message is dropped, never answered,
        # and the laptop's reply goes on.
        frames = await laptop.until("message", within=20)
        history = await _history_when(laptop, conversation_id, lambda h: len(h) == 4)

    assert frames[-1]["stopped"] is False
    assert frames[-1]["content"] == f"Reply 2: {LONG}"
    assert _roles(history)[2:] == [f"user: {LONG}", f"assistant: Reply 2: {LONG}"]
    assert len(fake_groq.requests) == 2


async def test_a_client_message_id_reused_for_other_text_is_refused(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id = (await chat.turn("hi")).ack["conversation_id"]
        await chat.send(message="first", conversation_id=conversation_id, client_message_id="c-1")
        await chat.collect()
        await chat.send(message="other", conversation_id=conversation_id, client_message_id="c-1")
        conflict = await chat.until("error")
        history = await chat.history(conversation_id)

    assert [f["type"] for f in conflict] == ["error"]
    assert conflict[-1]["code"] == "invalid_frame"
    assert "client_message_id 'c-1' was already used" in conflict[-1]["detail"]
    assert [m["content"] for m in history if m["role"] == "user"] == ["hi", "first"]
    assert len(fake_groq.requests) == 2
