"""Wire schemas of the OpenAI-compatible routes: /v1/chat/completions and /v1/models.

The shapes follow OpenAI's Chat Completions API, so the official ``openai`` SDK (and any OpenAI client) can talk
to mm-orch. What mm-orch adds travels in one extension field, ``mm_orch`` (:class:`MMOrchExtension`): plain
clients ignore it; ours read it (``completion.model_extra["mm_orch"]`` with the SDK).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from mm_orch.schemas import Citation

__all__ = [
    "AUTO_MODELS",
    "ChatChoice",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatDelta",
    "ChatRequestMessage",
    "ChatRequestOptions",
    "ChunkChoice",
    "MMOrchExtension",
    "ModelCard",
    "ModelList",
    "OpenAIError",
    "OpenAIErrorBody",
    "ResponseMessage",
    "StreamOptions",
    "TextPart",
    "Usage",
]

#: ``model`` values that let the router choose the workflow.
AUTO_MODELS = ("mm-orch", "auto")


_STOP_LIST = {"type": "array", "items": {"type": "string"}, "maxItems": 4}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Wire):
    """One content part of a message; only text parts are accepted."""

    type: str = Field(description="'text' (other part types, e.g. images, are refused with 422).")
    text: str = Field(default="", description="The text.")


class ChatRequestMessage(_Wire):
    """One message of the conversation. 'developer' is treated as 'system'."""

    role: Literal["system", "developer", "user", "assistant", "tool"] = Field(description="Who speaks.")
    content: str | list[TextPart] | None = Field(default=None, description="Text, or a list of text parts.")
    name: str | None = Field(default=None, description="Accepted and ignored.")

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class StreamOptions(_Wire):
    """``stream_options`` of a streaming request."""

    include_usage: bool = Field(default=False, description="Send a last chunk with the whole run's usage.")


class ChatRequestOptions(_Wire):
    """mm-orch request options, sent as the ``mm_orch`` field (``extra_body={"mm_orch": {...}}`` in the SDK)."""

    session_id: str | None = Field(default=None, max_length=128, description="Chat session to continue/keep.")
    collection: str | None = Field(default=None, description="Document collection to answer from (RAG).")
    documents: list[str] = Field(default_factory=list, description="Attached document texts or ids.")
    require_citations: bool = Field(default=False, description="Every claim must cite a source.")


class ChatCompletionRequest(_Wire):
    """POST /v1/chat/completions. ``model`` is a workflow name, or 'mm-orch'/'auto' to let the router choose."""

    model: str = Field(min_length=1, description="A workflow name (GET /v1/models), or 'mm-orch' / 'auto'.")
    messages: list[ChatRequestMessage] = Field(
        min_length=1, description="The conversation, oldest first; the last message is the user's question."
    )
    stream: bool = Field(default=False, description="Answer with Server-Sent Events (chat.completion.chunk).")
    stream_options: StreamOptions | None = Field(default=None, description="Streaming options.")
    max_tokens: int | None = Field(default=None, ge=1, description="Most tokens in the reply.")
    max_completion_tokens: int | None = Field(default=None, ge=1, description="Same as max_tokens (newer name).")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="0 (default): greedy.")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    seed: int | None = Field(default=None, description="Sampling seed.")
    # maxItems declared in OpenAPI (the validator refuses more, with its own message); the schema fuzzer checks it.
    stop: str | Annotated[list[str], WithJsonSchema(_STOP_LIST)] | None = Field(
        default=None, description="Up to 4 stop sequences."
    )
    n: int = Field(default=1, ge=1, description="Only 1 is supported.")
    user: str | None = Field(default=None, description="End-user id (recorded in the trace context).")
    metadata: dict[str, str] | None = Field(default=None, description="Accepted and ignored.")
    # Accepted so that clients sending their defaults are not refused; values that need features mm-orch does
    # not have are refused with 422 by the route (see serve.openai_routes).
    frequency_penalty: float | None = Field(default=None, description="Only 0 is supported.")
    presence_penalty: float | None = Field(default=None, description="Only 0 is supported.")
    logprobs: bool | None = Field(default=None, description="Not supported (422 when true).")
    top_logprobs: int | None = Field(default=None, description="Not supported.")
    tools: list[dict[str, Any]] | None = Field(default=None, description="Not supported (422).")
    tool_choice: Any = Field(default=None, description="Not supported unless 'none'.")
    response_format: dict[str, Any] | None = Field(default=None, description="Only {'type': 'text'}.")
    mm_orch: ChatRequestOptions | None = Field(default=None, description="mm-orch options (session, RAG).")

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError(f"at most 4 stop sequences, got {len(value)}")
        return value

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class Usage(_Wire):
    """Tokens of every model call the run made (not only the reply)."""

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class MMOrchExtension(_Wire):
    """What mm-orch adds to a completion: how it was answered and where to look it up."""

    workflow: str = Field(description="The workflow that ran.")
    router_version: str | None = Field(default=None, description="'forced' when the model named the workflow.")
    router_confidence: float | None = Field(default=None, description="The router's confidence in the workflow.")
    citations: list[Citation] = Field(default_factory=list, description="Sources the answer cites.")
    trace_id: str = Field(description="Id of the run's trace; send it with POST /v1/feedback.")
    request_id: str = Field(description="The request id (X-Request-Id).")
    success: bool = Field(default=True, description="False when the workflow failed and a fallback answered.")
    using_phase_b: bool = Field(default=True, description="False when the Phase A pipelines answered.")


class ResponseMessage(_Wire):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(_Wire):
    index: int = 0
    message: ResponseMessage
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: None = None


class ChatCompletion(_Wire):
    """A non-streaming answer (object 'chat.completion')."""

    id: str = Field(description="'chatcmpl-' + the request id.")
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(description="Unix time (s).")
    model: str = Field(description="The model the request named.")
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None
    mm_orch: MMOrchExtension = Field(description="mm-orch's extension: workflow, router, citations, trace id.")


class ChatDelta(_Wire):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(_Wire):
    index: int = 0
    delta: ChatDelta
    finish_reason: Literal["stop", "length"] | None = None
    logprobs: None = None


class ChatCompletionChunk(_Wire):
    """One streamed event (object 'chat.completion.chunk'); the chunk with a finish_reason carries mm_orch."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    mm_orch: MMOrchExtension | None = None


class ModelCard(_Wire):
    """One entry of GET /v1/models: a workflow, or the router ('mm-orch')."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "mm-orch"
    description: str = Field(default="", description="What the workflow is for.")


class ModelList(_Wire):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorBody(_Wire):
    message: str = Field(description="What failed and how to fix it.")
    type: str = Field(description="e.g. 'invalid_request_error', 'authentication_error', 'rate_limit_error'.")
    param: str | None = Field(default=None, description="The request field at fault, when there is one.")
    code: str | None = Field(default=None, description="Stable code, e.g. 'model_not_found', 'invalid_api_key'.")


class OpenAIError(_Wire):
    """Every error body of the OpenAI-compatible routes."""

    error: OpenAIErrorBody
