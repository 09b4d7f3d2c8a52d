"""Retrieval bench: full text only, vectors only and hybrid, side by side, on one corpus.

    uv run python -m bench.retrieval [--json bench/results/retrieval.json]

Indexes the shipped gazetteer (`bench/corpus.py`: 100 articles, 300 questions, CC0) into an
embedded PostgreSQL with Threadline's own indexer (text, passages, local embeddings), then
asks every question in each mode through Threadline's own retriever, as the
`search_documents` tool does. A passage is a hit when it is from the right article and
contains the answer. Prints recall@5, MRR (first hit's reciprocal rank, 0 past 5), query
latency p50/p99, and indexing throughput in passages per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import load
from bench.engine import percentile
from threadline.knowledge.documents import DocumentStore, Quota, Upload
from threadline.knowledge.indexer import DocumentIndexer
from threadline.knowledge.readers import Readers, ReadingLimits
from threadline.knowledge.retrieval import Citation, Mode, Retriever
from threadline.knowledge.stores import vector_store
from threadline.llm.embeddings import LOCAL_MODEL, LocalEmbedder
from threadline.storage.database import Pool, start_embedded_postgres
from threadline.storage.schema import migrate

MODES: tuple[Mode, ...] = ("fulltext", "vector", "hybrid")
_OWNER = "bench"
_TOP = 5


def _rank(citations: list[Citation], title: str, answer: str) -> int | None:
    for rank, citation in enumerate(citations, 1):
        if citation.title == title and answer in citation.text:
            return rank
    return None


async def _index(pool: Pool, embedder: LocalEmbedder, corpus: dict[str, Any]) -> dict[str, Any]:
    # Every document is stored before any is indexed: all of them are in flight at once.
    documents = DocumentStore(pool, Quota(in_flight=len(corpus["documents"])))
    indexer = DocumentIndexer(pool, embedder, Readers(ReadingLimits()))
    await embedder.embed(["warm up"])  # the model loads once, outside the timing
    made = [
        await documents.create(_OWNER, Upload(d["title"], "text/markdown", d["text"].encode()))
        for d in corpus["documents"]
    ]
    started = time.perf_counter()
    for document in made:
        await indexer.index(document.document_id)
    seconds = time.perf_counter() - started
    await indexer.stop()
    chunks = sum(d.chunks for d in await documents.of_owner(_OWNER))
    return {"documents": len(made), "chunks": chunks, "chunks_per_s": round(chunks / seconds)}


async def _ask(retriever: Retriever, corpus: dict[str, Any], mode: Mode) -> dict[str, Any]:
    ranks, latencies = [], []
    for question in corpus["questions"]:
        started = time.perf_counter()
        found = await retriever.search(_OWNER, question["q"], limit=_TOP, mode=mode)
        latencies.append(time.perf_counter() - started)  # percentile() gives ms
        ranks.append(_rank(found, question["title"], question["a"]))
    return {
        "recall_at_5": round(sum(r is not None for r in ranks) / len(ranks), 3),
        "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 3),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
    }


async def run(url: str) -> dict[str, Any]:
    """Index the corpus and ask every question in each mode."""
    corpus, embedder = load(), LocalEmbedder()
    kwargs = {"autocommit": True, "row_factory": dict_row}
    pool: Pool = AsyncConnectionPool(url, kwargs=kwargs, min_size=1, max_size=4, open=False)
    async with pool:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver  # noqa: PLC0415
        from langgraph.store.postgres.aio import AsyncPostgresStore  # noqa: PLC0415

        vectors = vector_store(pool, embedder)
        await migrate(url, AsyncPostgresSaver(pool), AsyncPostgresStore(pool), vectors=vectors)
        indexing = await _index(pool, embedder, corpus)
        retriever = Retriever(pool, embedder)
        modes = {mode: await _ask(retriever, corpus, mode) for mode in MODES}
    return {
        "embedder": LOCAL_MODEL,
        "questions": len(corpus["questions"]),
        "indexing": indexing,
        "modes": modes,
    }


def render(report: dict[str, Any]) -> str:
    """The report as a table."""
    indexing = report["indexing"]
    lines = [
        f"{report['questions']} questions over {indexing['documents']} documents "
        f"({indexing['chunks']} passages), embeddings: {report['embedder']}",
        f"indexing: {indexing['chunks_per_s']} passages/s (text, passages, embeddings, rows)",
        "",
        f"{'mode':<10}{'recall@5':>10}{'MRR':>8}{'p50 ms':>9}{'p99 ms':>9}",
    ]
    for mode, row in report["modes"].items():
        lines.append(
            f"{mode:<10}{row['recall_at_5']:>10.3f}{row['mrr']:>8.3f}"
            f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the bench on a fresh embedded PostgreSQL and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadline-retrieval-") as tmp:
        server = start_embedded_postgres(Path(tmp) / "pgdata")
        try:
            report = asyncio.run(run(server.get_uri()))
        finally:
            server.cleanup()
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
