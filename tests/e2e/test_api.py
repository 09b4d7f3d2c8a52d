"""The conversations REST API, as a chat sidebar uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import psycopg
import pytest

from tests.fake_groq import FakeGroq, Fault
from tests.fixtures import fresh_database, served_fake_groq, settings_for
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


@dataclass
class Api:
    address: str
    http: httpx.AsyncClient

    def url(self, user: str, conversation: str | None = None) -> str:
        base = f"http://{self.address}/users/{user}/conversations"
        return base if conversation is None else f"{base}/{conversation}"

    async def chat(self, user: str, *messages: str) -> str:
        """Say `messages` in a new conversation of `user`; return its id."""
        async with connect(self.address, user) as socket:
            conversation_id = (await socket.turn(messages[0])).ack["conversation_id"]
            for message in messages[1:]:
                await socket.turn(message, conversation_id)
        return str(conversation_id)

    async def eventually(
        self, user: str, conversation: str, ready: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """Poll (bounded) until the conversation satisfies `ready`: titles come in the
        background."""
        with anyio.fail_after(10):
            while True:
                body: dict[str, Any] = (await self.http.get(self.url(user, conversation))).json()
                if ready(body):
                    return body
                await anyio.sleep(0.05)


@asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with serve_threadline(settings) as address, httpx.AsyncClient(timeout=10) as http:
        yield Api(address, http)


async def test_list_shows_a_users_conversations_newest_activity_first_in_pages(
    settings: Settings,
) -> None:
    async with api(settings) as a:
        first = await a.chat("alice", "first topic")
        second = await a.chat("alice", "second topic")
        third = await a.chat("alice", "third topic")
        await a.chat("bob", "bob's own")
        await a.chat("alice", "x")  # a fourth, then revive the first
        async with connect(a.address, "alice") as socket:
            await socket.turn("back to the first", first)

        page1 = (await a.http.get(a.url("alice"), params={"limit": 2})).json()
        page2 = (
            await a.http.get(a.url("alice"), params={"limit": 2, "cursor": page1["next_cursor"]})
        ).json()
        bobs = (await a.http.get(a.url("bob"))).json()

    ids = [item["conversation_id"] for page in (page1, page2) for item in page["items"]]
    assert len(ids) == len(set(ids)) == 4
    assert ids[0] == first  # the most recent activity
    assert ids[2:] == [third, second]
    assert page1["next_cursor"] is not None
    assert page2["next_cursor"] is None
    top = page1["items"][0]
    assert top["message_count"] == 4
    assert top["preview"] == "Reply 6: back to the first"
    assert top["created_at"] < top["updated_at"]
    assert [item["preview"] for item in bobs["items"]] == ["Reply 4: bob's own"]


async def test_a_conversation_reads_back_what_was_said_over_the_socket(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with api(settings) as a:
        async with connect(a.address, "alice") as socket:
            first = await socket.turn("hello")
            conversation_id = first.ack["conversation_id"]
            fake_groq.faults.append(Fault(token_delay=0.05))
            await socket.send(message=" ".join(["long"] * 40), conversation_id=conversation_id)
            await socket.until("token")
            await socket.send(type="stop", conversation_id=conversation_id)
            stopped = (await socket.until("message"))[-1]
            over_socket = await socket.history(conversation_id)
        detail = (await a.http.get(a.url("alice", conversation_id))).json()

    assert detail["messages"] == over_socket
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][1]["model"] == "openai/gpt-oss-20b"
    assert detail["messages"][3]["stopped"] is True
    assert detail["messages"][3]["content"] == stopped["content"]
    assert all(m["created_at"] for m in detail["messages"])
    assert detail["message_count"] == 4
    assert detail["next_before"] is None


async def test_long_conversations_are_read_in_pages_from_the_end(settings: Settings) -> None:
    async with api(settings) as a:
        conversation_id = await a.chat("alice", "one", "two", "three")
        latest = (await a.http.get(a.url("alice", conversation_id), params={"limit": 4})).json()
        older = (
            await a.http.get(
                a.url("alice", conversation_id),
                params={"limit": 4, "before": latest["next_before"]},
            )
        ).json()

    assert [m["content"] for m in latest["messages"]] == [
        "two",
        "Reply 2: two",
        "three",
        "Reply 3: three",
    ]
    assert [m["content"] for m in older["messages"]] == ["one", "Reply 1: one"]
    assert older["next_before"] is None


async def test_titles_come_from_the_model_and_never_override_a_rename(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with api(settings) as a:
        conversation_id = await a.chat("alice", "Plan a trip to Lisbon in May")
        titled = await a.eventually("alice", conversation_id, lambda c: c["title"] is not None)
        renamed = await a.http.patch(
            a.url("alice", conversation_id), json={"title": "  Lisboa 🇵🇹  "}
        )
        async with connect(a.address, "alice") as socket:
            await socket.turn("and June?", conversation_id)
        after = (await a.http.get(a.url("alice", conversation_id))).json()

    assert titled["title"] == "Title: Plan a trip"
    assert fake_groq.title_requests[0]["messages"][-1]["content"] == "Plan a trip to Lisbon in May"
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "Lisboa 🇵🇹"
    assert after["title"] == "Lisboa 🇵🇹"


async def test_a_failed_title_call_falls_back_to_the_first_line(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.title_faults.append(Fault(status=500))
    async with api(settings) as a:
        conversation_id = await a.chat("alice", "Recipe ideas\nfor a rainy day with kids")
        titled = await a.eventually("alice", conversation_id, lambda c: c["title"] is not None)

    assert titled["title"] == "Recipe ideas"


# Right-to-left override, zero-width space, left-to-right isolate, pop isolate, BOM.
HIDDEN = "\u202e", "\u200b", "\u2066", "\u2069", "\ufeff"


@pytest.mark.parametrize("titler", ["model", "fallback"])
async def test_titles_drop_invisible_characters_whether_made_or_renamed(
    settings: Settings, fake_groq: FakeGroq, titler: str
) -> None:
    if titler == "fallback":
        fake_groq.title_faults.append(Fault(status=500))
    first = "{}Trip{} to {}Lisbon{}{}".format(*HIDDEN)
    async with api(settings) as a:
        conversation_id = await a.chat("alice", first)
        titled = await a.eventually("alice", conversation_id, lambda c: c["title"] is not None)
        chosen = "\u202eLisboa\u200b\u00a0\u2066🇵🇹\u2069 👩\u200d💻"
        renamed = await a.http.patch(a.url("alice", conversation_id), json={"title": chosen})
        listed = (await a.http.get(a.url("alice"))).json()["items"]
        invisible = await a.http.patch(a.url("alice", conversation_id), json={"title": "\u202e"})

    made = "Title: Trip to Lisbon" if titler == "model" else "Trip to Lisbon"
    assert titled["title"] == made
    assert renamed.json()["title"] == "Lisboa 🇵🇹 👩\u200d💻"  # the joiner makes one emoji
    assert [item["title"] for item in listed] == ["Lisboa 🇵🇹 👩\u200d💻"]
    assert (invisible.status_code, invisible.json()["field"]) == (400, "title")


async def test_regenerating_the_first_reply_does_not_title_the_conversation_again(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.title_faults.append(Fault(status=500))  # the first title is the fallback
    async with api(settings) as a:
        conversation_id = await a.chat("alice", "Recipe ideas\nfor a rainy day with kids")
        titled = await a.eventually("alice", conversation_id, lambda c: c["title"] is not None)
        async with connect(a.address, "alice") as socket:
            await socket.send(type="regenerate", conversation_id=conversation_id)
            await socket.collect()
            await socket.turn("and for a sunny one?", conversation_id)
        after = (await a.http.get(a.url("alice", conversation_id))).json()

    assert titled["title"] == "Recipe ideas"
    assert after["title"] == "Recipe ideas"
    assert len(fake_groq.title_requests) == 1


async def test_delete_removes_the_conversation_from_every_path(
    settings: Settings, database_url: str
) -> None:
    async with api(settings) as a:
        kept = await a.chat("alice", "keep me")
        doomed = await a.chat("alice", "delete me")
        deleted = await a.http.delete(a.url("alice", doomed))
        again = await a.http.delete(a.url("alice", doomed))
        read = await a.http.get(a.url("alice", doomed))
        renamed = await a.http.patch(a.url("alice", doomed), json={"title": "x"})
        listed = (await a.http.get(a.url("alice"))).json()
        async with connect(a.address, "alice") as socket:
            over_socket = [
                await socket.error(message="hello?", conversation_id=doomed),
                *[
                    await socket.error(type=kind, conversation_id=doomed)
                    for kind in ("stop", "regenerate", "history")
                ],
            ]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (doomed,)
        )
        left = await cursor.fetchone()

    assert deleted.status_code == 204
    for response in (again, read, renamed):
        assert response.status_code == 404
        assert response.json()["code"] == "conversation_not_found"
    assert [item["conversation_id"] for item in listed["items"]] == [kept]
    assert {e["code"] for e in over_socket} == {"conversation_not_found"}
    assert left == (0,)


async def test_deleting_a_conversation_mid_reply_stops_the_turn_first(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with api(settings) as a:
        conversation_id = await a.chat("alice", "start")
        fake_groq.faults.append(Fault(token_delay=0.05))
        async with connect(a.address, "alice") as socket:
            await socket.send(message=" ".join(["word"] * 60), conversation_id=conversation_id)
            await socket.until("token")
            deleted = await a.http.delete(a.url("alice", conversation_id))
            outcome = (await socket.until("message"))[-1]
        read = await a.http.get(a.url("alice", conversation_id))

    assert deleted.status_code == 204
    assert outcome["stopped"] is True
    assert read.status_code == 404


async def test_another_users_conversation_is_indistinguishable_from_a_missing_one(
    settings: Settings,
) -> None:
    async with api(settings) as a:
        alices = await a.chat("alice", "private")
        responses = {}
        for name, conversation in (("theirs", alices), ("missing", "no_such_conversation")):
            responses[name] = [
                await a.http.get(a.url("bob", conversation)),
                await a.http.patch(a.url("bob", conversation), json={"title": "mine now"}),
                await a.http.delete(a.url("bob", conversation)),
            ]
        still_there = await a.http.get(a.url("alice", alices))

    theirs = [(r.status_code, r.json()) for r in responses["theirs"]]
    missing = [(r.status_code, r.json()) for r in responses["missing"]]
    assert theirs == missing
    assert {status for status, _ in theirs} == {404}
    assert still_there.json()["title"] != "mine now"


@pytest.fixture(scope="module")
async def refusing(postgres_url: str, template_url: str) -> AsyncIterator[tuple[Api, str]]:
    """One server, database and conversation of alice's for the module's refused requests.

    A refused request changes nothing, so these cases share them instead of starting a
    server and a database each (on each xdist worker that runs some of them).
    """
    with fresh_database(postgres_url) as url:
        async with served_fake_groq() as fake, api(settings_for(url, fake)) as a:
            conversation_id = await a.chat("alice", "hi")
            await a.eventually("alice", conversation_id, lambda c: c["title"] == "Title: hi")
            yield a, conversation_id


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "field"),
    [
        ("GET", "/users/alice/conversations", {"limit": 0}, None, "limit"),
        ("GET", "/users/alice/conversations", {"limit": -5}, None, "limit"),
        ("GET", "/users/alice/conversations", {"limit": 10**12}, None, "limit"),
        ("GET", "/users/alice/conversations", {"limit": "many"}, None, "limit"),
        ("GET", "/users/alice/conversations", {"cursor": "not-a-cursor"}, None, "cursor"),
        ("GET", "/users/alice/conversations", {"cursor": "WyJ4IiwgMV0"}, None, "cursor"),
        ("GET", f"/users/{'u' * 129}/conversations", {}, None, "user_id"),
        ("GET", "/users/al ice/conversations", {}, None, "user_id"),
        ("GET", "/users/alice%0A/conversations", {}, None, "user_id"),
        ("DELETE", "/users/alice/memories/m1%0A", {}, None, "memory_id"),
        ("GET", "/users/alice/conversations/abc%0A", {}, None, "conversation_id"),
        ("GET", "/users/alice/conversations/bad%20id", {}, None, "conversation_id"),
        ("GET", f"/users/alice/conversations/{'c' * 129}", {}, None, "conversation_id"),
        ("GET", "/users/alice/conversations/abc", {"limit": 501}, None, "limit"),
        ("PATCH", "/users/alice/conversations/abc", {}, {"title": ""}, "title"),
        ("PATCH", "/users/alice/conversations/abc", {}, {"title": " \t\n "}, "title"),
        ("PATCH", "/users/alice/conversations/abc", {}, {"title": "x" * 201}, "title"),
        ("PATCH", "/users/alice/conversations/abc", {}, {"title": 5}, "title"),
        ("PATCH", "/users/alice/conversations/abc", {}, {"title": "nul\u0000byte"}, "title"),
        ("PATCH", "/users/alice/conversations/abc", {}, {"title": "bell\u0007"}, "title"),
        ("PATCH", "/users/alice/conversations/abc", {}, {"name": "x"}, None),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(
    refusing: tuple[Api, str],
    method: str,
    path: str,
    params: dict[str, Any],
    body: dict[str, Any] | None,
    field: str | None,
) -> None:
    a, conversation_id = refusing
    path = path.replace("/abc", f"/{conversation_id}")
    response = await a.http.request(method, f"http://{a.address}{path}", params=params, json=body)
    after = await a.http.get(a.url("alice", conversation_id))

    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "invalid_request"
    assert after.json()["title"] == "Title: hi"  # refused: nothing changed
    if field is not None:
        assert error["field"] == field
        assert error["detail"].startswith(f"{field}: ")


# A body other than JSON is refused for its type first (415, test_tickets_and_origins.py).
JSON_BODY = {"Content-Type": "application/json"}


async def test_a_body_that_is_not_json_is_a_400(settings: Settings) -> None:
    async with api(settings) as a:
        conversation_id = await a.chat("alice", "hi")
        response = await a.http.patch(
            a.url("alice", conversation_id), content=b"{title:", headers=JSON_BODY
        )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


async def test_a_body_nested_too_deeply_is_a_400_not_a_500(settings: Settings) -> None:
    nested = b'{"title": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    async with api(settings) as a:
        conversation_id = await a.chat("alice", "hi")
        response = await a.http.patch(
            a.url("alice", conversation_id), content=nested, headers=JSON_BODY
        )
        detail = await a.http.get(a.url("alice", conversation_id))

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert "nested too deeply" in response.json()["detail"]
    assert detail.json()["title"] != "[]"


async def test_unknown_paths_and_methods_have_error_codes_too(settings: Settings) -> None:
    async with api(settings) as a:
        missing = await a.http.get(f"http://{a.address}/nowhere")
        wrong_method = await a.http.post(a.url("alice"))

    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")


async def test_the_api_is_described_by_openapi_at_schema(settings: Settings) -> None:
    async with api(settings) as a:
        schema = (await a.http.get(f"http://{a.address}/schema/openapi.json")).json()
        page = await a.http.get(f"http://{a.address}/schema")

    # The page renders on the server: it loads nothing from anywhere (this runs offline).
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/users/{user_id}/conversations/{conversation_id}" in page.text
    assert "<script" not in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text

    paths = schema["paths"]
    assert set(paths["/users/{user_id}/conversations/{conversation_id}"]) >= {
        "get",
        "patch",
        "delete",
    }
    assert "get" in paths["/users/{user_id}/conversations"]
