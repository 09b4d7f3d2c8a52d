"""The LangGraph API's users, store and refusals, driven by LangChain's `langgraph_sdk`:
whom a request acts for, another user's data out of reach, bad input answered 422."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import ConflictError, NotFoundError

from tests.credentials import api_keys, token
from tests.e2e.test_auth_matrix import jwt_settings
from tests.fake_groq import FakeGroq, Fault
from tests.lgclient import client, rest
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def _credentials(mode: str, database_url: str) -> dict[str, dict[str, str]]:
    """Alice's and bob's credentials as the SDK sends them: `X-Api-Key`, or a bearer JWT."""
    if mode == "jwt":
        return {user: {"Authorization": f"Bearer {token(user)}"} for user in ("alice", "bob")}
    async with api_keys(database_url) as keys:
        return {
            user: {"X-Api-Key": (await keys.create(user, user_id=user, admin=False)).key}
            for user in ("alice", "bob")
        }


async def test_auth_mode_none_names_the_user_in_a_header(settings: Settings) -> None:
    async with (
        serve_threadline(settings) as address,
        client(address) as mine,
        client(address, "bob") as bob,
    ):
        bobs = await bob.threads.create()
        locals_ = await mine.threads.create()
        bob_sees = await rest(address, "/users/bob/conversations")
        assert [c["conversation_id"] for c in bob_sees["items"]] == [bobs["thread_id"]]
        with pytest.raises(NotFoundError):
            await bob.threads.get(locals_["thread_id"])
        async with httpx.AsyncClient() as http:
            bad = await http.post(
                f"http://{address}/threads/search",
                json={},
                headers={"X-Threadline-User": "not a user id"},
            )
        assert bad.status_code == 422
        assert bad.json()["code"] == "invalid_request"
        assert bad.json()["detail"]


async def test_store_items_are_confined_to_their_user(settings: Settings) -> None:
    async with (
        serve_threadline(settings) as address,
        client(address) as mine,
        client(address, "bob") as bobs,
    ):
        await mine.store.put_item(["notes", "garden"], "ferns", {"text": "water weekly"})
        await mine.store.put_item(["notes"], "cars", {"text": "oil yearly"})
        item = await mine.store.get_item(["notes", "garden"], "ferns")
        assert (item["namespace"], item["key"], item["value"]) == (
            ["notes", "garden"],
            "ferns",
            {"text": "water weekly"},
        )
        assert item["created_at"]
        assert item["updated_at"]
        found = await mine.store.search_items(["notes"], filter={"text": "water weekly"})
        assert [(i["namespace"], i["key"]) for i in found["items"]] == [
            (["notes", "garden"], "ferns")
        ]
        namespaces = await mine.store.list_namespaces()
        assert sorted(namespaces["namespaces"]) == [["notes"], ["notes", "garden"]]
        # Bob's store is empty: another user's namespace looks like nothing at all.
        with pytest.raises(NotFoundError):
            await bobs.store.get_item(["notes", "garden"], "ferns")
        assert (await bobs.store.search_items(["notes"]))["items"] == []
        assert (await bobs.store.list_namespaces())["namespaces"] == []
        await bobs.store.delete_item(["notes", "garden"], "ferns")  # deletes nothing of mine
        assert await mine.store.get_item(["notes", "garden"], "ferns")
        # Nor do the store's items reach Threadline's own: conversations, memories.
        await mine.threads.create()
        assert sorted((await mine.store.list_namespaces())["namespaces"]) == [
            ["notes"],
            ["notes", "garden"],
        ]
        await mine.store.delete_item(["notes", "garden"], "ferns")
        with pytest.raises(NotFoundError):
            await mine.store.get_item(["notes", "garden"], "ferns")


@pytest.mark.parametrize("mode", ["api_key", "jwt"])
async def test_another_users_threads_and_store_are_unreachable(
    settings: Settings, database_url: str, mode: str
) -> None:
    configured = (
        jwt_settings(settings)
        if mode == "jwt"
        else msgspec.structs.replace(settings, auth_mode="api_key")
    )
    credentials = await _credentials(mode, database_url)
    async with (
        serve_threadline(configured) as address,
        get_client(url=f"http://{address}", api_key=None, headers=credentials["alice"]) as alice,
        get_client(url=f"http://{address}", api_key=None, headers=credentials["bob"]) as bob,
    ):
        thread_id = (await alice.threads.create(metadata={"secret": "yes"}))["thread_id"]
        await alice.store.put_item(["notes"], "k", {"v": 1})
        assert await alice.threads.get(thread_id)
        for attempt in (
            bob.threads.get(thread_id),
            bob.threads.get_state(thread_id),
            bob.threads.get_history(thread_id),
            bob.threads.update(thread_id, metadata={"mine": True}),
            bob.threads.update_state(thread_id, {"messages": []}),
            bob.threads.delete(thread_id),
            bob.store.get_item(["notes"], "k"),
        ):
            with pytest.raises(NotFoundError):
                await attempt
        assert await bob.threads.search() == []
        assert await bob.threads.search(metadata={"secret": "yes"}) == []
        assert (await bob.store.search_items(["notes"]))["items"] == []
        # Thread ids are global: taking alice's is refused, and shows nothing of hers.
        with pytest.raises(ConflictError) as taken:
            await bob.threads.create(thread_id=thread_id, if_exists="do_nothing")
        assert "secret" not in str(taken.value.body)
        hers: Any = await alice.threads.get(thread_id)
        assert hers["metadata"]["secret"] == "yes"  # noqa: S105 - metadata, no password
        # Without credentials, nothing at all.
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"http://{address}/threads/search", json={})
        assert refused.status_code == 401
        assert refused.json()["detail"]
        assert refused.json()["code"] == "unauthenticated"


async def test_bad_input_is_a_422_with_a_detail_and_a_code(settings: Settings) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        base = f"http://{address}"
        bad = [
            # PostgreSQL keeps no NUL in jsonb or text: refused, not a failed statement.
            ("PATCH", f"/threads/{thread_id}", {"metadata": {"\u0000": None}}),
            ("POST", "/threads", {"metadata": {"a": "x\u0000y"}}),
            ("POST", "/threads/search", {"metadata": {"a": "\u0000"}}),
            ("PUT", "/store/items", {"namespace": ["n"], "key": "k", "value": {"v": "\u0000"}}),
            ("POST", "/store/items/search", {"namespace_prefix": ["n"], "filter": {"\u0000": 1}}),
            ("POST", "/store/items/search", {"filter": {"a": {"$regex": "x"}}}),
            ("POST", "/threads/search", {"limit": 0}),
            ("POST", "/threads", {"thread_id": "not an id"}),
            ("POST", f"/threads/{thread_id}/history", {"before": "bad\u0000id"}),
            # A state update the graph cannot take.
            ("POST", f"/threads/{thread_id}/state", {"values": {}, "as_node": "no-such-node"}),
            ("POST", f"/threads/{thread_id}/state", {"values": [[], {}], "as_node": "respond"}),
            ("POST", f"/threads/{thread_id}/state", {"values": {"messages": [{"role": "x"}]}}),
            ("POST", f"/threads/{thread_id}/state", {"values": {"messages": [1, None]}}),
        ]
        async with httpx.AsyncClient() as http:
            for method, path, body in bad:
                answer = await http.request(method, base + path, json=body)
                assert answer.status_code == 422, (path, body, answer.text)
                assert answer.json()["code"], answer.text
                assert answer.json()["detail"], answer.text
            nul_key = await http.get(f"{base}/store/items", params={"namespace": "n", "key": "\0"})
            assert nul_key.status_code in {400, 422}, nul_key.text
        # A text with a backslash and `u0000` in it is no NUL: kept as it is.
        await lg.threads.update(thread_id, metadata={"path": "C:\\u0000"})
        kept: Any = await lg.threads.get(thread_id)
        assert kept["metadata"]["path"] == "C:\\u0000"


async def test_a_page_at_an_allowed_origin_may_call_it_and_others_may_not(
    settings: Settings, database_url: str
) -> None:
    configured = msgspec.structs.replace(
        settings, auth_mode="api_key", allowed_origins="https://ui.example.com"
    )
    key = (await _credentials("api_key", database_url))["alice"]
    async with serve_threadline(configured) as address, httpx.AsyncClient() as http:
        url = f"http://{address}/store/items"
        preflight = await http.options(
            url,
            headers={
                "Origin": "https://ui.example.com",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "x-api-key, content-type, x-threadline-user",
            },
        )
        assert preflight.status_code in (200, 204), preflight.text
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        item = {"namespace": ["n"], "key": "k", "value": {}}
        put = await http.put(url, json=item, headers={"Origin": "https://ui.example.com", **key})
        assert put.status_code == 204
        # A stream rejoined from where it stopped, and the run a stream names, as the
        # JavaScript SDK sends and reads them from a page.
        rejoin = await http.options(
            f"http://{address}/threads/t/runs/r/stream",
            headers={
                "Origin": "https://ui.example.com",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-api-key, last-event-id",
            },
        )
        assert rejoin.status_code in (200, 204), rejoin.text
        assert "last-event-id" in rejoin.headers["access-control-allow-headers"].lower()
        assert "content-location" in put.headers["access-control-expose-headers"].lower()
        foreign = await http.post(
            f"http://{address}/threads", json={}, headers={"Origin": "https://evil.example", **key}
        )
        assert foreign.status_code == 403
        assert foreign.json()["code"] == "forbidden_origin"


async def test_an_admin_key_acts_for_the_user_it_names(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        admin = {"X-Api-Key": (await keys.create("gateway", user_id=None, admin=True)).key}
        alices = {"X-Api-Key": (await keys.create("alice", user_id="alice", admin=False)).key}
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with serve_threadline(configured) as address, httpx.AsyncClient() as http:
        url = f"http://{address}/threads"
        as_bob = await http.post(url, json={}, headers={**admin, "X-Threadline-User": "bob"})
        assert as_bob.status_code == 200
        bobs = await http.get(f"http://{address}/users/bob/conversations", headers=admin)
        assert [c["conversation_id"] for c in bobs.json()["items"]] == [as_bob.json()["thread_id"]]
        nobody = await http.post(url, json={}, headers=admin)
        assert (nobody.status_code, nobody.json()["code"]) == (403, "forbidden")
        not_hers = await http.post(url, json={}, headers={**alices, "X-Threadline-User": "bob"})
        assert (not_hers.status_code, not_hers.json()["code"]) == (403, "forbidden")
        hers = await http.post(url, json={}, headers={**alices, "X-Threadline-User": "alice"})
        assert hers.status_code == 200


async def test_another_users_busy_thread_is_as_missing_as_an_idle_one(
    settings: Settings, database_url: str, fake_groq: FakeGroq
) -> None:
    credentials = await _credentials("api_key", database_url)
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with (
        serve_threadline(configured) as address,
        get_client(url=f"http://{address}", api_key=None, headers=credentials["bob"]) as bob,
        connect(address, "alice", headers=credentials["alice"]) as chat,
    ):
        fake_groq.faults.append(Fault(token_delay=0.2))
        await chat.send(message="take your time")
        thread_id = (await chat.until("token"))[0]["conversation_id"]
        with pytest.raises(NotFoundError):
            await bob.threads.update_state(thread_id, {"messages": []})
        await chat.until("message", within=60)
