"""What a model call's span says: GenAI attributes, never the messages."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableConfig
from opentelemetry.trace import Span

from threadline.observability.tracing import CONVERSATION_ID

__all__ = ("describe_reply", "model_call_attributes")


def _chat_model(model: Runnable[Any, Any]) -> Any:
    """The chat model under the bindings (`bind_tools`, configuration) around it."""
    while hasattr(model, "bound"):
        model = model.bound
    return model


def model_call_attributes(model: Runnable[Any, Any], config: RunnableConfig) -> dict[str, Any]:
    """The request side: operation, provider, model and conversation."""
    chat_model = _chat_model(model)
    kind = str(getattr(chat_model, "_llm_type", "unknown"))
    conversation = (config.get("configurable") or {}).get("thread_id", "")
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "groq" if "groq" in kind else kind,
        "gen_ai.request.model": str(getattr(chat_model, "model_name", None) or kind),
        CONVERSATION_ID: str(conversation),
    }


def describe_reply(call: Span, reply: AIMessage) -> None:
    """The response side: the model that answered, why it stopped, the tokens used."""
    metadata = reply.response_metadata
    if model := metadata.get("model_name"):
        call.set_attribute("gen_ai.response.model", str(model))
    if reason := metadata.get("finish_reason"):
        call.set_attribute("gen_ai.response.finish_reasons", [str(reason)])
    if usage := reply.usage_metadata:
        call.set_attribute("gen_ai.usage.input_tokens", usage["input_tokens"])
        call.set_attribute("gen_ai.usage.output_tokens", usage["output_tokens"])
