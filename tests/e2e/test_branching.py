"""Edit and branch over real sockets: a conversation is a tree of checkpoints."""

from __future__ import annotations

import msgspec
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import ChatClient, Frame, connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _said(history: list[Frame]) -> list[str]:
    return [f"{m['role']}: {m['content']}" for m in history]


def _branch(history: list[Frame], content: str) -> Frame | None:
    found: Frame | None = next(m for m in history if m["content"] == content).get("branch")
    return found


async def _conversation(chat: ChatClient, *texts: str) -> tuple[str, list[Frame]]:
    first = await chat.turn(texts[0])
    conversation_id: str = first.ack["conversation_id"]
    for text in texts[1:]:
        await chat.turn(text, conversation_id)
    return conversation_id, await chat.history(conversation_id)


async def test_an_edit_answers_the_new_message_on_a_branch_and_keeps_the_old_one(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id, before = await _conversation(chat, "one", "two", "three")
        two = next(m for m in before if m["content"] == "two")
        await chat.send(
            type="edit",
            conversation_id=conversation_id,
            message_id=two["message_id"],
            message="TWO",
        )
        edited = await chat.collect()
        after = await chat.history(conversation_id)
        then = await chat.turn("four", conversation_id)

    assert edited.ack["conversation_id"] == conversation_id
    assert edited.ack["message_id"] not in {m["message_id"] for m in before}
    assert edited.reply["content"] == "Reply 4: TWO"
    assert edited.streamed == edited.reply["content"]
    # The model saw the path up to the edited message, not the branch it replaced.
    assert fake_groq.user_turns(-2)[1:] == ["user: one", "assistant: Reply 1: one", "user: TWO"]
    assert _said(after) == [
        "user: one",
        "assistant: Reply 1: one",
        "user: TWO",
        "assistant: Reply 4: TWO",
    ]
    assert _branch(after, "TWO") == {
        "index": 1,
        "count": 2,
        "sibling_ids": [two["message_id"], edited.ack["message_id"]],
    }
    assert _branch(after, "one") is None
    assert _branch(after, "Reply 4: TWO") is None
    assert then.reply["content"] == "Reply 5: four"
    assert fake_groq.user_turns()[1:] == [
        "user: one",
        "assistant: Reply 1: one",
        "user: TWO",
        "assistant: Reply 4: TWO",
        "user: four",
    ]


@pytest.mark.parametrize("earlier", [[], ["zero"]], ids=["first message", "later message"])
async def test_regenerate_keeps_the_earlier_reply_as_a_sibling(
    settings: Settings, fake_groq: FakeGroq, earlier: list[str]
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id, before = await _conversation(chat, *earlier, "question")
        await chat.send(type="regenerate", conversation_id=conversation_id)
        again = await chat.collect()
        after = await chat.history(conversation_id)

    first_reply = before[-1]
    n = len(earlier) + 2
    assert again.reply["content"] == f"Reply {n}: question"
    assert _said(after)[-2:] == ["user: question", f"assistant: Reply {n}: question"]
    assert after[-2]["message_id"] == before[-2]["message_id"]  # the same question
    assert after[-1]["branch"] == {
        "index": 1,
        "count": 2,
        "sibling_ids": [first_reply["message_id"], again.reply["message_id"]],
    }
    assert all("branch" not in m for m in after[:-1])


async def test_switch_branch_makes_a_sibling_current_and_the_next_turn_goes_on_from_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id, before = await _conversation(
            chat, "hello", "old question", "old follow-up"
        )
        old = before[2]
        await chat.send(
            type="edit",
            conversation_id=conversation_id,
            message_id=old["message_id"],
            message="new question",
        )
        edited = await chat.collect()
        await chat.send(
            type="switch_branch", conversation_id=conversation_id, message_id=old["message_id"]
        )
        switched = await chat.receive()
        then = await chat.turn("more", conversation_id)
        back = await chat.history(conversation_id)
        await chat.send(
            type="switch_branch",
            conversation_id=conversation_id,
            message_id=edited.ack["message_id"],
        )
        other = await chat.receive()

    assert switched["type"] == "history"
    assert _said(switched["messages"]) == _said(before)
    assert switched["messages"][2]["branch"]["index"] == 0
    # The old branch went on from its own latest checkpoint.
    assert fake_groq.user_turns()[1:] == [*_said(before), "user: more"]
    assert _said(back) == [*_said(before), "user: more", f"assistant: {then.reply['content']}"]
    assert _said(other["messages"]) == [
        "user: hello",
        "assistant: Reply 1: hello",
        "user: new question",
        f"assistant: {edited.reply['content']}",
    ]
    assert other["messages"][2]["branch"] == {
        "index": 1,
        "count": 2,
        "sibling_ids": [old["message_id"], edited.ack["message_id"]],
    }


async def test_editing_the_first_message_branches_the_whole_conversation(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id, before = await _conversation(chat, "first", "second")
        await chat.send(
            type="edit",
            conversation_id=conversation_id,
            message_id=before[0]["message_id"],
            message="FIRST",
        )
        edited = await chat.collect()
        after = await chat.history(conversation_id)

    assert fake_groq.user_turns()[1:] == ["user: FIRST"]
    assert _said(after) == ["user: FIRST", f"assistant: {edited.reply['content']}"]
    assert after[0]["branch"]["sibling_ids"] == [before[0]["message_id"], edited.ack["message_id"]]


async def test_only_a_user_message_of_ones_own_current_path_can_be_edited(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        conversation_id, before = await _conversation(chat, "mine", "also mine")
        reply_id = before[1]["message_id"]
        await chat.send(
            type="edit",
            conversation_id=conversation_id,
            message_id=before[2]["message_id"],
            message="edited",
        )
        await chat.collect()
        errors = [
            await chat.error(
                type="edit", conversation_id=conversation_id, message_id=reply_id, message="x"
            ),
            await chat.error(
                type="edit", conversation_id=conversation_id, message_id="nope", message="x"
            ),
            # "also mine" is on the other branch now: switch to it first.
            await chat.error(
                type="edit",
                conversation_id=conversation_id,
                message_id=before[2]["message_id"],
                message="x",
            ),
            await chat.error(
                type="switch_branch", conversation_id=conversation_id, message_id="nope"
            ),
        ]
        empty = await chat.error(
            type="edit",
            conversation_id=conversation_id,
            message_id=before[0]["message_id"],
            message=" ",
        )
        async with connect(address, "mallory") as mallory:
            theirs = await mallory.error(
                type="edit",
                conversation_id=conversation_id,
                message_id=before[0]["message_id"],
                message="x",
            )
            switch = await mallory.error(
                type="switch_branch",
                conversation_id=conversation_id,
                message_id=before[2]["message_id"],
            )
        requests = len(fake_groq.requests)
        after = await chat.history(conversation_id)

    assert [e["code"] for e in errors] == ["message_not_found"] * 4
    assert empty["code"] == "invalid_frame"
    assert (theirs["code"], switch["code"]) == ("conversation_not_found", "conversation_not_found")
    assert requests == 3  # nothing refused reached the model
    assert _said(after)[2] == "user: edited"


async def test_an_edit_and_a_switch_on_one_server_are_the_path_the_other_goes_on(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as first,
        serve_threadline(settings) as second,
        connect(first, "alice") as on_first,
        connect(second, "alice") as on_second,
    ):
        conversation_id, before = await _conversation(on_first, "one", "two")
        two = before[2]["message_id"]
        await on_second.send(
            type="edit", conversation_id=conversation_id, message_id=two, message="TWO"
        )
        await on_second.collect()
        await on_first.turn("three", conversation_id)
        saw_edit = fake_groq.user_turns()[1:]
        await on_second.send(type="switch_branch", conversation_id=conversation_id, message_id=two)
        await on_second.receive()
        await on_first.turn("four", conversation_id)
        saw_switch = fake_groq.user_turns()[1:]

    assert saw_edit == [
        "user: one",
        "assistant: Reply 1: one",
        "user: TWO",
        "assistant: Reply 3: TWO",
        "user: three",
    ]
    assert saw_switch == [
        "user: one",
        "assistant: Reply 1: one",
        "user: two",
        "assistant: Reply 2: two",
        "user: four",
    ]


async def test_a_message_left_unanswered_on_a_branch_is_still_there_when_switched_back_to(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.faults.append(Fault(status=400, only_for="two"))
    async with serve_threadline(settings) as address, connect(address, "alice") as chat:
        first = await chat.turn("one")
        conversation_id = first.ack["conversation_id"]
        await chat.send(message="two", conversation_id=conversation_id)
        failed = await chat.until("error")
        one = first.ack["message_id"]
        await chat.send(type="edit", conversation_id=conversation_id, message_id=one, message="ONE")
        await chat.collect()
        await chat.send(type="switch_branch", conversation_id=conversation_id, message_id=one)
        switched = await chat.receive()
        await chat.turn("three", conversation_id)

    assert failed[-1]["code"] == "llm_error"
    assert _said(switched["messages"]) == ["user: one", "assistant: Reply 1: one", "user: two"]
    assert fake_groq.user_turns()[1:] == [
        "user: one",
        "assistant: Reply 1: one",
        "user: two",
        "user: three",
    ]


async def test_while_a_call_waits_for_approval_nothing_branches_away_from_it(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, connect(address, "alice") as chat:
        first = await chat.turn("hello")
        conversation_id = first.ack["conversation_id"]
        await chat.send(type="regenerate", conversation_id=conversation_id)
        await chat.collect()  # "hello" now has two replies
        fake_groq.tool_calls.append([("calculator", {"expression": "2 + 2"})])
        await chat.send(message="what is 2 + 2?", conversation_id=conversation_id)
        await chat.until("approval_required")
        hello = first.ack["message_id"]
        refused = [
            await chat.error(
                type="edit", conversation_id=conversation_id, message_id=hello, message="hi"
            ),
            await chat.error(
                type="switch_branch",
                conversation_id=conversation_id,
                message_id=first.reply["message_id"],
            ),
        ]
        history = await chat.history(conversation_id)

    assert [e["code"] for e in refused] == ["approval_pending", "approval_pending"]
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
