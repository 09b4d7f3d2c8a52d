"""Property-based fuzzing of the HTTP API from its own OpenAPI document: no input gets a 5xx."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.credentials import api_keys
from tests.fixtures import fresh_database
from tests.wsclient import connect
from threadline.app import create_app
from threadline.serving import uvicorn_config
from threadline.settings import Secret, Settings

EXAMPLES_PER_OPERATION = 60
# Streams that last as long as their client stays (a thread's events): no answer ends.
# Their bad input is tested in tests/e2e/test_thread_events_wire.py.
ENDLESS = {"POST /threads/{thread_id}/stream/events"}
# The admin key every request of the fuzzer carries (set by the server fixture), and the
# user it acts for on the LangGraph API's routes, which name none in their path.
CREDENTIALS: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_database(postgres_url: str, template_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="module")
def server(fuzz_database: str) -> Iterator[tuple[str, str]]:
    """Threadline in a thread of its own (the fuzzer's HTTP client is synchronous)."""
    CREDENTIALS.update(asyncio.run(_admin_key(fuzz_database)))
    # With credentials (an admin key): a fuzzer without them would not get past the 401s.
    config = Settings(host="127.0.0.1", database_url=Secret(fuzz_database), auth_mode="api_key")
    server = uvicorn.Server(uvicorn_config(create_app(config), config, port=0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server failed to start"
        threading.Event().wait(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    address = f"{host}:{port}"
    conversation_id = asyncio.run(_seed(address))
    yield address, conversation_id
    server.should_exit = True
    thread.join(timeout=30)


async def _admin_key(database_url: str) -> dict[str, str]:
    async with api_keys(database_url) as keys:
        key = (await keys.create("fuzzer", user_id=None, admin=True)).key
        return {"X-API-Key": key, "X-Threadline-User": "alice"}


async def _seed(address: str) -> str:
    async with connect(address, "alice", headers=CREDENTIALS) as chat:
        return str((await chat.turn("hello")).ack["conversation_id"])


Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]


def _operations(address: str) -> list[Operation]:
    schema = schemathesis.openapi.from_url(
        f"http://{address}/schema/openapi.json", headers=CREDENTIALS
    )
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the schema itself must be valid
        operations.append(result.ok())
    return operations


def _cases(operation: Operation, conversation_id: str) -> st.SearchStrategy[Any]:
    """Valid and invalid cases; half of them aimed at a conversation that exists, so the
    fuzzer gets past the 404 into the code that reads and writes it."""
    generated = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    def aim(case: Case) -> Case:
        if case.path_parameters and "conversation_id" in case.path_parameters:
            # Other ids of the path (a message's, a share's) stay as generated.
            ours = {"user_id": "alice", "conversation_id": conversation_id}
            case.path_parameters = {**case.path_parameters, **ours}
        if case.path_parameters and "thread_id" in case.path_parameters:
            case.path_parameters = {**case.path_parameters, "thread_id": conversation_id}
        return case

    return st.one_of(generated, generated.map(aim))


def test_the_schema_lists_every_http_operation(server: tuple[str, str]) -> None:
    labels = {operation.label for operation in _operations(server[0])}

    assert labels >= {
        "GET /users/{user_id}/conversations",
        "GET /users/{user_id}/conversations/{conversation_id}",
        "PATCH /users/{user_id}/conversations/{conversation_id}",
        "DELETE /users/{user_id}/conversations/{conversation_id}",
        "DELETE /users/{user_id}",
        "GET /ws/users/{user_id}/status",
        "GET /health",
        "GET /ready",
        "POST /auth/ws-ticket",
        "GET /users/{user_id}/usage",
        "GET /info",
        "GET /ok",
        "POST /assistants/search",
        "GET /assistants/{assistant_id}/schemas",
        "POST /threads/search",
        "GET /threads/{thread_id}/state",
        "POST /threads/{thread_id}/history",
        "POST /threads/{thread_id}/runs/stream",
        "POST /threads/{thread_id}/runs/wait",
        "POST /threads/{thread_id}/runs",
        "GET /threads/{thread_id}/runs",
        "GET /threads/{thread_id}/runs/{run_id}",
        "GET /threads/{thread_id}/runs/{run_id}/join",
        "GET /threads/{thread_id}/runs/{run_id}/stream",
        "POST /threads/{thread_id}/runs/{run_id}/cancel",
        "POST /runs/stream",
        "POST /runs/wait",
        "PUT /store/items",
        "POST /store/namespaces",
    }


# schemathesis draws from the global `random` inside its strategies (its header and
# dictionary generators), which Hypothesis now warns about, on some draws only: the
# warning is about the fuzzer's internals, not about what the API answered.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
def test_no_input_makes_the_api_fail(server: tuple[str, str]) -> None:
    # The schemathesis pytest plugin does not load under pytest 9, so its strategies are
    # driven by hypothesis directly. DELETE goes last: it ends the seeded conversation.
    address, conversation_id = server
    operations = sorted(_operations(address), key=lambda op: op.method.upper() == "DELETE")
    for operation in operations:
        if operation.label in ENDLESS:
            continue

        @given(case=_cases(operation, conversation_id))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def no_server_error(case: Case) -> None:
            response = case.call(timeout=10, headers=CREDENTIALS)
            assert response.status_code < 500, (case.as_curl_command(), response.text)
            if response.status_code >= 400:
                assert "code" in response.json(), response.text

        no_server_error()
