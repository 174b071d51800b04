"""The exception tree drawn in mm_orch/exceptions.py is the real one, and complete."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import mm_orch.exceptions as exceptions_module
from mm_orch.exceptions import MMOrchError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mm_orch", "steps", "serve", "router", "deployments")


def _drawing() -> dict[str, tuple[str | None, str]]:
    """name -> (parent name, module path) as drawn in the docstring."""
    doc = exceptions_module.__doc__ or ""
    lines = doc.split("::", 1)[1].splitlines()
    drawn: dict[str, tuple[str | None, str]] = {}
    stack: list[tuple[int, str]] = []
    for line in lines:
        if not line.strip():
            continue
        stripped = line.lstrip(" │├└─")
        name = stripped.split()[0]
        depth = len(line) - len(stripped)
        module_match = re.search(r"\(([\w/]+\.py)\)", stripped)
        module = module_match.group(1) if module_match else "mm_orch/exceptions.py"
        while stack and stack[-1][0] >= depth:
            stack.pop()
        drawn[name] = (stack[-1][1] if stack else None, module)
        stack.append((depth, name))
    return drawn


def _class(name: str, module_path: str) -> type:
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    cls = getattr(module, name)
    assert isinstance(cls, type)
    return cls


def test_every_drawn_class_exists_under_its_drawn_parent() -> None:
    drawn = _drawing()
    assert drawn["MMOrchError"] == (None, "mm_orch/exceptions.py")
    for name, (parent, module) in drawn.items():
        cls = _class(name, module)
        if parent is not None:
            assert parent in [base.__name__ for base in cls.__bases__], f"{name} should subclass {parent}"
            assert issubclass(cls, MMOrchError)


def test_every_exception_class_of_the_project_is_drawn() -> None:
    drawn = set(_drawing())
    public = {n for n in exceptions_module.__all__ if n.endswith("Error")}
    assert public <= drawn, f"missing from the drawing: {sorted(public - drawn)}"
    defined = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if any(b.endswith(("Error", "Exception")) for b in bases):
                        defined[node.name] = f"{path.relative_to(ROOT)}"
    missing = {name: where for name, where in defined.items() if name not in drawn}
    assert not missing, f"exception classes not drawn in mm_orch/exceptions.py (or outside the tree): {missing}"
