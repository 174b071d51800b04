"""``python -m mm_orch.routing``: route questions with the configured chain and print the decisions.

    python -m mm_orch.routing "Who was president when the Eiffel Tower was built?"
    python -m mm_orch.routing --jsonl requests.jsonl --config config/phase_b.yaml > decisions.jsonl

``--jsonl`` reads one request per line (a UserRequest object, or a JSON string) and writes one decision per line
(with the request_id echoed). The router block of ``--config`` (``router:``) is the same one the orchestrator uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from mm_orch.exceptions import ConfigError, MMOrchError
from mm_orch.routing.chain import build_router
from mm_orch.schemas import UserRequest

__all__ = ["main", "router_config_from_yaml"]


def router_config_from_yaml(path: str | Path) -> dict[str, Any]:
    """The ``router:`` block of a Phase B YAML file (``{}`` when the file has none)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} not found; pass --config config/phase_b.yaml or omit --config")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    block = data.get("router", {}) if isinstance(data, dict) else {}
    if not isinstance(block, dict):
        raise ConfigError(
            f"{p}: 'router' must be a mapping such as {{version: v3, model_path: ...}}, got {block!r}"
        )
    return block


def _request(line: str) -> UserRequest:
    value = json.loads(line)
    return UserRequest(query=value) if isinstance(value, str) else UserRequest.model_validate(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    p = argparse.ArgumentParser(prog="python -m mm_orch.routing", description=__doc__.splitlines()[0])
    p.add_argument("question", nargs="*", help="question(s) to route")
    p.add_argument("--jsonl", help="file of requests, one JSON per line ('-' for stdin)")
    p.add_argument("--config", help="YAML file with a 'router:' block (e.g. config/phase_b.yaml)")
    p.add_argument("--version", choices=["v1", "v2", "v3"], help="override router.version")
    args = p.parse_args(argv)
    try:
        cfg = router_config_from_yaml(args.config) if args.config else {}
        if args.version:
            cfg["version"] = args.version
        chain = build_router(cfg)
        if args.jsonl:
            stream = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")  # noqa: SIM115
            with stream:
                for line in stream:
                    if line.strip():
                        req = _request(line)
                        out = chain.route(req).model_dump()
                        print(json.dumps({"request_id": req.request_id, **out}))
        for q in args.question:
            print(chain.route(q).model_dump_json())
    except (MMOrchError, json.JSONDecodeError, ValueError) as exc:
        print(f"routing failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
