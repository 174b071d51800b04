"""Train RouterV2 from traces (the migration guide's command); see ``python -m router.train --help``.

python scripts/train_router_v2.py --traces data/traces/traces.jsonl --output models/router_v2
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from router.train import main

if __name__ == "__main__":
    raise SystemExit(main())
