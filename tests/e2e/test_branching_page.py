"""Edit and branch on the chat page, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser import chromium, tab
from tests.fake_groq import FakeGroq
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


async def test_edit_then_arrows_switch_between_versions_and_regenerate_adds_one(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say("hi")
        await alice.reply("Reply 1: hi")
        await alice.say("two")
        await alice.reply("Reply 2: two")
        second = page.locator(".message.user").nth(1)
        await second.locator(".edit").click()
        await page.fill(".edit-input", "TWO")
        await page.press(".edit-input", "Enter")
        await alice.reply("Reply 3: TWO")
        edited = page.locator(".message.user").nth(1)
        await expect(edited.locator(".branch-position")).to_have_text("2/2")
        after_edit = (await alice.users(), await alice.replies())

        await edited.locator(".branch-previous").click()
        await expect(page.locator(".message.user").nth(1).locator(".branch-position")).to_have_text(
            "1/2"
        )
        switched = (await alice.users(), await alice.replies())

        await page.click(".regenerate")
        await alice.reply("Reply 4: two")
        last = page.locator(".message.assistant").last
        await expect(last.locator(".branch-position")).to_have_text("2/2")
        await page.reload()
        await alice.reply("Reply 4: two")
        await expect(
            page.locator(".message.assistant").last.locator(".branch-position")
        ).to_have_text("2/2")
        reloaded = (await alice.users(), await alice.replies())
        await page.locator(".message.assistant").last.locator(".branch-previous").click()
        await alice.reply("Reply 2: two")
        back = await alice.replies()

    assert after_edit == (["hi", "TWO"], ["Reply 1: hi", "Reply 3: TWO"])
    assert switched == (["hi", "two"], ["Reply 1: hi", "Reply 2: two"])
    assert reloaded == (["hi", "two"], ["Reply 1: hi", "Reply 4: two"])
    assert back == ["Reply 1: hi", "Reply 2: two"]


async def test_a_second_tab_follows_an_edit_made_in_the_first(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, chromium() as browser:
        context = await browser.new_context()  # one browser profile: both tabs signed in
        async with tab(context) as first, tab(context) as second:
            await first.sign_in(address, "alice")
            await first.say("hi")
            await first.reply("Reply 1: hi")
            await second.page.goto(first.page.url)
            await second.reply("Reply 1: hi")
            await first.page.locator(".message.user .edit").click()
            await first.page.fill(".edit-input", "hello")
            await first.page.press(".edit-input", "Enter")
            await first.reply("Reply 2: hello")
            await second.reply("Reply 2: hello")
            await expect(second.page.locator(".message.user .branch-position")).to_have_text("2/2")
            followed = (await second.users(), await second.replies())

    assert followed == (["hello"], ["Reply 2: hello"])
