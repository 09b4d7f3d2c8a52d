"""Embeddings from an OpenAI-compatible endpoint (a fake one served here, speaking the
`/v1/embeddings` wire format), and a database whose vectors are another model's size."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar, Request, post

from tests.processes import THREADLINE, free_port, process_env
from tests.serving import serve_app
from threadline.llm.embeddings import LocalEmbedder, RemoteEmbedder
from threadline.settings import Secret, Settings

pytestmark = pytest.mark.anyio

DIMS = 8


class FakeEmbeddings:
    """Deterministic vectors of `dims` numbers; records the requests it got."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.requests: list[tuple[dict[str, Any], str | None]] = []

    def app(self) -> Litestar:
        @post("/v1/embeddings", status_code=200)
        async def embeddings(request: Request[Any, Any, Any]) -> dict[str, Any]:
            body = msgspec.json.decode(await request.body())
            self.requests.append((body, request.headers.get("authorization")))
            rows = [
                {"object": "embedding", "index": i, "embedding": self._vector(text)}
                for i, text in enumerate(body["input"])
            ]
            # Out of order on purpose: `index` says which input each row embeds.
            return {"object": "list", "data": rows[::-1], "model": body["model"]}

        return Litestar([embeddings])

    def _vector(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode()).digest()
        return [byte / 255 for byte in digest[: self.dims]]


@pytest.fixture
async def fake_embeddings() -> AsyncIterator[tuple[FakeEmbeddings, str]]:
    fake = FakeEmbeddings(DIMS)
    async with serve_app(fake.app()) as address:
        yield fake, f"http://{address}/v1"


def _remote(settings: Settings, url: str, dims: int = DIMS) -> Settings:
    return msgspec.structs.replace(
        settings,
        embeddings="openai-compatible",
        embeddings_url=url,
        embeddings_model="nomic-embed-text",
        embeddings_dims=dims,
        embeddings_api_key=Secret("emb-key"),
    )


async def test_a_remote_endpoint_embeds_in_order_in_batches(
    settings: Settings, fake_embeddings: tuple[FakeEmbeddings, str]
) -> None:
    fake, url = fake_embeddings
    embedder = RemoteEmbedder(_remote(settings, url))
    texts = [f"text {n}" for n in range(70)]  # two requests: at most 64 inputs each
    try:
        vectors = await embedder.embed(texts)
    finally:
        await embedder.close()
    assert vectors == [fake._vector(text) for text in texts]
    assert [len(body["input"]) for body, _ in fake.requests] == [64, 6]
    assert {body["model"] for body, _ in fake.requests} == {"nomic-embed-text"}
    assert {auth for _, auth in fake.requests} == {"Bearer emb-key"}


async def test_vectors_of_the_wrong_size_are_an_error(
    settings: Settings, fake_embeddings: tuple[FakeEmbeddings, str]
) -> None:
    _, url = fake_embeddings
    embedder = RemoteEmbedder(_remote(settings, url, dims=16))
    try:
        with pytest.raises(ValueError, match="EMBEDDINGS_DIMS=16"):
            await embedder.embed(["hello"])
    finally:
        await embedder.close()


def test_a_database_of_another_models_vectors_stops_start_up_saying_why(
    tmp_path: Path, database_url: str
) -> None:
    # The test database was made with the local model's 256 dimensions.
    assert LocalEmbedder().dims == 256
    env = process_env(
        tmp_path,
        free_port(),
        DATABASE_URL=database_url,
        EMBEDDINGS="openai-compatible",
        EMBEDDINGS_URL="http://127.0.0.1:9/v1",
        EMBEDDINGS_MODEL="nomic-embed-text",
        EMBEDDINGS_DIMS=str(DIMS),
    )
    result = subprocess.run(
        [THREADLINE], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    [failed] = [
        msgspec.json.decode(line)
        for line in result.stderr.splitlines()
        if '"event":"startup.failed"' in line
    ]
    assert "holds vectors of 256 dimensions but the embedding model makes 8" in failed["detail"]


async def test_the_local_model_embeds_similar_texts_close() -> None:
    embedder = LocalEmbedder()
    a, b, c = await embedder.embed(
        ["the capital of France", "Paris is France's capital city", "bananas are yellow"]
    )
    near = sum(x * y for x, y in zip(a, b, strict=True))
    far = sum(x * y for x, y in zip(a, c, strict=True))
    assert near > 0.5 > far
    assert abs(sum(x * x for x in a) - 1) < 1e-3  # unit length: cosine is a dot product
