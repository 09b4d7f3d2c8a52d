"""The LangGraph API, driven by LangChain's own `langgraph_sdk` against a served Threadline:
assistants, threads (a thread is a conversation) and their state."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import msgspec
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError

from tests.credentials import api_keys, token
from tests.e2e.test_auth_matrix import jwt_settings
from tests.fake_groq import FakeGroq, Fault
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

# The LangGraph server's namespace for assistant ids made from graph names.
GRAPH_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def client(address: str, user: str | None = None) -> LangGraphClient:
    """An SDK client as a script would make one; `user` names the user (AUTH_MODE=none)."""
    headers = {"X-Threadline-User": user} if user else None
    return get_client(url=f"http://{address}", api_key=None, headers=headers)


async def rest(address: str, path: str) -> Any:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://{address}{path}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_built_in_agent_is_the_one_assistant(settings: Settings) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        found = await lg.assistants.search()
        assert [a["graph_id"] for a in found] == ["agent"]
        agent = found[0]
        assert agent["assistant_id"] == str(uuid.uuid5(GRAPH_NAMESPACE, "agent"))
        assert await lg.assistants.get("agent") == agent  # by graph name, or by id
        assert await lg.assistants.get(agent["assistant_id"]) == agent
        assert await lg.assistants.search(graph_id="another") == []
        graph = await lg.assistants.get_graph("agent")
        assert {"__start__", "respond"} <= {node["id"] for node in graph["nodes"]}
        assert graph["edges"]
        schemas = await lg.assistants.get_schemas(agent["assistant_id"])
        assert schemas["graph_id"] == "agent"
        assert "messages" in (schemas["input_schema"] or {})["properties"]
        with pytest.raises(NotFoundError):
            await lg.assistants.get("no-such-graph")
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://{address}/ok")).json() == {"ok": True}
            info = (await http.get(f"http://{address}/info")).json()
        assert info["version"]
        assert info["flags"]["assistants"] is True


async def test_a_thread_is_a_conversation_on_every_surface(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread = await lg.threads.create(metadata={"topic": "plants"})
        thread_id = thread["thread_id"]
        # Every thread is the `agent` graph's, as LangChain's chat UIs search them.
        graph = {"graph_id": "agent", "assistant_id": str(uuid.uuid5(GRAPH_NAMESPACE, "agent"))}
        assert (thread["status"], thread["metadata"]) == ("idle", {**graph, "topic": "plants"})
        # The page's sidebar (the REST list of `local`, AUTH_MODE=none's user) shows it.
        listed = await rest(address, "/users/local/conversations")
        assert thread_id in [c["conversation_id"] for c in listed["items"]]
        # It is continued over the WebSocket...
        async with connect(address, "local") as chat:
            turn = await chat.turn("How do I keep ferns?", conversation_id=thread_id)
        assert turn.reply["content"] == "Reply 1: How do I keep ferns?"
        # ...and its messages are the thread's values, as LangChain message dicts.
        state: Any = await lg.threads.get_state(thread_id)
        messages = state["values"]["messages"]
        assert [(m["type"], m["content"]) for m in messages] == [
            ("human", "How do I keep ferns?"),
            ("ai", "Reply 1: How do I keep ferns?"),
        ]
        assert all(m["id"] for m in messages)
        assert messages[1]["tool_calls"] == []
        assert state["next"] == []
        assert state["tasks"] == []
        assert state["checkpoint"]["thread_id"] == thread_id
        assert state["checkpoint"]["checkpoint_id"]
        fetched: Any = await lg.threads.get(thread_id)
        assert fetched["status"] == "idle"
        assert fetched["values"]["messages"] == messages
        # Metadata is merged, then searched by.
        await lg.threads.update(thread_id, metadata={"stage": "answered"})
        found = await lg.threads.search(metadata={"topic": "plants"})
        assert [t["thread_id"] for t in found] == [thread_id]
        assert found[0]["metadata"] == {**graph, "topic": "plants", "stage": "answered"}
        for key, value in graph.items():
            assert [t["thread_id"] for t in await lg.threads.search(metadata={key: value})] == [
                thread_id
            ]
        assert await lg.threads.search(metadata={"topic": "cars"}) == []
        assert [t["thread_id"] for t in await lg.threads.search(status="idle")] == [thread_id]
        assert await lg.threads.search(status="busy") == []


async def test_state_at_a_checkpoint_history_and_an_update(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        async with connect(address, "local") as chat:
            first = await chat.turn("one")
            thread_id = first.ack["conversation_id"]
            await chat.turn("two", conversation_id=thread_id)
        # A conversation made over the WebSocket is a thread, its messages its values.
        listed: list[Any] = await lg.threads.search()
        assert [t["thread_id"] for t in listed] == [thread_id]
        shown = [(m["type"], m["content"]) for m in listed[0]["values"]["messages"]]
        assert [text for kind, text in shown if kind == "human"] == ["one", "two"]
        history: list[Any] = await lg.threads.get_history(thread_id, limit=100)
        assert len(history) >= 2
        newest = history[0]
        assert newest == await lg.threads.get_state(thread_id)
        ids = [state["checkpoint"]["checkpoint_id"] for state in history]
        assert len(set(ids)) == len(ids)
        assert newest["parent_checkpoint"]["checkpoint_id"] == ids[1]
        older: Any = await lg.threads.get_state(thread_id, checkpoint_id=ids[1])
        assert older["checkpoint"]["checkpoint_id"] == ids[1]
        assert len(older["values"]["messages"]) < len(newest["values"]["messages"])
        before = await lg.threads.get_history(thread_id, limit=1, before=ids[0])
        assert [s["checkpoint"]["checkpoint_id"] for s in before] == [ids[1]]
        # An update is a checkpoint of its own; the conversation shows it everywhere.
        note = {"type": "ai", "content": "A note added by a script.", "id": "note-1"}
        updated = await lg.threads.update_state(thread_id, {"messages": [note]}, as_node="respond")
        assert updated["checkpoint"]["checkpoint_id"] not in ids
        state: Any = await lg.threads.get_state(thread_id)
        assert state["values"]["messages"][-1]["content"] == "A note added by a script."
        detail = await rest(address, f"/users/local/conversations/{thread_id}")
        assert detail["messages"][-1]["content"] == "A note added by a script."
        with pytest.raises(NotFoundError):
            await lg.threads.get_state(thread_id, checkpoint_id="not-a-checkpoint")


async def test_creating_with_an_id_and_deleting(settings: Settings, fake_groq: FakeGroq) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = str(uuid.uuid4())
        made = await lg.threads.create(thread_id=thread_id)
        assert made["thread_id"] == thread_id
        assert made["values"] is None
        with pytest.raises(ConflictError):
            await lg.threads.create(thread_id=thread_id)
        again = await lg.threads.create(thread_id=thread_id, if_exists="do_nothing")
        assert again["thread_id"] == thread_id
        async with connect(address, "local") as chat:
            await chat.turn("hello", conversation_id=thread_id)
        await lg.threads.delete(thread_id)
        with pytest.raises(NotFoundError) as missing:
            await lg.threads.get(thread_id)
        assert missing.value.body == {
            "detail": f"Thread with ID {thread_id} not found",
            "code": "conversation_not_found",
        }
        listed = await rest(address, "/users/local/conversations")
        assert thread_id not in [c["conversation_id"] for c in listed["items"]]
        with pytest.raises(NotFoundError):
            await lg.threads.delete(thread_id)


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


async def _credentials(mode: str, database_url: str) -> dict[str, dict[str, str]]:
    """Alice's and bob's credentials as the SDK sends them: `X-Api-Key`, or a bearer JWT."""
    if mode == "jwt":
        return {user: {"Authorization": f"Bearer {token(user)}"} for user in ("alice", "bob")}
    async with api_keys(database_url) as keys:
        return {
            user: {"X-Api-Key": (await keys.create(user, user_id=user, admin=False)).key}
            for user in ("alice", "bob")
        }


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


async def test_status_is_busy_while_a_turn_runs_and_an_update_then_waits(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, client(address) as lg:
        thread_id = (await lg.threads.create())["thread_id"]
        fake_groq.faults.append(Fault(token_delay=0.2))
        async with connect(address, "local") as chat:
            await chat.send(message="take your time", conversation_id=thread_id)
            await chat.until("token")
            assert (await lg.threads.get(thread_id))["status"] == "busy"
            busy = await lg.threads.search(status="busy")
            assert [t["thread_id"] for t in busy] == [thread_id]
            with pytest.raises(ConflictError):
                await lg.threads.update_state(thread_id, {"messages": []})
            await chat.until("message", within=60)
        assert (await lg.threads.get(thread_id))["status"] == "idle"


async def test_a_paused_run_is_an_interrupted_thread(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    approving = msgspec.structs.replace(settings, approve_tools="calculator")
    async with serve_threadline(approving) as address, client(address) as lg:
        fake_groq.tool_calls.append([("calculator", {"expression": "6 * 7"})])
        async with connect(address, "local") as chat:
            await chat.send(message="what is 6 * 7?")
            frames = await chat.until("approval_required")
        thread_id = frames[0]["conversation_id"]
        thread: Any = await lg.threads.get(thread_id)
        assert thread["status"] == "interrupted"
        (interrupts,) = thread["interrupts"].values()
        assert interrupts[0]["id"]
        state: Any = await lg.threads.get_state(thread_id)
        assert state["next"] == ["tools"]
        (task,) = state["tasks"]
        assert task["name"] == "tools"
        assert task["interrupts"] == interrupts
        assert [t["thread_id"] for t in await lg.threads.search(status="interrupted")] == [
            thread_id
        ]


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


async def test_a_graph_of_ones_own_is_the_assistant_and_its_state_the_threads(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    custom = msgspec.structs.replace(settings, graph="examples.word_count_agent:build")
    fake_groq.tool_calls.append([("word_count", {"text": "one two three"})])
    async with serve_threadline(custom) as address, client(address) as lg:
        (agent,) = await lg.assistants.search()
        assert agent["graph_id"] == "agent"
        nodes = {node["id"] for node in (await lg.assistants.get_graph("agent"))["nodes"]}
        assert "__start__" in nodes
        assert len(nodes) > 2
        async with connect(address, "local") as chat:
            await chat.send(message="How many words in 'one two three'?")
            frames = await chat.until("message")
        state: Any = await lg.threads.get_state(frames[0]["conversation_id"])
        kinds = [m["type"] for m in state["values"]["messages"]]
        assert kinds == ["human", "ai", "tool", "ai"]
        assert state["values"]["messages"][1]["tool_calls"][0]["name"] == "word_count"
