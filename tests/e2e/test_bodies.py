"""Request bodies: any byte string sent to a route that takes a body gets a 4xx with a
stable code, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

# Every route that decodes a JSON body (`{cid}`: a conversation of `local`'s that exists).
_ROUTES = [
    ("PATCH", "/users/local/conversations/{cid}"),
    ("POST", "/users/local/conversations/{cid}/messages/m1/edit"),
    ("PUT", "/users/local/conversations/{cid}/messages/m1/feedback"),
    ("POST", "/users/local/memories"),
    ("POST", "/threads"),
    ("POST", "/threads/search"),
    ("PATCH", "/threads/{cid}"),
    ("POST", "/threads/{cid}/state"),
    ("POST", "/threads/{cid}/runs"),
    ("POST", "/threads/{cid}/runs/stream"),
    ("POST", "/threads/{cid}/runs/wait"),
    ("POST", "/runs/stream"),
    ("POST", "/runs/wait"),
    ("POST", "/assistants/search"),
    ("PUT", "/store/items"),
    ("POST", "/store/items/search"),
    ("POST", "/store/namespaces"),
    ("POST", "/ag-ui"),
    ("POST", "/ai-sdk/chat"),
    ("POST", "/threads/{cid}/commands"),
    ("POST", "/threads/{cid}/stream/events"),
    ("POST", "/users/local/conversations/import"),
]

# Each body that is not the JSON a route wants, with what its detail must say.
_BODIES = [
    (b'{"title":"\xff"}', "UTF-8"),
    (b"\xff\xfe", "malformed"),
    (b"", "needs a JSON body"),
    (b"null", "needs a JSON body"),
    (b"{", ""),
    (b"[" * 3000, ""),
]


@pytest.mark.parametrize(("body", "says"), _BODIES, ids=repr)
async def test_no_body_is_a_server_error_on_any_route(
    settings: Settings, body: bytes, says: str
) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        base = f"http://{address}"
        made = await http.post(f"{base}/threads", json={})
        cid = made.json()["thread_id"]
        headers = {"content-type": "application/json"}
        answers = {}
        for method, path in _ROUTES:
            url = base + path.format(cid=cid)
            response = await http.request(method, url, content=body, headers=headers)
            answers[method, path] = (response.status_code, response.json())

    for route, (status, answer) in answers.items():
        assert status in {400, 422}, (route, status, answer)
        assert answer["code"] == "invalid_request", (route, answer)
        if "detail" in answer:  # not the thread event stream's, which says the first thing
            # wrong with the body against its command's shape (`message`)
            assert says in answer["detail"], (route, answer)


async def test_a_body_past_a_routes_limit_is_a_413_body_too_large(settings: Settings) -> None:
    big = b'{"x": "' + b"a" * (17 * 1024 * 1024) + b'"}'  # past every route's bound
    paths = ["/threads", "/ai-sdk/chat", "/ag-ui", "/users/local/conversations/import"]
    headers = {"content-type": "application/json"}
    async with serve_threadline(settings) as address, httpx.AsyncClient(timeout=60) as http:
        answers = [
            await http.post(f"http://{address}{path}", content=big, headers=headers)
            for path in paths
        ]
        named = await http.post(
            f"http://{address}/users/local/documents",
            files={"file": ("n" * 100_000 + ".txt", b"some words", "text/plain")},
        )

    for path, answer in zip(paths, answers, strict=True):
        assert answer.status_code == 413, (path, answer.text)
        assert answer.json()["code"] == "body_too_large", (path, answer.text)
        assert "larger than" in answer.json()["detail"], (path, answer.text)
    assert (named.status_code, named.json()["code"]) == (400, "invalid_request"), named.text
    assert "Entity" not in named.json()["detail"]
    assert "name" in named.json()["detail"]
