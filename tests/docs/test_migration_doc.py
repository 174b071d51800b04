"""Every code block of docs/migration.md runs: python blocks in order in one namespace, each bash line as a
command, each YAML block validated as the config file it names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mm_orch.configuration import PhaseBConfig, SystemConfig

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "migration.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


def test_the_doc_has_blocks_of_each_kind() -> None:
    assert len(blocks("python")) >= 8
    assert len(blocks("bash")) >= 2
    assert len(blocks("yaml")) == 2


def test_python_blocks_run_in_order(project_dir: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "migration_doc"}
    for number, code in enumerate(blocks("python"), start=1):
        try:
            exec(compile(code, f"{DOC.name}#python-{number}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"python block {number} of {DOC.name} failed: {exc!r}\n{code}") from exc
    assert namespace["result"].answer
    assert "Paris" in namespace["result"].answer
    assert "Paris" in namespace["legacy"].answer  # the legacy (Phase A) run answers the same question


def test_yaml_blocks_are_valid_configs() -> None:
    for body in blocks("yaml"):
        data = yaml.safe_load(body)
        model = SystemConfig if "system.yaml" in body.splitlines()[0] else PhaseBConfig
        config = model.model_validate(data)
        assert isinstance(data, dict)
        assert config.model_dump(include=set(data)) != model().model_dump(include=set(data)), (
            f"the doc's {model.__name__} block sets nothing a default does not already"
        )


def test_bash_lines_run(project_dir: Path, shell: Any) -> None:
    for body in blocks("bash"):
        for line in body.strip().splitlines():
            code, out, err = shell(line, project_dir)
            assert code == 0, f"`{line}` exited {code}:\n{out}\n{err[-3000:]}"
