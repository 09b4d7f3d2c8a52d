"""Debian's Chromium, driven by Playwright, on Threadline's chat page.

Playwright cannot download its own browsers on these machines, so it drives the system
`chromium` (installed by `.ci/run` with apt). A missing browser fails the test with the
command that installs it; it is never skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
)

# What a sandboxed CI machine needs: no GPU, no setuid sandbox (root), and none of
# Chromium's background calls to Google, which a closed network refuses.
_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is missing: `apt-get install chromium` (what .ci/run does)"
    return path


@asynccontextmanager
async def launched_chromium() -> AsyncIterator[Browser]:
    """A headless Chromium for the block.

    A launch costs about a second of CPU and three of waiting, a browser context a tenth
    of that: the e2e layer's `chromium` fixture launches one per module (on each xdist
    worker), and each test opens contexts of its own through `own_contexts`.
    """
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=_FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def own_contexts(browser: Browser) -> AsyncIterator[Browser]:
    """`browser` for the block; every context (profile) opened in it is closed at its end.

    A test's contexts share no cookies, storage or pages with another test's.
    """
    assert not browser.contexts, "a context of an earlier test is still open"
    try:
        yield browser
    finally:
        for context in browser.contexts:
            await context.close()


class Tab:
    """One tab of the chat page; collects the page's script errors and dialogs."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []  # every URL the page asked for, WebSockets included
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        # Console errors include refused loads and Content-Security-Policy violations.
        page.on("console", self._console)
        page.on("dialog", self._dialog)
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda socket: self.requests.append(socket.url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        if dialog.type == "confirm":
            await dialog.accept()
        else:
            await dialog.dismiss()

    async def sign_in(self, address: str, user: str, token: str = "") -> None:
        await self.page.goto(f"http://{address}/")
        await self.page.fill("#user", user)
        await self.page.fill("#token", token)
        await self.page.click("#signin button[type=submit]")
        await self.page.wait_for_selector("#app", state="visible")

    async def say(self, text: str) -> None:
        """Type a message and press Enter."""
        await self.page.fill("#input", text)
        await self.page.press("#input", "Enter")

    async def drop(self, files: list[tuple[str, str, bytes]]) -> None:
        """Drop `files` (name, media type, content) on the conversation, as if dragged there."""
        transfer = await self.page.evaluate_handle(
            """(files) => {
                const transfer = new DataTransfer();
                for (const [name, type, bytes] of files) {
                    transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
                }
                return transfer;
            }""",
            [[name, media, list(content)] for name, media, content in files],
        )
        await self.page.dispatch_event(".scroller", "dragover", {"dataTransfer": transfer})
        await self.page.dispatch_event(".scroller", "drop", {"dataTransfer": transfer})

    async def reply(self, text: str) -> None:
        """Wait until a finished (stored) reply contains `text`."""
        finished = self.page.locator(".message.assistant:not(.streaming)", has_text=text)
        await finished.first.wait_for(timeout=30_000)

    async def replies(self) -> list[str]:
        return await self.page.locator(".message.assistant .body").all_inner_texts()

    async def users(self) -> list[str]:
        return await self.page.locator(".message.user .body").all_inner_texts()


@asynccontextmanager
async def tab(context: BrowserContext) -> AsyncIterator[Tab]:
    page = await context.new_page()
    opened = Tab(page)
    try:
        yield opened
    finally:
        await page.close()
    assert not opened.errors, opened.errors
