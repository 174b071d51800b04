"""Model backends behind one interface. Heavy backends (transformers, vLLM, sentence-transformers) are imported
from their own modules on demand, so importing this package never imports torch or vLLM."""

from mm_orch.models.backends.base import BaseEmbedder, BaseGenerator, RawCompletion, summarize_messages
from mm_orch.models.backends.fake import FakeEmbedder, FakeGenerator

__all__ = ["BaseEmbedder", "BaseGenerator", "FakeEmbedder", "FakeGenerator", "RawCompletion", "summarize_messages"]
