"""Share links over real HTTP: a snapshot served without an account, never later messages."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from tests.credentials import api_keys
from tests.serving import serve_threadline
from tests.wsclient import connect
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_share_serves_the_conversation_as_it_was_to_anyone_until_revoked(
    settings: Settings, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        ada = {"X-API-Key": (await keys.create("ada", user_id="ada", admin=False)).key}
        bob = {"X-API-Key": (await keys.create("bob", user_id="bob", admin=False)).key}
    secured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with (
        serve_threadline(secured) as address,
        httpx.AsyncClient() as http,
        connect(address, "ada", headers=ada) as chat,
    ):
        first = await chat.turn("is <script>alert(1)</script> & co safe?")
        conversation_id = first.ack["conversation_id"]
        base = f"http://{address}/users/ada/conversations/{conversation_id}"
        made = await http.post(f"{base}/share", headers=ada)
        assert made.status_code == 201, made.text
        share_id = made.json()["share_id"]
        assert len(share_id) >= 32
        assert made.json()["url"] == f"http://{address}/shared/{share_id}"
        await chat.turn("words said after sharing", conversation_id)
        listed = await http.get(f"{base}/share", headers=ada)
        assert listed.json() == [made.json()]

        # No credential needed for the share; everything else still asks for one.
        shared = f"http://{address}/shared/{share_id}"
        as_json = await http.get(shared, headers={"Accept": "application/json"})
        assert as_json.status_code == 200, as_json.text
        messages = [(m["role"], m["content"]) for m in as_json.json()["messages"]]
        assert messages == [
            ("user", "is <script>alert(1)</script> & co safe?"),
            ("assistant", first.reply["content"]),
        ]
        assert (await http.get(shared, params={"format": "json"})).json() == as_json.json()
        page = await http.get(shared)
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co safe?" in page.text
        assert "<script" not in page.text
        assert "words said after sharing" not in page.text
        assert (await http.get(f"http://{address}/users/ada/conversations")).status_code == 401
        assert (await http.delete(f"{base}/share/{share_id}")).status_code == 401
        assert (await http.get(f"http://{address}/shared/nothing-here")).status_code == 404

        # Another user cannot revoke it: the conversation is not theirs, as if missing.
        theirs = f"http://{address}/users/bob/conversations/{conversation_id}/share/{share_id}"
        assert (await http.delete(theirs, headers=bob)).status_code == 404
        assert (await http.get(shared, params={"format": "json"})).status_code == 200

        revoked = await http.delete(f"{base}/share/{share_id}", headers=ada)
        assert revoked.status_code == 204, revoked.text
        gone = await http.get(shared, params={"format": "json"})
        assert (gone.status_code, gone.json()["code"]) == (404, "share_not_found")
        again = await http.delete(f"{base}/share/{share_id}", headers=ada)
        assert again.status_code == 404
        assert (await http.get(f"{base}/share", headers=ada)).json() == []


async def test_a_conversation_of_someone_else_or_without_messages_is_not_shared(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        async with connect(address, "ada") as chat:
            conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        foreign = await http.post(
            f"http://{address}/users/bob/conversations/{conversation_id}/share"
        )
        assert (foreign.status_code, foreign.json()["code"]) == (404, "conversation_not_found")
        created = await http.post(
            f"http://{address}/threads", json={}, headers={"X-Threadline-User": "ada"}
        )
        assert created.status_code == 200, created.text
        empty = created.json()["thread_id"]
        nothing = await http.post(f"http://{address}/users/ada/conversations/{empty}/share")
        assert (nothing.status_code, nothing.json()["code"]) == (409, "nothing_to_share")


async def test_revoking_a_share_tells_a_missing_conversation_from_a_missing_share(
    settings: Settings,
) -> None:
    async with serve_threadline(settings) as address, httpx.AsyncClient() as http:
        async with connect(address, "ada") as chat:
            conversation_id = (await chat.turn("hello")).ack["conversation_id"]
        base = f"http://{address}/users/ada/conversations"
        share_id = (await http.post(f"{base}/{conversation_id}/share")).json()["share_id"]
        answers = {
            "no such conversation": await http.delete(f"{base}/nothing-here/share/{share_id}"),
            "another user's": await http.delete(
                f"http://{address}/users/bob/conversations/{conversation_id}/share/{share_id}"
            ),
            "no such share": await http.delete(f"{base}/{conversation_id}/share/nothing-here"),
        }
        codes = {why: (r.status_code, r.json()["code"]) for why, r in answers.items()}
        assert codes == {
            "no such conversation": (404, "conversation_not_found"),
            "another user's": (404, "conversation_not_found"),
            "no such share": (404, "share_not_found"),
        }
        listed = await http.get(f"http://{address}/users/bob/conversations/nothing-here/share")
        assert answers["another user's"].json() == listed.json()
