"""Read a YAML file into a pydantic model: ``yaml.safe_load`` only, and errors that name the file, the key,
the bad value and what is allowed. Every config and workflow file goes through :func:`load_yaml_model`."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mm_orch.exceptions import ConfigError

__all__ = ["explain_validation_error", "load_yaml_model"]

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Read ``path`` with yaml.safe_load and validate it as ``model``; errors name the key and the fix."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid:\n{explain_validation_error(exc)}") from exc


def explain_validation_error(exc: ValidationError) -> str:
    """One line per error: the dotted key, what is wrong, the value given and, where known, what is allowed."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        allowed = ""
        ctx = err.get("ctx") or {}
        if "expected" in ctx:
            allowed = f"; allowed: {ctx['expected']}"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key (value {err['input']!r}); remove it or fix its spelling")
        else:
            lines.append(f"  {key}: {err['msg']} (got {err.get('input')!r}){allowed}")
    return "\n".join(lines)
