"""Read a YAML file into a pydantic model: ``yaml.safe_load`` only, and errors that name the file, the key,
the bad value and what is allowed. Every config and workflow file goes through :func:`load_yaml_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

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
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{path} is not valid YAML{where}: {problem}; fix the syntax there (check brackets, quotes and "
            "indentation; indent with spaces, not tabs)"
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid:\n{explain_validation_error(exc, model)}") from exc


#: What to write instead, by pydantic error type (the message says what is wrong; this says how to fix it).
_FIXES = {
    "literal_error": "use one of the values listed",
    "enum": "use one of the values listed",
    "list_type": "write a list, e.g. [a, b] (a single item too: [a])",
    "string_type": "write text (quote it in YAML)",
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "dict_type": "write a mapping (key: value)",
    "model_type": "write a mapping (key: value)",
    "model_attributes_type": "write a mapping (key: value)",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value",
    "too_short": "give more items or characters",
    "too_long": "give fewer items or characters",
}


def explain_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One line per error: the dotted key, what is wrong, the value given and, where known, what is allowed.

    With ``model`` (the model that was validated) an unknown key also lists the known keys at its level, and
    a missing key says what it is for (its field description)."""
    by_key: dict[str, list[str]] = {}
    for err in exc.errors():
        # union members tag the location (e.g. "literal['a','b']", "callable"): the key is what the user wrote
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p == "callable")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        ctx = err.get("ctx") or {}
        allowed = (
            f"; allowed: {ctx['expected']}" if "expected" in ctx and ctx["expected"] not in err["msg"] else ""
        )
        if err["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1])
            hint = f"; known keys: {', '.join(sorted(known))}" if known else ""
            problem = f"unknown key (value {err['input']!r}); remove it or fix its spelling{hint}"
        elif err["type"] == "missing":
            field = _fields_at(model, loc[:-1]).get(str(loc[-1])) if loc else None
            problem = (
                f"missing ({field.description}); add it" if field and field.description else "missing; add it"
            )
        else:
            message = err["msg"].removeprefix("Value error, ")
            fix = f"; {_FIXES[err['type']]}" if err["type"] in _FIXES else ""
            problem = f"{message} (got {err.get('input')!r}){allowed}{fix}"
        by_key.setdefault(key, []).append(problem)
    lines = [f"  {key}: {' - or - '.join(problems)}" for key, problems in by_key.items()]
    return "\n".join(lines)


def _fields_at(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> dict[str, FieldInfo]:
    """The fields of the (nested) model found at ``loc`` inside ``model``; {} when it cannot be told."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return {}
        field = current.model_fields.get(str(part))
        if field is None:  # a dict key or list index: stay on the container's item type
            continue
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return dict(current.model_fields)
    return {}


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds (itself, or inside Optional / list / dict), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
