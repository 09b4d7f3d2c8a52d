"""Feedback on replies over a real socket and HTTP: given, shown in history, exported, counted."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.credentials import api_keys
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _feedback_of(messages: list[dict[str, object]], message_id: str) -> object:
    return next(m for m in messages if m["message_id"] == message_id).get("feedback")


async def test_feedback_given_over_the_socket_and_rest_shows_in_history(
    settings: Settings,
) -> None:
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient() as http,
        connect(address, "ada") as ada,
    ):
        turn = await ada.turn("hello")
        conversation_id, reply_id = turn.ack["conversation_id"], turn.reply["message_id"]
        await ada.send(
            type="feedback",
            conversation_id=conversation_id,
            message_id=reply_id,
            rating="up",
            comment="just right",
        )
        saved = await ada.receive()
        assert saved == {
            "type": "feedback",
            "conversation_id": conversation_id,
            "message_id": reply_id,
            "rating": "up",
            "comment": "just right",
        }
        shown = _feedback_of(await ada.history(conversation_id), reply_id)
        assert shown == {"rating": "up", "comment": "just right"}

        base = f"http://{address}/users/ada/conversations/{conversation_id}"
        put = await http.put(f"{base}/messages/{reply_id}/feedback", json={"rating": "down"})
        assert put.status_code == 200, put.text
        # The documented body, without the service's internal tag.
        assert put.json() == {
            "conversation_id": conversation_id,
            "message_id": reply_id,
            "rating": "down",
            "comment": None,
        }
        detail = (await http.get(base)).json()
        assert _feedback_of(detail["messages"], reply_id) == {"rating": "down", "comment": None}
        user_item = next(m for m in detail["messages"] if m["role"] == "user")
        assert "feedback" not in user_item

        cleared = await http.put(f"{base}/messages/{reply_id}/feedback", json={"rating": None})
        assert cleared.status_code == 200, cleared.text
        assert _feedback_of(await ada.history(conversation_id), reply_id) is None


async def test_feedback_on_what_is_not_a_reply_of_ones_own_is_refused(settings: Settings) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        async with connect(address, "ada") as ada:
            turn = await ada.turn("hello")
            conversation_id = turn.ack["conversation_id"]
            frame = {"type": "feedback", "conversation_id": conversation_id, "rating": "up"}
            unknown = await ada.error(**frame, message_id="no-such-message")
            assert unknown["code"] == "message_not_found"
            asked = await ada.error(**frame, message_id=turn.ack["message_id"])  # the user's own
            assert asked["code"] == "message_not_found"
            long = await ada.error(**frame, message_id=turn.reply["message_id"], comment="x" * 2001)
            assert long["code"] == "invalid_frame"
            wrong = await ada.error(**{**frame, "rating": "meh"}, message_id="m")
            assert wrong["code"] == "invalid_frame"
        base = f"http://{address}/users/ada/conversations/{conversation_id}/messages"
        missing = await http.put(f"{base}/nope/feedback", json={"rating": "up"})
        assert (missing.status_code, missing.json()["code"]) == (404, "message_not_found")
        reply = turn.reply["message_id"]
        too_long = await http.put(
            f"{base}/{reply}/feedback", json={"rating": "up", "comment": "x" * 2001}
        )
        assert (too_long.status_code, too_long.json()["code"]) == (400, "invalid_request")
        # Another user's conversation looks exactly like a missing one.
        theirs = f"http://{address}/users/bob/conversations/{conversation_id}/messages"
        foreign = await http.put(f"{theirs}/{reply}/feedback", json={"rating": "up"})
        assert (foreign.status_code, foreign.json()["code"]) == (404, "conversation_not_found")


def _counted(text: str, rating: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "threadline_feedback_total" and sample.labels == {"rating": rating}
    )


async def test_an_admin_exports_every_users_feedback_as_json_lines_in_pages(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        admin = {"X-API-Key": (await keys.create("ops", user_id=None, admin=True)).key}
        ada = {"X-API-Key": (await keys.create("ada", user_id="ada", admin=False)).key}
        bob = {"X-API-Key": (await keys.create("bob", user_id="bob", admin=False)).key}
    secured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(secured) as address, httpx.AsyncClient() as http:
        metrics = f"http://{address}/metrics"
        before = _counted((await http.get(metrics, headers=admin)).text, "up")
        given = []
        for user, key in (("ada", ada), ("bob", bob)):
            async with connect(address, user, headers=key) as chat:
                turn = await chat.turn("hello")
            ids = turn.ack["conversation_id"], turn.reply["message_id"]
            url = f"http://{address}/users/{user}/conversations/{ids[0]}/messages/{ids[1]}"
            answer = await http.put(
                f"{url}/feedback", json={"rating": "up", "comment": f"{user} says"}, headers=key
            )
            assert answer.status_code == 200, answer.text
            given.append((user, *ids))

        export = f"http://{address}/admin/feedback"
        assert (await http.get(export, headers=ada)).status_code == 403
        first = await http.get(export, params={"limit": 1}, headers=admin)
        assert first.status_code == 200, first.text
        assert first.headers["content-type"].startswith("application/x-ndjson")
        cursor = first.headers["x-next-cursor"]
        second = await http.get(export, params={"limit": 1, "cursor": cursor}, headers=admin)
        assert "x-next-cursor" not in second.headers
        lines = [msgspec.json.decode(line) for line in (first.text + second.text).splitlines()]
        assert [(r["user_id"], r["conversation_id"], r["message_id"]) for r in lines] == given
        assert [(r["rating"], r["comment"]) for r in lines] == [
            ("up", "ada says"),
            ("up", "bob says"),
        ]
        later = await http.get(export, params={"since": "2999-01-01T00:00:00Z"}, headers=admin)
        assert later.text == ""
        after = _counted((await http.get(metrics, headers=admin)).text, "up")
        assert after - before == 2
