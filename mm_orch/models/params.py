"""Wire types of the model layer: what a caller asks for and what a generator returns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChatMessage", "FinishReason", "GenerationChunk", "GenerationParams", "GenerationResult"]

FinishReason = Literal["stop", "length", "error"]


class GenerationParams(BaseModel):
    """Sampling and output controls for one generation call. Frozen: share one instance freely."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(default=256, ge=1, description="Most new tokens to generate.")
    temperature: float = Field(default=0.0, ge=0.0, le=5.0, description="0 means greedy (deterministic) decoding.")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus sampling mass; 1.0 disables it.")
    stop: list[str] = Field(
        default_factory=list, description="Stop sequences; the text ends before the first one generated."
    )
    seed: int | None = Field(default=None, description="Random seed for sampling (temperature > 0).")
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Ask for JSON output matching this JSON Schema. vLLM constrains decoding with a grammar; the "
            "transformers backend constrains it with xgrammar's logits processor when available, and always "
            "validates the result (ModelOutputError when it does not match)."
        ),
    )

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic (temperature 0)."""
        return self.temperature == 0.0


class GenerationResult(BaseModel):
    """One generated completion."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="Generated text, without the prompt and without the stop sequence.")
    prompt_tokens: int = Field(ge=0, description="Tokens in the prompt as the model saw it.")
    completion_tokens: int = Field(ge=0, description="Tokens generated.")
    finish_reason: FinishReason = Field(description="'stop' (EOS or stop sequence) or 'length' (max_tokens hit).")
    model: str = Field(description="Configured model name that produced the text.")
    latency_ms: float = Field(ge=0.0, description="Wall time of the call, milliseconds.")


class GenerationChunk(BaseModel):
    """One item of a streamed generation: a text delta, and on the last item the complete result.

    Joining the ``text`` of every chunk gives exactly ``result.text`` (leading and trailing whitespace is held
    back, as the non-streaming call strips it).
    """

    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", description="New text since the previous chunk (may be empty).")
    result: GenerationResult | None = Field(
        default=None, description="Set on the last chunk only: the whole completion, with its token counts."
    )


class ChatMessage(BaseModel):
    """One chat turn; ``chat()`` also accepts plain ``{"role": ..., "content": ...}`` dicts."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"] = Field(description="Who speaks.")
    content: str = Field(description="What they say.")
