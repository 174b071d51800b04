"""Answer-quality evaluation, end to end through the Phase B orchestrator.

``python -m mm_orch.evaluation --split dev`` runs the split's questions (single, bridge, comparison,
unanswerable) and lesson/chat prompts through the default router (and any forced workflows), and prints per
kind: retrieval recall, citation hit, answer contains / exact / token F1, how often the model wrote the answer,
refusal precision and recall, latency p50/p95 (see docs/quality.md).
"""

from mm_orch.evaluation.dataset import EvalPrompt, EvalQuestion, load_prompts, load_questions, split_paths
from mm_orch.evaluation.metrics import answer_contains, answer_correct, exact_match, hit_at_k, token_f1
from mm_orch.evaluation.report import aggregate, aggregate_prompts, format_prompt_table, format_table
from mm_orch.evaluation.runner import EvalConfig, PromptResult, QuestionResult, run_prompts, run_questions
from mm_orch.evaluation.structure import score_structure

__all__ = [
    "EvalConfig",
    "EvalPrompt",
    "EvalQuestion",
    "PromptResult",
    "QuestionResult",
    "aggregate",
    "aggregate_prompts",
    "answer_contains",
    "answer_correct",
    "exact_match",
    "format_prompt_table",
    "format_table",
    "hit_at_k",
    "load_prompts",
    "load_questions",
    "run_prompts",
    "run_questions",
    "score_structure",
    "split_paths",
    "token_f1",
]
