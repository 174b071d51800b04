"""Route a batch of requests given as JSON lines; one JSON line out per line in, errors included."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from pydantic import ValidationError

from mm_orch.schemas import UserRequest

__all__ = ["route_jsonl_lines"]

_CONTEXT_FIELDS = set(UserRequest.model_fields) - {"request_id"}


def _request(obj: Any) -> tuple[Any, UserRequest]:
    if not isinstance(obj, dict):
        raise ValueError(f'expected a JSON object like {{"id": 1, "query": "..."}}, got {type(obj).__name__}')
    if "query" not in obj:
        raise ValueError('missing \'query\'; each line needs at least {"query": "your question"}')
    unknown = set(obj) - _CONTEXT_FIELDS - {"id"}
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}; allowed: id, {', '.join(sorted(_CONTEXT_FIELDS))}")
    fields = {k: v for k, v in obj.items() if k != "id"}
    return obj.get("id"), UserRequest.model_validate(fields)


def route_jsonl_lines(router: Any, lines: Iterable[str], out: TextIO, *, explain: bool = False) -> int:
    """Route every non-blank line; print ``{"id", "workflow", "confidence", "router_version", "source",
    "abstained"}`` for each (``explain``: also ``alternatives``, ``reason`` and ``explanation``).

    A bad line prints ``{"id", "line", "error"}`` instead and the batch goes on; the exit code is 1 when any
    line failed, else 0. Output lines keep input order, so nothing is lost or reordered.
    """
    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        request_id: Any = None
        try:
            obj = json.loads(line)
            request_id = obj.get("id") if isinstance(obj, dict) else None
            request_id, request = _request(obj)
            decision = router.route(request)
            row: dict[str, Any] = {
                "id": request_id,
                "workflow": decision.workflow,
                "confidence": round(decision.confidence, 4),
                "router_version": decision.router_version,
                "source": decision.source,
                "abstained": decision.abstained,
            }
            if explain:
                row["alternatives"] = decision.alternatives
                row["reason"] = decision.reason
                row["explanation"] = (
                    decision.explanation.model_dump(exclude_none=True) if decision.explanation else None
                )
        except (ValueError, ValidationError) as exc:
            failures += 1
            message = str(exc).replace("\n", "; ")
            row = {"id": request_id, "line": number, "error": message}
        out.write(json.dumps(row) + "\n")
    return 1 if failures else 0
