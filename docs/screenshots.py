"""Take the screenshots of the chat page: `uv run python -m docs.screenshots`.

Serves Threadline on an embedded PostgreSQL with the test suite's fake Groq, scripted to
give the replies shown, and photographs the page in Debian's Chromium (as the tests do):
a conversation (chat.png), the same on a phone (phone.png), an approval in the dark theme
(approval-dark.png), a new user's empty state with an upload (welcome.png), and the
documents and memories drawer (knowledge.png).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser

from tests.browser import Tab, launched_chromium
from tests.documents import indexed, upload
from tests.fake_groq import FakeGroq
from tests.serving import serve_app, serve_threadline
from threadline.settings import Secret, Settings
from threadline.storage.database import start_embedded_postgres

OUT = Path(__file__).parent / "screenshots"
QUOTA = 200_000  # tokens a day: the sidebar's foot shows today's use against it

TRAINS = b"""# Trains from Lisbon

Trains to Sintra leave Rossio station every 20 minutes; the ride takes 40 minutes.
Trains to Cascais leave Cais do Sodre every 20 minutes along the coast.
"""

REVERSE = """Three common ways, depending on whether you want a new list:

1. `items.reverse()` reverses **in place** and returns `None`.
2. `items[::-1]` returns a *new* reversed list.
3. `reversed(items)` gives an iterator, handy in a loop.

```python
items = [1, 2, 3]
print(items[::-1])  # [3, 2, 1]
```"""


@dataclass
class ScriptedGroq(FakeGroq):
    """The fake Groq, answering with the next scripted reply when there is one."""

    script: deque[str] = field(default_factory=deque)

    def reply_for(self, body: dict[str, Any]) -> str:
        """The next scripted reply, else the fake's usual echo."""
        return self.script.popleft() if self.script else super().reply_for(body)


async def _conversation(tab: Tab, message: str, reply: str) -> None:
    await tab.say(message)
    await tab.reply(reply.split("\n", 1)[0][:30])


async def _desktop(browser: Browser, address: str, groq: ScriptedGroq) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 760})
    tab = Tab(await context.new_page())
    await tab.sign_in(address, "ada")
    groq.script.extend(["May is lovely: warm, not yet hot.", "Roughly 2 hours by train."])
    await _conversation(tab, "Is May a good time for Lisbon?", "May is lovely")
    await tab.page.click("#new-chat")
    await _conversation(tab, "How long from Lisbon to Sintra?", "Roughly 2 hours")
    await tab.page.click("#new-chat")
    groq.script.append(REVERSE)
    await _conversation(tab, "How do I reverse a list in Python?", "Three common ways")
    await _titles(address)
    await tab.page.reload()
    await tab.reply("Three common ways")
    await tab.page.wait_for_timeout(500)
    await tab.page.screenshot(path=OUT / "chat.png")
    phone = await browser.new_context(viewport={"width": 390, "height": 760})
    tab = Tab(await phone.new_page())
    await tab.sign_in(address, "ada")
    await tab.page.click("#menu")
    await tab.page.locator(".conversation .open").first.click()
    await tab.reply("Three common ways")
    await tab.page.wait_for_timeout(400)
    await tab.page.screenshot(path=OUT / "phone.png")


async def _welcome(browser: Browser, address: str) -> None:
    """A new user's empty chat, a file just dropped on it and indexed."""
    context = await browser.new_context(viewport={"width": 1280, "height": 640})
    tab = Tab(await context.new_page())
    await tab.sign_in(address, "lin")
    await tab.drop([("lisbon-trains.md", "text/markdown", TRAINS)])
    await tab.page.locator(".upload.ready").wait_for(timeout=30_000)
    await tab.page.screenshot(path=OUT / "welcome.png")


async def _knowledge(browser: Browser, address: str) -> None:
    """Ada's documents (one ready, one that failed) and memories, in the drawer."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        for name, content in [("lisbon-trains.md", TRAINS), ("scan.pdf", b"%PDF-1.4 no text")]:
            started = (await upload(http, "/users/ada/documents", name, content)).json()
            await indexed(http, f"/users/ada/documents/{started['document_id']}")
        for text in ["Prefers trains to buses", "Travels to Lisbon in May"]:
            await http.post("/users/ada/memories", json={"text": text})
    context = await browser.new_context(viewport={"width": 1280, "height": 640})
    tab = Tab(await context.new_page())
    await tab.sign_in(address, "ada")
    await tab.page.locator(".conversation .open").first.click()
    await tab.reply("Three common ways")
    await tab.page.click("#knowledge-open")
    await tab.page.locator("#memories .item").first.wait_for()
    await tab.page.wait_for_timeout(300)
    await tab.page.screenshot(path=OUT / "knowledge.png")


async def _approval(browser: Browser, address: str, groq: ScriptedGroq) -> None:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 560}, color_scheme="dark"
    )
    tab = Tab(await context.new_page())
    await tab.sign_in(address, "grace")
    groq.tool_calls.append([("calculator", {"expression": "1234 * 5678"})])
    await tab.say("What is 1234 * 5678?")
    await tab.page.locator(".approval").wait_for()
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        [item] = (await http.get("/users/grace/conversations")).json()["items"]
        path = f"/users/grace/conversations/{item['conversation_id']}"
        await http.patch(path, json={"title": "A multiplication"})
    await tab.page.wait_for_timeout(300)
    await tab.page.screenshot(path=OUT / "approval-dark.png")


async def _titles(address: str) -> None:
    """Titles as a model would write them (the fake's are `Title: …`)."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        items = (await http.get("/users/ada/conversations")).json()["items"]
        names = ["Reversing a list in Python", "Lisbon to Sintra", "Lisbon in May"]
        for item, title in zip(items, names, strict=True):
            path = f"/users/ada/conversations/{item['conversation_id']}"
            await http.patch(path, json={"title": title})


async def _run(database_url: str) -> None:
    groq = ScriptedGroq()
    async with serve_app(groq.app()) as groq_address:
        groq.url = f"http://{groq_address}"
        settings = Settings(
            host="127.0.0.1",
            database_url=Secret(database_url),
            groq_api_key=Secret("gsk_screenshots"),
            groq_api_base=groq.url,
            approve_tools="calculator",
            daily_token_quota=QUOTA,
        )
        async with serve_threadline(settings) as address, launched_chromium() as browser:
            await _desktop(browser, address, groq)
            await _approval(browser, address, groq)
            await _welcome(browser, address)
            await _knowledge(browser, address)


def main() -> None:
    """Write the screenshots to docs/screenshots/."""
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="threadline-shots-") as tmp:
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        try:
            asyncio.run(_run(server.get_uri()))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
