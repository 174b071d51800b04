"""One Citation type: results, traces, the steps and the HTTP API all use the same class."""

from __future__ import annotations

import ast
from pathlib import Path

from mm_orch.observability import Citation as TraceCitation
from mm_orch.schemas import Citation, WorkflowResult

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mm_orch", "steps", "serve", "router", "deployments")


def test_every_public_citation_name_is_the_one_class() -> None:
    import steps
    from serve import openai_schemas

    assert steps.Citation is Citation
    assert TraceCitation is Citation
    assert openai_schemas.Citation is Citation
    assert WorkflowResult.model_fields["citations"].annotation == list[Citation]


def test_no_package_defines_a_second_citation_class() -> None:
    defined = [
        f"{path.relative_to(ROOT)} {node.name}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Citation")
    ]
    assert defined == ["mm_orch/observability/records.py Citation"]
