"""A graph's context schema: a dataclass, a TypedDict or a pydantic model, built and checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic
import pytest
from typing_extensions import TypedDict

from threadline.engine.assistants import ContextRefused, ContextSchema


@dataclass(kw_only=True)
class AsDataclass:
    model: str
    system_prompt: str = "Be brief."


class AsTypedDict(TypedDict):
    model: str
    system_prompt: str


class AsModel(pydantic.BaseModel):
    model: str
    system_prompt: str = "Be brief."


@pytest.mark.parametrize("schema", [AsDataclass, AsModel])
def test_a_context_is_built_with_the_schemas_defaults(schema: Any) -> None:
    built = ContextSchema(schema).build({"model": "m"})
    assert isinstance(built, schema)
    assert (built.model, built.system_prompt) == ("m", "Be brief.")


def test_a_typeddict_context_is_the_dict_it_describes() -> None:
    values = {"model": "m", "system_prompt": "Be brief."}
    assert ContextSchema(AsTypedDict).build(values) == values


@pytest.mark.parametrize("schema", [AsDataclass, AsTypedDict, AsModel])
@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"model": 5, "system_prompt": "x"}, "model: Input should be a valid string"),
        ({"system_prompt": "x"}, "model: Field required"),
        ({"model": "m", "system_prompt": "x", "tone": "dry"}, "no key 'tone'"),
    ],
)
def test_values_that_do_not_fit_are_refused_saying_which(
    schema: Any, values: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ContextRefused, match=reason):
        ContextSchema(schema).build(values)


def test_a_graph_without_a_schema_takes_no_context_and_gets_none() -> None:
    assert ContextSchema().build({}) is None
    with pytest.raises(ContextRefused, match="takes no context"):
        ContextSchema().build({"model": "m"})
