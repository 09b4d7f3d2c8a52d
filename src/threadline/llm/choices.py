"""The models a user may pick for a conversation, and which of them take images."""

from __future__ import annotations

import msgspec

from threadline.llm.offline import OFFLINE_MODEL_NAME
from threadline.settings import Settings

__all__ = ("ModelChoices", "model_choices")


class ModelChoices(msgspec.Struct, frozen=True, kw_only=True):
    """The models a conversation may run on: the default first, the offline model last."""

    default: str
    allowed: tuple[str, ...]
    vision: frozenset[str] = frozenset()

    def allows(self, model: str) -> bool:
        """Whether a conversation may choose `model`."""
        return model in self.allowed

    def takes_images(self, model: str | None) -> bool:
        """Whether `model` (None: the default) is sent images."""
        return (model or self.default) in self.vision

    @classmethod
    def only(cls, model: str) -> ModelChoices:
        """One model and nothing to choose."""
        return cls(default=model, allowed=(model,))


def _ids(listed: str) -> list[str]:
    return [name.strip() for name in listed.split(",") if name.strip()]


def model_choices(settings: Settings) -> ModelChoices:
    """MODELS and VISION_MODELS as read: GROQ_MODEL first, the offline model always.

    Without a Groq key there is nobody to ask for another model: the offline model alone.
    """
    if settings.offline:
        return ModelChoices.only(OFFLINE_MODEL_NAME)
    listed = [settings.groq_model, *_ids(settings.models), OFFLINE_MODEL_NAME]
    return ModelChoices(
        default=settings.groq_model,
        allowed=tuple(dict.fromkeys(listed)),
        vision=frozenset(_ids(settings.vision_models)) - {OFFLINE_MODEL_NAME},
    )
