"""Feedback, share and export on the chat page, in a real Chromium."""

from __future__ import annotations

import anyio
import httpx
import pytest
from playwright.async_api import expect

from tests.browser import chromium, tab
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_a_reply_is_rated_shared_and_exported_from_the_page(settings: Settings) -> None:
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        httpx.AsyncClient() as http,
    ):
        context = await browser.new_context(accept_downloads=True)
        async with tab(context) as alice:
            page = alice.page
            await alice.sign_in(address, "alice")
            await alice.say("hello there")
            await alice.reply("Reply 1: hello there")
            good = page.locator(".message.assistant .rate.up")
            await good.click()
            await expect(good).to_have_attribute("aria-pressed", "true")
            await page.reload()
            await alice.reply("Reply 1: hello there")
            await expect(good).to_have_attribute("aria-pressed", "true")  # stored
            await expect(page.locator(".message.assistant .rate.down")).to_have_attribute(
                "aria-pressed", "false"
            )

            await page.click("#share")
            link = page.locator("#share-link")
            await expect(link).to_be_visible()
            url = await link.input_value()
            shared = await http.get(url, params={"format": "json"})  # no account needed
            assert [m["content"] for m in shared.json()["messages"]] == [
                "hello there",
                "Reply 1: hello there",
            ]

            async with page.expect_download() as download:
                await page.click("#export")
            saved = await (await download.value).path()
            text = await anyio.Path(saved).read_text(encoding="utf-8")
            assert "## User\n\nhello there\n" in text
            assert "## Assistant\n\nReply 1: hello there\n" in text

            await good.click()  # pressed again: the rating is taken back
            await expect(good).to_have_attribute("aria-pressed", "false")
