"""Quality evaluation of workflows: retrieval hit@k and answer accuracy over the committed evaluation set.

``python -m mm_orch.evaluation --workflows search_qa,rag_qa [--limit N]`` runs each workflow on
data/eval/questions.jsonl, prints a table and writes a JSON report (see docs/quality.md).
"""

from mm_orch.evaluation.dataset import EvalQuestion, load_questions
from mm_orch.evaluation.metrics import answer_correct, hit_at_k
from mm_orch.evaluation.runner import EvalConfig, QuestionResult, WorkflowReport, evaluate

__all__ = [
    "EvalConfig",
    "EvalQuestion",
    "QuestionResult",
    "WorkflowReport",
    "answer_correct",
    "evaluate",
    "hit_at_k",
    "load_questions",
]
