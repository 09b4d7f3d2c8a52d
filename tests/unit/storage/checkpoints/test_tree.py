"""A thread's checkpoint tree: the transcript along a path, and where to fork."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, RemoveMessage

from threadline.storage.checkpoints.channel import FOLDED
from threadline.storage.checkpoints.tree import CheckpointTree, Node


def _user(key: str) -> HumanMessage:
    return HumanMessage(content=key, id=key)


def _reply(key: str) -> AIMessage:
    return AIMessage(content=key, id=key)


def _ids(messages: Sequence[BaseMessage]) -> list[str]:
    return [m.id or "" for m in messages]


# A first turn (its message stored whole in the root, the reply written on it), a second
# (the message and reply written on 1), then an edit of "u2": a child of 1 storing its
# window whole, without 1's writes, and its reply written on it.
TREE = CheckpointTree(
    [
        Node("0", None, stored=[_user("u1")], writes=[[_reply("r1")]]),
        Node("1", "0", writes=[[_user("u2")], [_reply("r2")]]),
        Node("2", "1"),
        Node("3", "1", stored=[_user("u1"), _reply("r1"), _user("u2b")], writes=[[_reply("r2b")]]),
        Node("4", "3"),
    ]
)


def test_the_latest_checkpoint_heads_the_current_path_and_each_leaf_a_branch() -> None:
    assert (TREE.latest, TREE.leaves) == ("4", ["2", "4"])
    assert _ids(TREE.path("2").messages) == ["u1", "r1", "u2", "r2"]
    assert _ids(TREE.path("4").messages) == ["u1", "r1", "u2b", "r2b"]


def test_a_fork_point_is_the_checkpoint_whose_writes_brought_the_message() -> None:
    path = TREE.path("2")
    assert path.state_before("u2") == ("1", [])
    checkpoint, update = path.state_before("r2")  # a regenerate: the question again
    assert (checkpoint, _ids(update)) == ("1", ["u2"])


def test_a_message_the_checkpoint_stores_is_forked_by_removing_it_and_what_followed() -> None:
    checkpoint, update = TREE.path("4").state_before("u1")
    assert checkpoint == "0"
    assert [(type(m), m.id) for m in update] == [(RemoveMessage, "u1")]  # r1 came by writes
    checkpoint, update = TREE.path("4").state_before("u2b")
    assert (checkpoint, [m.id for m in update]) == ("3", ["u2b"])


def test_a_message_folded_out_of_the_window_stays_in_every_branch_after() -> None:
    folded = CheckpointTree(
        [
            Node("0", None, stored=[_user("u1")], writes=[[_reply("r1")]]),
            Node(
                "1",
                "0",
                writes=[[_user("u2")], [RemoveMessage(id="u1", name=FOLDED)], [_reply("r2")]],
            ),
            Node("2", "1"),
            # A fork of 1: its window lacked u1 already (folded before), so its value does too.
            Node("3", "1", stored=[_reply("r1"), _user("u2b")]),
        ]
    )
    assert _ids(folded.path("2").messages) == ["u1", "r1", "u2", "r2"]
    assert _ids(folded.path("3").messages) == ["u1", "r1", "u2b"]


def test_a_removal_deletes_and_a_copy_reads_as_its_original() -> None:
    tree = CheckpointTree(
        [
            Node("0", None, stored=[_user("u1")], writes=[[_reply("r1")]]),
            Node("1", "0", writes=[[RemoveMessage(id="r1")], [_reply("r1b")]]),
            Node("2", "1"),
            Node("3", "1"),  # a copy of 2: the same parent, nothing of its own
        ]
    )
    assert _ids(tree.path("2").messages) == _ids(tree.path("3").messages) == ["u1", "r1b"]


def test_a_thread_from_before_the_delta_channel_is_read_from_its_newest_whole_list() -> None:
    def unread() -> list[AnyMessage]:
        raise AssertionError("an older whole list is never decoded")

    tree = CheckpointTree(
        [
            Node("0", None, stored=unread, whole=True),
            Node("1", "0", stored=[_user("u1"), _reply("r1"), _user("u2")], whole=True),
            Node("2", "1", writes=[[_reply("r2")]]),
        ]
    )
    assert _ids(tree.path("2").messages) == ["u1", "r1", "u2", "r2"]


def test_copies_of_a_branch_head_count_as_one_branch() -> None:
    tree = CheckpointTree(
        [
            Node("0", None, stored=[_user("u1")], writes=[[_reply("r1")]], version="1"),
            Node("1", "0", version="2"),
            Node("2", "0", stored=[_user("u1b")], version="3"),
            Node("3", "0", version="2"),  # a switch back to 1: its copy
            Node("4", "0", stored=[_user("u1b")], version="3"),  # and to 2
            Node("5", "0", version="2"),  # and to 1 again
        ]
    )
    assert (tree.latest, tree.leaves) == ("5", ["4", "5"])
