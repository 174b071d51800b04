"""mm-orch: multi-model orchestration for question answering."""

__version__ = "0.1.0"
__all__ = ["__version__"]
