"""Where Threadline keeps its own facts on stored messages (metadata keys), in one place."""

from __future__ import annotations

__all__ = (
    "AGENT",
    "ATTACHMENTS",
    "CITATIONS",
    "CLIENT_MESSAGE_ID",
    "CONTEXT",
    "CREATED_AT",
    "STOPPED",
    "TOKENS",
)

# When a message was written: in `additional_kwargs` of the user's, in `response_metadata`
# of the assistant's.
CREATED_AT = "created_at"
# The client's own id of a user message (`additional_kwargs`), for recognising a resend.
CLIENT_MESSAGE_ID = "client_message_id"
# The `ContextReport` of the turn that wrote a reply (`response_metadata`).
CONTEXT = "context"
# A reply the user stopped before it was finished (`response_metadata`).
STOPPED = "stopped"
# Model tokens the turn that wrote a reply used, summary included (`response_metadata`):
# the provider's count where it reports one, an estimate otherwise.
TOKENS = "tokens"
# The specialist that wrote a reply, when the graph has several (`response_metadata`).
AGENT = "agent"
# The passages a reply drew on, from the document searches of its turn
# (`response_metadata`): a list of {document_id, title, text, score}.
CITATIONS = "citations"
# What a user message carried besides its text (`additional_kwargs`), as history shows it:
# a list of {type: "image", media_type, size_bytes} and {type: "document", document_id,
# title}. The images themselves are the message's content blocks.
ATTACHMENTS = "attachments"
