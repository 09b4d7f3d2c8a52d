"""The chat page shows a graph's question (LangGraph's `interrupt`), also after a reload,
and lets the user answer it or cancel it; driven in Chromium."""

from __future__ import annotations

import msgspec
import pytest
from playwright.async_api import Browser, expect

from tests.browser import own_contexts, tab
from tests.fake_groq import FakeGroq
from tests.interrupt_graphs import FORM, QUESTION
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio


def _graph(settings: Settings, name: str) -> Settings:
    return msgspec.structs.replace(settings, graph=f"tests.interrupt_graphs:{name}")


async def test_a_question_is_shown_after_a_reload_and_answered_on_the_page(
    settings: Settings,
    fake_groq: FakeGroq,
    chromium: Browser,
) -> None:
    async with (
        serve_threadline(_graph(settings, "ask_string")) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say("transfer $5 to bob")
        question = page.locator(".question")
        await expect(question.locator(".asked")).to_have_text(QUESTION)
        await page.reload()  # what waits comes back with the history
        await expect(question.locator(".asked")).to_have_text(QUESTION)
        await question.locator(".answer").fill("yes, go ahead")
        await question.locator(".respond").click()
        await alice.reply('Reply 1: The user answered: "yes, go ahead"')
        await expect(question).to_have_count(0)
        await alice.say("thanks")
        await alice.reply("Reply 2: thanks")
    assert alice.errors == []


async def test_a_form_is_answered_with_json_or_cancelled_on_the_page(
    settings: Settings,
    fake_groq: FakeGroq,
    chromium: Browser,
) -> None:
    async with (
        serve_threadline(_graph(settings, "ask_dict")) as address,
        own_contexts(chromium) as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say("transfer money")
        question = page.locator(".question")
        await expect(question.locator(".asked")).to_contain_text(str(FORM["question"]))
        await question.locator(".answer").fill('{"amount": 10}')
        await question.locator(".answer").press("Enter")
        await alice.reply('Reply 1: The user answered: {"amount": 10}')
        await alice.say("transfer more")
        await expect(question).to_have_count(1)
        await question.locator(".cancel").click()
        await expect(page.locator(".message.assistant.stopped")).to_have_count(1)
        await expect(question).to_have_count(0)
        await alice.say("hello")
        await alice.reply("Reply 2: hello")
    assert alice.errors == []
