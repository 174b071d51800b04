"""mm_orch.paths: the project, the bundled copies inside the package, the user directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_orch import paths

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_checkout_is_the_project_when_the_cwd_is_not_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(paths.PROJECT_ROOT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert paths.project_root() == CHECKOUT


def test_a_cwd_with_config_workflows_is_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(paths.PROJECT_ROOT_ENV, raising=False)
    (tmp_path / "config" / "workflows").mkdir(parents=True)
    (tmp_path / "config" / "phase_b.yaml").write_text("router: {version: v1}\n")
    monkeypatch.chdir(tmp_path)
    assert paths.project_root() == tmp_path
    assert paths.config_path("config/phase_b.yaml") == tmp_path / "config" / "phase_b.yaml"
    # settings the project lacks stay absent (deleting phase_b.yaml turns Phase B off) ...
    assert paths.config_path("config/system.yaml") == tmp_path / "config" / "system.yaml"
    # ... while shipped data the project lacks comes from the bundled copy
    assert paths.resource_path("data/router/bootstrap.jsonl") == paths.bundled_path("data/router/bootstrap.jsonl")
    assert paths.writable_path("data/traces/t.jsonl") == tmp_path / "data" / "traces" / "t.jsonl"


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.PROJECT_ROOT_ENV, str(tmp_path))
    assert paths.project_root() == tmp_path
    assert paths.writable_path("models/router_v3") == tmp_path / "models" / "router_v3"


@pytest.mark.parametrize(
    "relative",
    [
        "config/phase_b.yaml",
        "config/system.yaml",
        "config/workflows/search_qa.yaml",
        "data/router/bootstrap.jsonl",
    ],
)
def test_every_bundled_file_is_the_projects_file(relative: str) -> None:
    bundled = paths.bundled_path(relative)
    assert bundled.is_file(), f"{bundled} missing: the wheel would not ship {relative}"
    assert bundled.read_bytes() == (CHECKOUT / relative).read_bytes()


def test_without_a_project_reads_come_from_the_package_and_writes_go_to_the_user_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "project_root", lambda: None)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "data-home"))
    assert paths.config_path("config/phase_b.yaml") == paths.bundled_path("config/phase_b.yaml")
    assert paths.resource_path("data/router/bootstrap.jsonl") == paths.bundled_path("data/router/bootstrap.jsonl")
    assert (
        paths.writable_path("data/sessions/chat.jsonl")
        == tmp_path / "data-home" / "data" / "sessions" / "chat.jsonl"
    )


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    assert paths.resource_path(tmp_path / "x.yaml") == tmp_path / "x.yaml"
    assert paths.config_path(tmp_path / "x.yaml") == tmp_path / "x.yaml"
    assert paths.writable_path(tmp_path / "y") == tmp_path / "y"


def test_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path))
    assert paths.cache_dir() == tmp_path
    monkeypatch.delenv(paths.CACHE_DIR_ENV)
    assert paths.cache_dir().name == paths.APP_NAME
