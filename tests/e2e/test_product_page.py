"""The page as a product, in a real Chromium: the empty state, uploads by drag and drop,
the documents and memories drawer, timestamps, usage against the quota, copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import msgspec
import pytest
from playwright.async_api import Browser, FilePayload, expect

from tests.browser import own_contexts, tab
from tests.documents import indexed, upload
from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

PUMPS = "# Pump manual\n\nThe K7 pump moves at most 42 litres of water per minute.\n"
KOLKATA = timezone(timedelta(hours=5, minutes=30))


async def test_a_new_chat_says_what_to_do_and_an_example_fills_the_box(
    settings: Settings, fake_groq: FakeGroq, chromium: Browser
) -> None:
    async with (
        serve_threadline(settings) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        welcome = page.locator("#welcome")
        await expect(welcome).to_be_visible()
        await expect(welcome).to_contain_text("Ask anything.")
        await expect(welcome).to_contain_text("Drop a file")
        await welcome.locator(".example", has_text="haiku").click()
        filled = await page.input_value("#input")
        focused = await page.evaluate("document.activeElement.id")
        await page.press("#input", "Enter")
        await alice.reply("Reply 1: Write a haiku about the sea")
        await expect(welcome).to_be_hidden()
        await page.reload()
        await alice.reply("Reply 1: Write a haiku")
        hidden_in_a_conversation = await welcome.is_hidden()
        await page.click("#new-chat")
        await expect(welcome).to_be_visible()

    assert (filled, focused) == ("Write a haiku about the sea", "input")
    assert hidden_in_a_conversation


async def test_dropped_and_picked_files_show_their_indexing_until_ready_or_failed(
    settings: Settings, fake_groq: FakeGroq, chromium: Browser
) -> None:
    async with (
        serve_threadline(settings) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context()) as alice,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.drop(
            [
                ("pumps.md", "text/markdown", PUMPS.encode()),
                ("broken.pdf", "application/pdf", b"%PDF-1.4 not really a pdf"),
                ("tool.exe", "application/octet-stream", b"MZ"),
            ],
        )
        uploads = page.locator("#uploads .upload")
        ready = uploads.filter(has_text="pumps.md")
        await expect(ready.locator(".upload-status")).to_have_text(
            "ready · 1 passage", timeout=30_000
        )
        broken = uploads.filter(has_text="broken.pdf").locator(".upload-status")
        await expect(broken).to_contain_text("failed: the PDF cannot be read", timeout=30_000)
        refused = uploads.filter(has_text="tool.exe").locator(".upload-status")
        await expect(refused).to_contain_text("failed: upload text (.txt)")
        refusals = list(alice.errors)  # Chromium logs the refused upload's 415
        alice.errors.clear()
        await page.click("#knowledge-open")
        await page.set_input_files(
            "#document-file",
            files=[FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"Notes.")],
        )
        picked = uploads.filter(has_text="notes.txt").locator(".upload-status")
        await expect(picked).to_have_text("ready · 1 passage", timeout=30_000)
        await expect(ready).to_have_count(0, timeout=15_000)  # a ready one goes by itself
        stored = (await http.get("/users/alice/documents")).json()["items"]

    [refusal] = refusals
    assert "status of 415" in refusal
    assert sorted((d["title"], d["status"]) for d in stored) == [
        ("broken.pdf", "failed"),
        ("notes.txt", "ready"),
        ("pumps.md", "ready"),
    ]


async def test_the_drawer_lists_ones_own_documents_and_memories_and_deletes_them(
    settings: Settings, fake_groq: FakeGroq, chromium: Browser
) -> None:
    async with (
        serve_threadline(settings) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context()) as alice,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        response = await upload(http, "/users/alice/documents", "pumps.md", PUMPS.encode())
        await indexed(http, f"/users/alice/documents/{response.json()['document_id']}")
        await upload(http, "/users/bob/documents", "bob-secrets.md", b"# Bob's\n\nMine.")
        for user, text in [("alice", "Alice likes tea"), ("bob", "Bob likes coffee")]:
            added = await http.post(f"/users/{user}/memories", json={"text": text})
            assert added.status_code == 201, added.text
        page = alice.page
        await alice.sign_in(address, "alice")
        await page.click("#knowledge-open")
        documents, memories = page.locator("#documents .item"), page.locator("#memories .item")
        await expect(documents).to_have_count(1)
        await expect(memories).to_have_count(1)
        shown = (
            await documents.locator(".item-text").all_inner_texts(),
            await documents.locator(".badge").all_inner_texts(),
            await memories.locator(".item-text").all_inner_texts(),
        )
        await memories.locator(".delete").click()
        await expect(page.locator("#memories .empty")).to_contain_text("No memories yet")
        await documents.locator(".delete").click()
        await expect(page.locator("#documents .empty")).to_contain_text("No documents yet")
        await page.keyboard.press("Escape")
        await expect(page.locator("#knowledge")).to_be_hidden()
        left = (
            (await http.get("/users/alice/documents")).json()["items"],
            (await http.get("/users/alice/memories")).json()["items"],
            len((await http.get("/users/bob/memories")).json()["items"]),
        )

    assert shown == (["pumps.md"], ["ready · 1 passage"], ["Alice likes tea"])
    assert alice.dialogs == [
        "Delete “Alice likes tea”? This cannot be undone.",
        "Delete “pumps.md”? This cannot be undone.",
    ]
    assert left == ([], [], 1)


async def test_messages_show_their_local_time_and_the_full_date_on_hover(
    settings: Settings, fake_groq: FakeGroq, chromium: Browser
) -> None:
    async with (
        serve_threadline(settings) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context(locale="en-GB", timezone_id="Asia/Kolkata")) as alice,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        before = datetime.now(UTC) - timedelta(seconds=1)
        await alice.say("hi")
        await alice.reply("Reply 1: hi")
        after = datetime.now(UTC) + timedelta(seconds=1)
        times = page.locator(".message .meta time")
        await expect(times).to_have_count(2)
        live = [await time.get_attribute("datetime") for time in await times.all()]
        [item] = (await http.get("/users/alice/conversations")).json()["items"]
        path = f"/users/alice/conversations/{item['conversation_id']}"
        stored = [m["created_at"] for m in (await http.get(path)).json()["messages"]]
        await page.reload()
        await alice.reply("Reply 1: hi")
        await expect(times).to_have_count(2)
        reloaded = [
            (
                await time.get_attribute("datetime"),
                await time.inner_text(),
                await time.get_attribute("title"),
            )
            for time in await times.all()
        ]

    assert all(before <= datetime.fromisoformat(value or "") <= after for value in live)
    for (shown_at, text, title), created in zip(reloaded, stored, strict=True):
        moment = datetime.fromisoformat(created)
        assert abs(datetime.fromisoformat(shown_at or "") - moment) < timedelta(milliseconds=1)
        local = moment.astimezone(KOLKATA)
        assert text == f"{local:%H:%M}"
        assert f"{local:%B} {local.year}" in (title or "")
        assert f"{local:%H:%M:%S}" in (title or "")


async def test_usage_against_the_daily_quota_is_shown_and_follows_each_turn(
    settings: Settings, fake_groq: FakeGroq, chromium: Browser
) -> None:
    quota = msgspec.structs.replace(settings, daily_token_quota=50_000)
    async with (
        serve_threadline(quota) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context(locale="en-US")) as alice,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        usage = page.locator("#usage-text")
        await expect(usage).to_have_text("0 of 50,000 tokens today")
        shown = []
        for turn, text in enumerate(["hi", "and again"], start=1):
            await alice.say(text)
            await alice.reply(f"Reply {turn}: {text}")
            counted = (await http.get("/users/alice/usage")).json()["tokens_today"]
            await expect(usage).to_have_text(f"{counted:,} of 50,000 tokens today")
            shown.append(counted)
        meter = await page.locator("#usage-meter").evaluate("(meter) => [meter.value, meter.max]")

    assert 0 < shown[0] < shown[1]
    assert meter == [shown[1], 50_000]


async def test_copy_puts_a_messages_text_on_the_clipboard(
    settings: Settings, fake_groq: FakeGroq, chromium: Browser
) -> None:
    async with (
        serve_threadline(settings) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context(permissions=["clipboard-read", "clipboard-write"])) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say("**bold** words")
        await alice.reply("Reply 1:")
        reply = page.locator(".message.assistant").last
        await reply.locator(".copy").click()
        await expect(reply.locator(".copy")).to_have_text("Copied")
        copied_reply = await page.evaluate("navigator.clipboard.readText()")
        await page.locator(".message.user .copy").click()
        copied_message = await page.evaluate("navigator.clipboard.readText()")

    # The reply's Markdown as written, not the page's rendering of it.
    assert copied_reply == "Reply 1: **bold** words"
    assert copied_message == "**bold** words"
