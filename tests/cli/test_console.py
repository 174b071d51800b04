"""The quiet console: third-party bars, logs and warnings silenced by default; mm-orch's own stay; -v shows all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, logging, os, sys, warnings, types
from mm_orch.console import configure
configure(verbose=sys.argv[1] == "1")
third = types.ModuleType("bm25s.fake")  # a warning issued from inside a third-party module
exec("import warnings\\ndef warn():\\n    warnings.warn('3rd-party deprecation', FutureWarning)", third.__dict__)
third.__dict__["__name__"] = "bm25s.fake"
third.warn()
own = {"__name__": "mm_orch.fake"}
exec("import warnings\\ndef warn():\\n    warnings.warn('mm-orch warning', UserWarning)", own)
own["warn"]()
logging.getLogger("transformers").info("3rd-party info")
logging.getLogger("mm_orch.x").info("own info")
print(json.dumps({k: os.environ.get(k) for k in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")}))
"""


def _probe(verbose: bool) -> tuple[dict[str, str | None], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "1" if verbose else "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout), done.stderr


def test_default_is_quiet_for_third_parties_and_keeps_own_warnings() -> None:
    env, err = _probe(verbose=False)
    assert env == {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1"}
    assert "3rd-party deprecation" not in err
    assert "3rd-party info" not in err
    assert "own info" not in err
    assert "UserWarning: mm-orch warning" in err


def test_verbose_shows_everything() -> None:
    env, err = _probe(verbose=True)
    assert env == {"HF_HUB_DISABLE_PROGRESS_BARS": None, "TQDM_DISABLE": None}
    assert "FutureWarning: 3rd-party deprecation" in err
    assert "INFO mm_orch.x: own info" in err
