"""Documents cut into passages: bounded, in order, nothing lost but whitespace."""

from __future__ import annotations

from threadline.knowledge.chunking import chunk_text


def test_short_paragraphs_are_packed_together_and_kept_whole() -> None:
    text = "First paragraph.\n\nSecond one.\n\n\n\nThird."
    assert chunk_text(text, size=30) == ["First paragraph.\n\nSecond one.", "Third."]


def test_a_long_paragraph_is_cut_between_sentences_then_words() -> None:
    sentence = "The pump moves water. "
    text = sentence * 30 + "\n\n" + "word " * 100
    chunks = chunk_text(text, size=100)
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    assert all(not chunk.startswith(" ") for chunk in chunks)


def test_a_word_longer_than_a_passage_is_cut_to_fit() -> None:
    assert chunk_text("x" * 250, size=100) == ["x" * 100]
    assert chunk_text("") == []
