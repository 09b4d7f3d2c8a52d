"""Where a user's items live in LangGraph's store: namespaces under ("users", <label>)."""

from __future__ import annotations

__all__ = ("user_label", "user_namespace", "user_prefix")


def user_label(user_id: str) -> str:
    """The user's namespace label, safe for the store.

    The store forbids "." in labels and ids like e-mail addresses have them, so "%" and "."
    are percent-encoded: reversible, so two users never share a label.
    """
    return user_id.replace("%", "%25").replace(".", "%2E")


def user_namespace(user_id: str, kind: str) -> tuple[str, str, str]:
    """The namespace of one kind of a user's items ("conversations", "memories")."""
    return ("users", user_label(user_id), kind)


def user_prefix(user_id: str, kind: str) -> str:
    """The `prefix` column of the store's rows in that namespace."""
    return ".".join(user_namespace(user_id, kind))
