"""The model's own time, measured by calling it directly: what Threadline adds is the rest."""

from __future__ import annotations

import time

from langchain_core.messages import HumanMessage, SystemMessage

from bench.clients import MESSAGE
from bench.engine import _model, percentile

SAMPLES = 50


async def direct_model_timings(groq_base: str | None) -> dict[str, float]:
    """Median time to first token and to the last, streaming straight from the model."""
    model = _model(groq_base)
    firsts: list[float] = []
    totals: list[float] = []
    prompt = [SystemMessage("You are a helpful assistant."), HumanMessage(MESSAGE.format(n=1))]
    for _ in range(SAMPLES):
        started = time.perf_counter()
        first = 0.0
        async for chunk in model.astream(prompt):
            if chunk.content and not first:
                first = time.perf_counter() - started
        totals.append(time.perf_counter() - started)
        firsts.append(first)
    return {
        "first_token_p50_ms": percentile(firsts, 50),
        "reply_p50_ms": percentile(totals, 50),
    }
