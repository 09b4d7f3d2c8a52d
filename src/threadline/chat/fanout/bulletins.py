"""What server processes tell each other about turns and sockets (see `relay`).

Each bulletin is a tagged msgspec Struct, encoded as one line of JSON; the sending
process is known from the notice itself.
"""

from __future__ import annotations

import msgspec

from threadline.chat.events import ConversationChanged, Event

__all__ = (
    "Bulletin",
    "Missed",
    "Present",
    "Relayed",
    "ResumeRequest",
    "Served",
    "Sidebar",
    "StopRequest",
    "decode",
    "encode",
)


class _Bulletin(msgspec.Struct, tag_field="k", forbid_unknown_fields=True):
    """Base: `k` carries the tag."""


class Present(_Bulletin, tag="present"):
    """The sender has sockets of `user_id` open (`here`), or no longer has any."""

    user_id: str
    here: bool


class Relayed(_Bulletin, tag="event", omit_defaults=True):
    """An event of a turn of `user_id`, for that user's sockets on other processes.

    With `request`, it answers one socket's resume or stop: only process `to` delivers it,
    and only to that socket. Without, every subscriber of the conversation gets it. `turn`:
    the id of the turn that sent it.
    """

    user_id: str
    event: Event
    to: str | None = None
    request: str | None = None
    turn: str | None = None


class Sidebar(_Bulletin, tag="sidebar"):
    """One of the user's conversations changed."""

    user_id: str
    event: ConversationChanged


class StopRequest(_Bulletin, tag="stop", omit_defaults=True):
    """Process `to` should stop the conversation's running turn, for socket `request`.

    `follows`: the socket already gets the turn's events (its subscription, or a resume):
    only whether it was served comes back, no event.
    """

    user_id: str
    conversation_id: str
    to: str
    request: str
    follows: bool = False


class ResumeRequest(_Bulletin, tag="resume"):
    """Process `to` should send the running turn's events after `after_seq`, then the rest."""

    user_id: str
    conversation_id: str
    after_seq: int
    to: str
    request: str


class Served(_Bulletin, tag="served"):
    """Process `to`'s request was served: the turn's events follow as `Relayed`."""

    to: str
    request: str


class Missed(_Bulletin, tag="missed"):
    """Process `to`'s request found no turn running here (it ended meanwhile)."""

    to: str
    request: str


class Changed(_Bulletin, tag="changed"):
    """What `user_id` keeps (memories, documents) changed; None: a shared document did."""

    user_id: str | None


Bulletin = Present | Relayed | Sidebar | StopRequest | ResumeRequest | Served | Missed | Changed

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Bulletin)


def encode(bulletin: Bulletin) -> bytes:
    """One line of JSON."""
    return _encoder.encode(bulletin)


def decode(data: bytes) -> Bulletin:
    """The bulletin in `data` (raises `msgspec.DecodeError` if it is none)."""
    bulletin: Bulletin = _decoder.decode(data)
    return bulletin
