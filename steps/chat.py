"""``chat``: answer the next turn of a conversation, keeping history per session id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mm_orch.exceptions import MMOrchError
from mm_orch.models import GenerationParams
from mm_orch.models.call_context import reply_chat
from mm_orch.orchestration import BaseStep, State
from steps.common import StepInputError, get_generator

__all__ = ["ChatStep"]

_SYSTEM = "You are a helpful, friendly assistant. Keep replies short."
_FALLBACK = "Sorry, I could not produce a reply just now. Please try again."


def _turns(raw: Any) -> list[dict[str, str]]:
    """Validate a caller-given ``history``: a list of {role, content} with role user/assistant/system."""
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise StepInputError(
            f"state['history'] must be a list of {{role, content}} dicts, got {type(raw).__name__}"
        )
    turns = []
    for i, turn in enumerate(raw):
        role = turn.get("role") if isinstance(turn, dict) else getattr(turn, "role", None)
        content = turn.get("content") if isinstance(turn, dict) else getattr(turn, "content", None)
        if role not in ("user", "assistant", "system") or not isinstance(content, str):
            raise StepInputError(
                f"state['history'][{i}] = {turn!r} is not a chat turn; give {{'role': 'user'|'assistant'|"
                "'system', 'content': str}"
            )
        turns.append({"role": str(role), "content": content})
    return turns


class ChatStep(BaseStep):
    """``question`` (+ ``session_id``, ``history``) -> ``answer``, ``history``, ``citations``, ``quality_signals``.

    History comes from ``state['history']`` when given, else from ``runtime.sessions`` for ``session_id``; the
    last ``chat_max_turns`` (default 8) turns are sent. With a ``session_id`` both the question and the reply
    are appended to the session store, so the next request with that id continues the conversation.
    """

    name = "chat"
    description = "Reply to a conversational message, with per-session history."
    input_keys = ["question"]
    output_keys = ["answer", "citations", "quality_signals", "history"]
    optional_input_keys = ["session_id", "history"]
    required_capabilities = ["chat"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        session_id = state.get("session_id")
        if state.get("history") is not None:
            history = _turns(state.get("history"))
        elif session_id and getattr(runtime, "sessions", None) is not None:
            history = [t.model_dump() for t in runtime.sessions.history(str(session_id))]
        else:
            history = []
        history = history[-int(runtime.setting("chat_max_turns", 8)) :]
        messages = [{"role": "system", "content": _SYSTEM}, *history, {"role": "user", "content": question}]
        failures = 0
        try:
            model = await get_generator(runtime, self.model_name)
            params = GenerationParams(max_tokens=int(runtime.setting("chat_max_tokens", 96)))
            # reply_chat: the caller's sampling overrides apply, and a streaming caller gets the tokens live.
            reply = (await reply_chat(model, messages, params)).text.strip() or _FALLBACK
        except MMOrchError:
            reply, failures = _FALLBACK, 1
        if session_id and getattr(runtime, "sessions", None) is not None:
            runtime.sessions.append(str(session_id), "user", question)
            runtime.sessions.append(str(session_id), "assistant", reply)
        new_history = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": reply}]
        signals = {
            "citations": 0,
            "sources_used": 0,
            "grounded": False,
            "structure_valid": True,
            "refused": False,
            "failures": failures,
            "history_turns": len(history),
        }
        return {"answer": reply, "citations": [], "quality_signals": signals, "history": new_history}
