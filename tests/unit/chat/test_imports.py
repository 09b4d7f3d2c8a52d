"""What an import takes from a document: the current path, text only, within bounds."""

from __future__ import annotations

from typing import Any

import pytest

from threadline.chat.features.imports import (
    MAX_IMPORTED_MESSAGES,
    MAX_IMPORTED_TEXT,
    ImportedMessage,
    ImportRefused,
    conversations_in,
)


def _message(role: str, parts: list[Any], **extra: Any) -> dict[str, Any]:
    return {"author": {"role": role}, "content": {"content_type": "text", "parts": parts}, **extra}


def test_a_chatgpt_conversation_is_its_current_path_of_user_and_assistant_text() -> None:
    mapping = {
        "r": {"message": None, "parent": None},
        "u": {"message": _message("user", ["Hi", {"asset": "image"}]), "parent": "r"},
        "t": {"message": _message("tool", ["search results"]), "parent": "u"},
        "h": {
            "message": _message(
                "assistant", ["hidden"], metadata={"is_visually_hidden_from_conversation": True}
            ),
            "parent": "t",
        },
        "c": {"message": _message("assistant", ["a call"], recipient="browser"), "parent": "h"},
        "a": {"message": _message("assistant", ["Hello!"], create_time=0), "parent": "c"},
        "b": {"message": _message("assistant", ["Another branch"]), "parent": "u"},
    }
    (found,) = conversations_in({"title": "Greeting", "mapping": mapping, "current_node": "a"})
    assert found.title == "Greeting"
    assert found.messages == [
        ImportedMessage("user", "Hi"),
        ImportedMessage("assistant", "Hello!", "1970-01-01T00:00:00+00:00"),
    ]


def test_a_cycle_in_a_mapping_ends_the_walk() -> None:
    mapping = {
        "x": {"message": _message("user", ["one"]), "parent": "y"},
        "y": {"message": _message("assistant", ["two"]), "parent": "x"},
    }
    (found,) = conversations_in([{"mapping": mapping, "current_node": "x"}])
    assert len(found.messages) <= 3


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (
            {"messages": [{"role": "user", "content": "x" * (MAX_IMPORTED_TEXT + 1)}]},
            "import_too_large",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}] * (MAX_IMPORTED_MESSAGES + 1)},
            "import_too_large",
        ),
        ({"messages": [{"role": "user", "content": "a\x00b"}]}, "invalid_import"),
        ({"messages": []}, "invalid_import"),
        ("text", "invalid_import"),
        ([{"title": "no mapping"}], "invalid_import"),
    ],
)
def test_what_cannot_be_imported_is_refused_with_its_code(document: Any, code: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        conversations_in(document)
    assert refused.value.code == code
