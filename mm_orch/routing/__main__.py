"""``python -m mm_orch.routing``: an alias of ``mm-orch route`` (one routing CLI; see mm_orch/routing/cli.py).

python -m mm_orch.routing --explain "Who was president when the Eiffel Tower was built?"
python -m mm_orch.routing --jsonl requests.jsonl --config config/phase_b.yaml > decisions.jsonl
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code of ``mm-orch route``."""
    from mm_orch.main import main as cli

    return cli(["route", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
