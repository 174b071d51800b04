"""Chat history per session id: bounded, thread-safe, in memory, optionally persisted as JSONL."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

from pydantic import ValidationError

from mm_orch.exceptions import ConfigError
from mm_orch.schemas import ChatTurn

__all__ = ["SessionStore"]


class SessionStore:
    """``history(session_id)`` and ``append(session_id, role, content)``.

    Keeps at most ``max_sessions`` sessions (least recently used are dropped) and ``max_turns`` turns per
    session. With ``path`` set, every turn is also appended to a JSONL file and reloaded on start.
    """

    def __init__(self, *, max_sessions: int = 10_000, max_turns: int = 50, path: str | Path | None = None) -> None:
        if max_sessions < 1 or max_turns < 1:
            raise ConfigError(f"max_sessions and max_turns must be >= 1, got {max_sessions} and {max_turns}")
        self.max_sessions = max_sessions
        self.max_turns = max_turns
        self.path = Path(path) if path is not None else None
        self._sessions: OrderedDict[str, list[ChatTurn]] = OrderedDict()
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            self._load(self.path)

    def _load(self, path: Path) -> None:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                self._remember(str(row["session_id"]), ChatTurn(role=row["role"], content=row["content"]))
            except (ValueError, KeyError, ValidationError) as exc:
                raise ConfigError(
                    f"{path}:{number} is not a valid session line ({exc}); fix or delete that "
                    f"line (each line is {{'session_id', 'role', 'content'}})"
                ) from exc

    def _remember(self, session_id: str, turn: ChatTurn) -> None:
        turns = self._sessions.pop(session_id, [])
        turns.append(turn)
        self._sessions[session_id] = turns[-self.max_turns :]
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)

    def history(self, session_id: str) -> list[ChatTurn]:
        """The session's turns, oldest first (empty for an unknown session)."""
        with self._lock:
            return list(self._sessions.get(session_id, []))

    def append(self, session_id: str, role: str, content: str) -> None:
        """Add one turn (role: user, assistant or system)."""
        turn = ChatTurn(role=role, content=content)  # type: ignore[arg-type]
        with self._lock:
            self._remember(session_id, turn)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"session_id": session_id, **turn.model_dump()}) + "\n")

    def clear(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)
