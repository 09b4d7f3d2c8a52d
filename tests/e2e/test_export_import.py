"""Export and import over real HTTP: JSON and Markdown out, Threadline's and ChatGPT's in."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _node(parent: str | None, role: str | None, text: str, children: list[str]) -> dict[str, Any]:
    message = None
    if role is not None:
        message = {
            "author": {"role": role},
            "content": {"content_type": "text", "parts": [text]},
            "create_time": 1_700_000_000.5,
            "recipient": "all",
        }
    return {"message": message, "parent": parent, "children": children}


# A ChatGPT export: a root, a system prompt, then a question answered twice (an edit made a
# second branch); `current_node` ends the path the user last saw.
CHATGPT = [
    {
        "title": "Tides",
        "current_node": "a2",
        "mapping": {
            "root": _node(None, None, "", ["sys"]),
            "sys": _node("root", "system", "You are ChatGPT.", ["q"]),
            "q": _node("sys", "user", "Why are there two tides a day?", ["a1", "a2"]),
            "a1": _node("q", "assistant", "An abandoned answer.", []),
            "a2": _node("q", "assistant", "Because of the Moon, on both sides.", []),
        },
    }
]


async def test_an_export_imports_back_and_a_chatgpt_export_becomes_a_conversation(
    settings: Settings,
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient() as http,
        connect(address, "ada") as chat,
    ):
        turn = await chat.turn("count to three")
        conversation_id = turn.ack["conversation_id"]
        base = f"http://{address}/users/ada/conversations"
        exported = await http.get(f"{base}/{conversation_id}/export")
        assert exported.status_code == 200, exported.text
        assert "attachment" in exported.headers["content-disposition"]
        document = exported.json()
        assert [(m["role"], m["content"]) for m in document["messages"]] == [
            ("user", "count to three"),
            ("assistant", turn.reply["content"]),
        ]
        markdown = await http.get(f"{base}/{conversation_id}/export", params={"format": "markdown"})
        assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
        assert "## User\n\ncount to three\n" in markdown.text
        assert f"## Assistant\n\n{turn.reply['content']}\n" in markdown.text

        again = await http.post(f"{base}/import", json=document)
        assert again.status_code == 201, again.text
        (copy,) = again.json()["conversations"]
        assert copy["conversation_id"] != conversation_id
        assert copy["message_count"] == 2

        chatgpt = await http.post(f"{base}/import", json=CHATGPT)
        assert chatgpt.status_code == 201, chatgpt.text
        (tides,) = chatgpt.json()["conversations"]
        assert tides["title"] == "Tides"
        detail = (await http.get(f"{base}/{tides['conversation_id']}")).json()
        assert [(m["role"], m["content"]) for m in detail["messages"]] == [
            ("user", "Why are there two tides a day?"),
            ("assistant", "Because of the Moon, on both sides."),
        ]
        listed = {c["conversation_id"] for c in (await http.get(base)).json()["items"]}
        assert {copy["conversation_id"], tides["conversation_id"]} <= listed

        # An imported conversation goes on like any other, over the socket.
        more = await chat.turn("and the Sun?", tides["conversation_id"])
        assert more.reply["content"]
        history = await chat.history(tides["conversation_id"])
        assert [m["content"] for m in history if m["role"] == "user"] == [
            "Why are there two tides a day?",
            "and the Sun?",
        ]


async def test_an_import_that_is_not_one_or_too_large_is_refused_and_makes_nothing(
    settings: Settings,
) -> None:
    small = msgspec.structs.replace(settings, import_max_bytes=4096)
    async with serve_threadline(small) as address, httpx.AsyncClient() as http:
        url = f"http://{address}/users/ada/conversations/import"
        other = await http.post(url, json={"something": "else"})
        assert (other.status_code, other.json()["code"]) == (400, "invalid_import")
        empty = await http.post(url, json={"messages": [{"role": "tool", "content": "x"}]})
        assert (empty.status_code, empty.json()["code"]) == (400, "invalid_import")
        many: list[dict[str, object]] = [{"mapping": {}, "current_node": None}] * 101
        assert (await http.post(url, json=many)).status_code == 413
        messages = [{"role": "user", "content": "hi"}] * 2001
        # Over the body bound first: the server never reads it whole.
        assert (await http.post(url, json={"messages": messages})).status_code == 413
        not_json = await http.post(url, content=b"{", headers={"Content-Type": "application/json"})
        assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_request")
        listed = await http.get(f"http://{address}/users/ada/conversations")
        assert listed.json()["items"] == []


async def test_an_import_refuses_a_created_at_that_is_no_time_and_an_unknown_version(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        base = f"http://{address}/users/ada/conversations"
        garbage = {"messages": [{"role": "user", "content": "hi", "created_at": "<b>garbage</b>"}]}
        refused = await http.post(f"{base}/import", json=garbage)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_import")
        assert "created_at" in refused.json()["detail"]
        later = {
            "format": "threadline",
            "version": 2,
            "messages": [{"role": "user", "content": "hi"}],
        }
        refused = await http.post(f"{base}/import", json=later)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_import")
        assert "version" in refused.json()["detail"]
        assert (await http.get(base)).json()["items"] == []

        when = "2024-01-02T03:04:05.678901+00:00"
        good = {"version": 1, "messages": [{"role": "user", "content": "hi", "created_at": when}]}
        made = await http.post(f"{base}/import", json=good)
        assert made.status_code == 201, made.text
        (copy,) = made.json()["conversations"]
        detail = (await http.get(f"{base}/{copy['conversation_id']}")).json()
        assert [m["created_at"] for m in detail["messages"]] == [when]


async def test_a_chatgpt_import_whose_parents_loop_takes_each_message_once(
    settings: Settings,
) -> None:
    looped = {
        "current_node": "a",
        "mapping": {
            "a": _node("b", "assistant", "x", ["b"]),
            "b": _node("a", "user", "y", ["a"]),
        },
    }
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        base = f"http://{address}/users/ada/conversations"
        made = await http.post(f"{base}/import", json=looped)
        assert made.status_code == 201, made.text
        (copy,) = made.json()["conversations"]
        detail = (await http.get(f"{base}/{copy['conversation_id']}")).json()
        assert [(m["role"], m["content"]) for m in detail["messages"]] == [
            ("user", "y"),
            ("assistant", "x"),
        ]


def _carried(document: dict[str, Any]) -> list[dict[str, Any]]:
    """An export's messages without what an import makes anew (ids, the branch)."""
    return [
        {k: v for k, v in m.items() if k not in {"message_id", "branch"}}
        for m in document["messages"]
    ]


async def test_an_export_imported_exports_the_same_messages(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient() as http,
        connect(address, "ada") as chat,
    ):
        await chat.send(message="What is 6 * 7?", client_message_id="c-1")
        frames = await chat.until("message")
        conversation_id = frames[0]["conversation_id"]
        await chat.turn("thanks", conversation_id)
        base = f"http://{address}/users/ada/conversations"
        document = (await http.get(f"{base}/{conversation_id}/export")).json()
        reply = document["messages"][3]["message_id"]
        rated = await http.put(
            f"{base}/{conversation_id}/messages/{reply}/feedback",
            json={"rating": "up", "comment": "good"},
        )
        assert rated.status_code == 200, rated.text
        document = (await http.get(f"{base}/{conversation_id}/export")).json()
        assert [m["role"] for m in document["messages"]] == [
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant",
        ]

        made = await http.post(f"{base}/import", json=document)
        assert made.status_code == 201, made.text
        (copy,) = made.json()["conversations"]
        again = (await http.get(f"{base}/{copy['conversation_id']}/export")).json()
        assert _carried(again) == _carried(document)
        assert again["messages"][0]["client_message_id"] == "c-1"
        assert again["messages"][3]["model"] != "imported"
        assert again["messages"][3]["feedback"] == {"rating": "up", "comment": "good"}

        # A call without its result would break the next turn: refused, as is a lone result.
        broken = {**document, "messages": document["messages"][:2]}
        refused = await http.post(f"{base}/import", json=broken)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_import")
        lone = {**document, "messages": document["messages"][2:3]}
        refused = await http.post(f"{base}/import", json=lone)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_import")

        # The copy goes on like any other: the model is shown the imported tool steps.
        more = await chat.turn("and 6 * 8?", copy["conversation_id"])
        assert more.reply["content"]
