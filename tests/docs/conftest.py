"""A scratch project directory for doc and guide tests: config/ copied, traces and models written there."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """cwd = a scratch dir holding a copy of config/ (and scripts/), so nothing lands in the checkout."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "scripts", root / "scripts")
    if (REPO / "data" / "router").is_dir():
        shutil.copytree(REPO / "data" / "router", root / "data" / "router")
    old = Path.cwd()
    os.chdir(root)
    from mm_orch.orchestration.phase_b_orchestrator import reset_phase_b_orchestrator
    from mm_orch.registries.workflow_registry import set_workflow_registry

    reset_phase_b_orchestrator()
    set_workflow_registry(None)
    try:
        yield root
    finally:
        reset_phase_b_orchestrator()
        set_workflow_registry(None)
        os.chdir(old)


@pytest.fixture(scope="module")
def shell() -> object:
    """``shell(line, cwd)`` -> (exit code, stdout, stderr) of one documented command line."""
    return _shell


def _shell(line: str, cwd: Path) -> tuple[int, str, str]:
    """Run one documented command line with this interpreter in place of `python`."""
    import shlex
    import subprocess

    argv = shlex.split(line)
    if argv[0] == "python":
        argv[0] = sys.executable
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MM_ORCH_ROOT": str(cwd), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout, proc.stderr
