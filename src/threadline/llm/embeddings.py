"""Text embeddings: a small local model, or any OpenAI-compatible `/v1/embeddings` endpoint.

Embedding is CPU work (local) or a network call (remote); either way it never runs on the
event loop: the local model runs in a worker thread, the remote one through httpx's async
client.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
import msgspec

from threadline.settings import Settings

if TYPE_CHECKING:
    from wordllama import WordLlamaInference

__all__ = (
    "LOCAL_MODEL",
    "Embedder",
    "LocalEmbedder",
    "RemoteEmbedder",
    "make_embedder",
    "vector_literal",
)

logger = logging.getLogger(__name__)

LOCAL_MODEL = "wordllama-l2-supercat-256"
_LOCAL_DIMS = 256
# Texts per request to a remote endpoint; providers cap a request's inputs.
_REMOTE_BATCH = 64


class Embedder(Protocol):
    """Turns texts into vectors of `dims` numbers, similar texts into close vectors."""

    @property
    def name(self) -> str:
        """Which model: vectors of different models must not be compared."""
        ...

    @property
    def dims(self) -> int:
        """The length of every vector."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...

    async def close(self) -> None:
        """Release what it holds (connections)."""
        ...


@functools.cache
def _load_wordllama() -> WordLlamaInference:
    """The packaged model, loaded once per process (its weights never change)."""
    # The weights and tokenizer ship inside the wheel; pointing the cache at the package
    # (and forbidding downloads) makes wordllama read them there instead of Hugging Face.
    import wordllama  # noqa: PLC0415 - 1 s to import and load: only when used

    packaged = Path(wordllama.__file__).parent
    return wordllama.WordLlama.load(cache_dir=packaged, disable_download=True)


class LocalEmbedder:
    """WordLlama's 256-dimension static embeddings: no torch, ~30,000 sentences/s on a core."""

    def __init__(self) -> None:
        self._model: WordLlamaInference | None = None
        self._loading = asyncio.Lock()

    @property
    def name(self) -> str:
        """The packaged model's name."""
        return LOCAL_MODEL

    @property
    def dims(self) -> int:
        """256."""
        return _LOCAL_DIMS

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed in a worker thread, loading the model there the first time."""
        if not texts:
            return []
        model = self._model or await self._loaded()
        vectors = await asyncio.to_thread(model.embed, list(texts), norm=True)
        return [[float(x) for x in row] for row in vectors.tolist()]

    async def close(self) -> None:
        """Nothing to release: the model stays loaded for the process."""

    async def _loaded(self) -> WordLlamaInference:
        async with self._loading:
            if self._model is None:
                self._model = await asyncio.to_thread(_load_wordllama)
            return self._model


class _EmbeddingRow(msgspec.Struct):
    embedding: list[float]
    index: int = 0


class _EmbeddingResponse(msgspec.Struct):
    data: list[_EmbeddingRow]


class RemoteEmbedder:
    """An OpenAI-compatible embeddings endpoint (OpenAI, Ollama, vLLM, TEI, LM Studio…)."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        if not (settings.embeddings_url and settings.embeddings_model):
            msg = "EMBEDDINGS_URL and EMBEDDINGS_MODEL are required"
            raise ValueError(msg)
        self._url = settings.embeddings_url.rstrip("/") + "/embeddings"
        self._model = settings.embeddings_model
        self._dims = settings.embeddings_dims or 0
        key = settings.embeddings_api_key
        headers = {"Authorization": f"Bearer {key.get()}"} if key else {}
        self._client = client or httpx.AsyncClient(headers=headers, timeout=30.0)

    @property
    def name(self) -> str:
        """The endpoint's model name."""
        return self._model

    @property
    def dims(self) -> int:
        """As EMBEDDINGS_DIMS says."""
        return self._dims

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed in batches; a vector of the wrong length is an error, not a silent mismatch."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), _REMOTE_BATCH):
            batch = texts[start : start + _REMOTE_BATCH]
            body = {"model": self._model, "input": batch}
            response = await self._client.post(self._url, json=body)
            response.raise_for_status()
            rows = msgspec.json.decode(response.content, type=_EmbeddingResponse).data
            vectors.extend(row.embedding for row in sorted(rows, key=lambda row: row.index))
        if any(len(vector) != self._dims for vector in vectors):
            msg = f"the embeddings endpoint returned vectors not of EMBEDDINGS_DIMS={self._dims}"
            raise ValueError(msg)
        return vectors

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def make_embedder(settings: Settings) -> LocalEmbedder | RemoteEmbedder:
    """The embedder EMBEDDINGS names."""
    if settings.embeddings == "openai-compatible":
        return RemoteEmbedder(settings)
    return LocalEmbedder()


def vector_literal(vector: list[float]) -> str:
    """A vector as pgvector reads it from text (`%s::vector`)."""
    return "[" + ",".join(f"{x:.6g}" for x in vector) + "]"
