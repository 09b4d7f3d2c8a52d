"""`python -m bench.fake_server PORT`: the test suite's fake Groq API as a process of its own."""

from __future__ import annotations

import sys

import uvicorn

from tests.fake_groq import FakeGroq

if __name__ == "__main__":
    uvicorn.run(FakeGroq().app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
