"""Model-layer errors beyond the shared tree (each subclasses a branch of :mod:`mm_orch.exceptions`)."""

from __future__ import annotations

from mm_orch.exceptions import ModelError

__all__ = ["ContextLengthError", "ModelOutputError", "ModelRequestError"]


class ModelRequestError(ModelError, ValueError):
    """A call to a model was malformed (bad chat message, bad argument); the message says how to fix it."""


class ContextLengthError(ModelRequestError):
    """A prompt does not fit the model's context length; the message gives both numbers and the fix."""


class ModelOutputError(ModelError):
    """A model's output broke the requested contract (e.g. JSON that does not match ``json_schema``)."""
