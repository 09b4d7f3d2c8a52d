"""The chat page at `/`, in a real Chromium: what a person sees and does."""

from __future__ import annotations

import base64

import httpx
import msgspec
import pytest
from playwright.async_api import FilePayload, expect

from tests.browser import chromium, tab
from tests.credentials import api_keys
from tests.documents import indexed, upload
from tests.fake_groq import MODEL, FakeGroq, Fault
from tests.proxy import proxy
from tests.serving import serve_threadline
from threadline.settings import Settings

pytestmark = pytest.mark.anyio

LONG = " ".join(f"word{i}" for i in range(40))
ATTACK = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


async def test_a_full_conversation_renamed_reloaded_and_deleted(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        context = await browser.new_context()
        async with tab(context) as alice:
            page = alice.page
            await alice.sign_in(address, "alice")
            await alice.say("hello there")
            await alice.reply("Reply 1: hello there")
            await expect(page.locator("#context-text")).to_contain_text("tokens")
            await alice.say("**bold** and `code`")
            await alice.reply("Reply 2:")
            last = page.locator(".message.assistant .body").last
            await expect(last.locator("strong")).to_have_text("bold")
            await expect(last.locator("code")).to_have_text("code")
            entry = page.locator("#conversations .conversation")
            await expect(entry).to_have_count(1)
            await entry.locator(".rename").click()
            await page.fill(".title-input", "Lisbon trip")
            await page.press(".title-input", "Enter")
            await expect(entry.locator(".open")).to_have_text("Lisbon trip")
            conversation_id = await entry.get_attribute("data-id")
            await page.reload()
            await alice.reply("Reply 2:")
            reloaded = (await alice.users(), await alice.replies())
            await entry.locator(".delete").click()
            await expect(entry).to_have_count(0)
            await expect(page.locator(".message")).to_have_count(0)
        stored = await http.get(f"/users/alice/conversations/{conversation_id}")
        served = await http.get("/")

    assert reloaded == (
        ["hello there", "**bold** and `code`"],
        ["Reply 1: hello there", "Reply 2: bold and code"],
    )
    assert alice.dialogs == ["Delete “Lisbon trip”? This cannot be undone."]
    assert stored.status_code == 404
    policy = served.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    # Everything the page needs comes from Threadline itself: no CDN, no network.
    assert {url.split("/")[2] for url in alice.requests} == {address}
    assert any(url.startswith(f"ws://{address}/ws/alice") for url in alice.requests)


async def test_stop_keeps_what_was_written_and_marks_it_stopped(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.1)
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say(LONG)
        streaming = page.locator(".message.assistant.streaming")
        await expect(streaming).to_contain_text("word1")
        await page.click("#stop")
        stopped = page.locator(".message.assistant.stopped")
        await expect(stopped.locator(".badge")).to_have_text("stopped")
        await expect(page.locator("#send")).to_be_visible()
        text = await stopped.locator(".body").inner_text()

    assert text.startswith("Reply 1: word0 word1")
    assert "word39" not in text


async def test_regenerate_replaces_the_reply(settings: Settings, fake_groq: FakeGroq) -> None:
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say("hi")
        await alice.reply("Reply 1: hi")
        await page.click(".regenerate")
        await alice.reply("Reply 2: hi")
        shown = await alice.replies()
        await page.reload()
        await alice.reply("Reply 2: hi")
        after_reload = await alice.replies()

    assert shown == after_reload == ["Reply 2: hi"]


async def test_a_reload_mid_reply_picks_the_reply_up_without_a_gap_or_a_repeat(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.05)
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say(LONG)
        await expect(page.locator(".message.assistant.streaming")).to_contain_text("word3")
        await page.reload()
        await expect(page.locator(".message.assistant.streaming")).to_contain_text("word20")
        await alice.reply("word39")
        shown = (await alice.users(), await alice.replies())

    assert shown == ([LONG], [f"Reply 1: {LONG}"])


async def test_markup_in_a_message_a_reply_and_a_title_is_shown_never_run(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say(f"{ATTACK} [click](javascript:window.__xss=1)")
        await alice.reply("Reply 1:")
        conversation_id = await page.locator(".conversation").get_attribute("data-id")
        renamed = await http.patch(
            f"/users/alice/conversations/{conversation_id}", json={"title": ATTACK}
        )
        title = page.locator(".conversation .open")
        await expect(title).to_have_text(ATTACK)  # the other tab's rename, live
        await page.reload()
        await alice.reply("Reply 1:")
        await expect(title).to_have_text(ATTACK)
        ran = await page.evaluate("window.__xss")
        users, replies = await alice.users(), await alice.replies()
        links = await page.locator(".message a").count()
        images = await page.locator(".message img, .conversation img").count()

    assert renamed.status_code == 200
    assert ran is None
    assert users == [f"{ATTACK} [click](javascript:window.__xss=1)"]
    assert replies == [f"Reply 1: {ATTACK} [click](javascript:window.__xss=1)"]
    assert (links, images) == (0, 0)
    assert alice.dialogs == []


async def test_a_second_tab_follows_the_conversation_and_the_sidebar(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, chromium() as browser:
        context = await browser.new_context()  # one browser profile: both tabs signed in
        async with tab(context) as first, tab(context) as second:
            await first.sign_in(address, "alice")
            await second.page.goto(f"http://{address}/")
            await first.say("from the first tab")
            await first.reply("Reply 1: from the first tab")
            listed = second.page.locator(".conversation .open")
            await expect(listed).to_have_text("Title: from the first")  # the fake model's title
            await listed.click()
            await second.reply("Reply 1: from the first tab")
            fake_groq.default = Fault(token_delay=0.1)
            await first.say(LONG)
            streaming = second.page.locator(".message.assistant.streaming")
            await expect(streaming).to_contain_text("Reply 2: word0")
            await second.reply("word39")
            followed = (await second.users(), await second.replies())

    assert followed == (
        ["from the first tab", LONG],
        ["Reply 1: from the first tab", f"Reply 2: {LONG}"],
    )


async def test_a_tool_call_waits_for_approval_on_the_page(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.tool_calls.append([("calculator", {"expression": "12 * 7"})])
    configured = msgspec.structs.replace(settings, approve_tools="calculator")
    async with (
        serve_threadline(configured) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await alice.say("what is 12 * 7?")
        approval = page.locator(".approval")
        await expect(approval).to_contain_text("calculator wants to run with:")
        await approval.locator(".approve").click()
        await alice.reply("Tools said: 12 * 7 = 84")
        await expect(page.locator(".tool summary")).to_have_text("Tool: calculator")
        await expect(page.locator(".tool .result")).to_have_text("12 * 7 = 84")
        await expect(approval).to_have_count(0)


@pytest.mark.parametrize("width", [1280, 390])
async def test_an_expanded_tool_result_with_a_long_line_stays_within_the_page(
    settings: Settings, fake_groq: FakeGroq, width: int
) -> None:
    expression = "+".join(["1"] * 100)  # one line of 199 characters, nowhere to break it
    fake_groq.tool_calls.append([("calculator", {"expression": expression})])
    async with serve_threadline(settings) as address, chromium() as browser:
        context = await browser.new_context(viewport={"width": width, "height": 800})
        async with tab(context) as alice:
            page = alice.page
            await alice.sign_in(address, "alice")
            await alice.say("add a hundred ones")
            await alice.reply("Tools said:")
            await page.locator(".tool summary").click()
            result = page.locator(".tool .result")
            await expect(result).to_have_text(f"{expression} = 100")
            # [scrollWidth, clientWidth] of the page and of the conversation's scroller
            widths = await page.evaluate(
                """[document.documentElement, document.querySelector(".scroller")]
                    .map((box) => [box.scrollWidth, box.clientWidth])"""
            )
            box = await result.bounding_box()

    [page_width, viewport], [thread_width, thread_shown] = widths
    assert page_width <= viewport
    assert thread_width <= thread_shown  # nothing to scroll sideways but the result itself
    assert box is not None
    assert box["x"] + box["width"] <= viewport


async def test_with_authentication_on_it_signs_in_with_a_token(
    settings: Settings, fake_groq: FakeGroq, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        key = (await keys.create("page", user_id="alice", admin=False)).key
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with (
        serve_threadline(configured) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        await alice.sign_in(address, "alice", token=key)
        await alice.say("hello with a key")
        await alice.reply("Reply 1: hello with a key")
        async with tab(await browser.new_context()) as stranger:
            await stranger.sign_in(address, "alice", token=f"tl_{'x' * 32}")
            await expect(stranger.page.locator("#status")).to_contain_text("Signed out")
            assert stranger.errors
            assert all("status of 401" in error for error in stranger.errors)
            stranger.errors.clear()


async def test_a_token_of_another_user_is_refused_once_and_signs_out(
    settings: Settings, fake_groq: FakeGroq, database_url: str
) -> None:
    async with api_keys(database_url) as keys:
        key = (await keys.create("page", user_id="alice", admin=False)).key
    configured = msgspec.structs.replace(settings, auth_mode="api_key")
    async with (
        serve_threadline(configured) as address,
        chromium() as browser,
        tab(await browser.new_context()) as bob,
    ):
        await bob.sign_in(address, "bob", token=key)
        status = bob.page.locator("#status")
        await expect(status).to_have_text("Signed out: this credential may not act for this user")
        await bob.page.wait_for_timeout(3000)  # time for several retries, were there any
        await expect(status).to_contain_text("Signed out")
        tickets = [url for url in bob.requests if url.endswith("/auth/ws-ticket")]
        sockets = [url for url in bob.requests if url.startswith("ws://")]
        assert all("403" in error or "WebSocket" in error for error in bob.errors), bob.errors
        bob.errors.clear()

    assert (len(tickets), len(sockets)) == (1, 1)


async def test_on_a_phone_the_conversations_open_from_a_menu(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with serve_threadline(settings) as address, chromium() as browser:
        phone = await browser.new_context(viewport={"width": 390, "height": 844})
        async with tab(phone) as alice:
            page = alice.page
            await alice.sign_in(address, "alice")
            await alice.say("from my phone")
            await alice.reply("Reply 1: from my phone")
            sidebar = page.locator("#sidebar")
            await expect(sidebar).not_to_be_in_viewport()
            await page.click("#menu")
            await expect(sidebar).to_be_in_viewport()
            await page.locator(".conversation .open").click()
            await expect(sidebar).not_to_be_in_viewport()


async def test_a_reply_shows_the_passages_it_cites(settings: Settings, fake_groq: FakeGroq) -> None:
    manual = b"# Pump manual\n\nThe K7 pump moves at most 42 litres of water per minute.\n"
    async with (
        serve_threadline(settings) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        sent = await upload(http, "/users/alice/documents", "pumps.md", manual)
        await indexed(http, f"/users/alice/documents/{sent.json()['document_id']}")
        fake_groq.tool_calls.append([("search_documents", {"query": "K7 litres per minute"})])
        await alice.sign_in(address, "alice")
        await alice.say("How fast is the K7 pump?")
        await alice.reply("Tools said:")
        source = alice.page.locator(".message.assistant .citations details").first
        await expect(source.locator("summary")).to_have_text("pumps.md")
        await source.locator("summary").click()
        await expect(source.locator("p")).to_contain_text("42 litres of water per minute")


async def test_a_dropped_network_mid_reply_is_resumed_without_a_gap_or_a_repeat(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    fake_groq.default = Fault(token_delay=0.05)
    async with (
        serve_threadline(settings) as address,
        proxy(address) as network,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(f"127.0.0.1:{network.port}", "alice")
        await alice.say(LONG)
        await expect(page.locator(".message.assistant.streaming")).to_contain_text("word3")
        await network.cut()
        await alice.reply("word39")
        await expect(page.locator("#status")).to_have_text("")
        fake_groq.default = Fault()
        await network.cut()  # while idle: a message sent meanwhile goes once it is back
        await alice.say("after the drop")
        await alice.reply("Reply 2: after the drop")
        shown = (await alice.users(), await alice.replies())

    assert shown == ([LONG, "after the drop"], [f"Reply 1: {LONG}", "Reply 2: after the drop"])
    assert network.connections >= 3


async def test_an_address_naming_a_conversation_that_is_gone_starts_a_new_one(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    async with (
        serve_threadline(settings) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        await page.goto(f"http://{address}/#c=AAAAAAAAAAAAAAAAAAAAAA")
        await expect(page.locator("#notice")).to_contain_text("no conversation with this id")
        await expect(page.locator("#title")).to_have_text("New chat")
        await alice.say("a fresh start")
        await alice.reply("Reply 1: a fresh start")
        assert "AAAAAAAAAAAAAAAAAAAAAA" not in page.url


async def test_the_model_picker_and_an_attached_image_reach_the_model(
    settings: Settings, fake_groq: FakeGroq
) -> None:
    scout = "meta-llama/llama-4-scout-17b-16e-instruct"
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    seeing = msgspec.structs.replace(settings, models=scout)
    async with (
        serve_threadline(seeing) as address,
        chromium() as browser,
        tab(await browser.new_context()) as alice,
    ):
        page = alice.page
        await alice.sign_in(address, "alice")
        picker = page.locator("#model")
        await expect(picker.locator("option")).to_have_count(3)
        await expect(picker).to_have_value(MODEL)
        await picker.select_option(scout)
        dot: FilePayload = {"name": "dot.png", "mimeType": "image/png", "buffer": png}
        await page.set_input_files("#image", files=[dot])
        await expect(page.locator("#attached-name")).to_have_text("dot.png")
        await alice.say("what is this?")
        await alice.reply("Reply 1: what is this?")
        shown = await page.locator(".message.user img.image").count()
        await expect(page.locator("#attached")).to_be_hidden()
        await picker.select_option(MODEL)
        await alice.say("and now?")
        await alice.reply("Reply 2: and now?")
        await page.reload()
        await alice.reply("Reply 2: and now?")
        described = await page.locator(".message.user .attachments").all_inner_texts()
        await expect(picker).to_have_value(MODEL)

    first, second = fake_groq.requests
    assert (first["model"], second["model"]) == (scout, MODEL)
    image = first["messages"][-1]["content"][1]
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert shown == 1
    assert described == ["Image (image/png, 1 KB)"]
