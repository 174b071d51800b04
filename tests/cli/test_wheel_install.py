"""The built wheel works outside the checkout: build it, install it into a fresh venv, answer a question.

The venv gets the wheel with ``--no-deps``; its dependencies come from the environment running the tests (a .pth
line adds that environment's site-packages after the venv's own), so nothing is downloaded. The run happens in
an empty folder with no MM_ORCH_ROOT and no PYTHONPATH: configs, workflows and the router bootstrap data must
come from the wheel's package data, and what mm-orch writes goes to the user data directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
#: What the sdist-like copy needs: the packages, the metadata, and the files mm_orch/_bundled links to.
SOURCES = (
    "pyproject.toml",
    "README.md",
    "mm_orch",
    "steps",
    "router",
    "deployments",
    "serve",
    "config",
    "data/router",
)
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel built from this checkout; returns its bin folder."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    for name in SOURCES:
        origin = ROOT / name
        target = src / name
        if origin.is_dir():
            shutil.copytree(origin, target, symlinks=True, ignore=_JUNK)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MM_ORCH_ROOT")}
    wheels = base / "dist"
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
        cwd=base,
        env=env,
        timeout=300,
    )
    (wheel,) = wheels.glob("mm_orch-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base, env=env, timeout=120)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=base,
        env=env,
        timeout=60,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_mm_orch_test_deps.pth").write_text(
        "".join(f"{d}\n" for d in sorted(deps)), encoding="utf-8"
    )
    _run([*pip, "--python", str(python), "install", "--no-deps", "-q", str(wheel)], cwd=base, env=env, timeout=300)
    return venv / "bin"


def _outside(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MM_ORCH_ROOT")}
    env.update(MM_ORCH_DATA_DIR=str(tmp_path / "user-data"), HF_HUB_OFFLINE="1")
    return env


def test_the_installed_package_is_the_wheel_and_finds_its_bundled_config(installed: Path, tmp_path: Path) -> None:
    env = _outside(tmp_path)
    where = _run([str(installed / "python"), "-c", "import mm_orch, steps; print(mm_orch.__file__); print(steps.__file__)"], cwd=tmp_path, env=env, timeout=60)  # fmt: skip
    assert all(line.startswith(str(installed.parent)) for line in where.stdout.split())
    listed = _run([str(installed / "mm-orch"), "workflows", "--json"], cwd=tmp_path, env=env, timeout=120)
    names = {row["name"] for row in __import__("json").loads(listed.stdout)}
    assert names == {p.stem for p in (ROOT / "config" / "workflows").glob("*.yaml")}


def test_the_installed_cli_answers_quietly_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    env = _outside(tmp_path)
    timings = []
    for _ in range(2):  # the first run may train the router into the user data dir; the second reuses it
        started = time.perf_counter()
        done = _run(
            [str(installed / "mm-orch"), "--phase-b", "What is Python?"], cwd=tmp_path, env=env, timeout=300
        )
        timings.append(time.perf_counter() - started)
        assert "Sources:" in done.stdout
        assert "[1]" in done.stdout
        noise = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("[workflow=")]
        assert noise == [], f"a normal run printed more than its status line: {noise}"
        assert "phase=B" in done.stderr
    assert (tmp_path / "user-data" / "models").is_dir()  # what it wrote went to the user data dir
    print(f"installed CLI: first run {timings[0]:.1f} s, second run {timings[1]:.1f} s")
