"""Device and dtype decisions from a model's device policy."""

from __future__ import annotations

from typing import Any

from mm_orch.exceptions import ModelUnavailableError
from mm_orch.models.metadata import ModelMetadata

__all__ = ["gpu_available", "resolve_torch_device", "torch_dtype"]


def gpu_available() -> bool:
    """True when torch sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_torch_device(meta: ModelMetadata) -> str:
    """'cuda' or 'cpu' for ``meta.device``; ModelUnavailableError when 'cuda' is asked for and none exists."""
    if meta.device == "cpu":
        return "cpu"
    has_gpu = gpu_available()
    if meta.device == "cuda" and not has_gpu:
        raise ModelUnavailableError(
            f"model {meta.name!r} has device: cuda but no GPU is visible to torch on this machine; "
            "set device: cpu (or auto) in the models config, or run on a GPU machine with `mm-orch[gpu]`"
        )
    return "cuda" if has_gpu else "cpu"


def torch_dtype(meta: ModelMetadata, device: str) -> Any:
    """The torch dtype to load with: float32 on CPU for 'auto' (fastest there), the checkpoint's on GPU."""
    import torch

    if meta.dtype == "auto":
        return torch.float32 if device == "cpu" else "auto"
    return getattr(torch, meta.dtype)
