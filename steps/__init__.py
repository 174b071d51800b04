"""The built-in steps of mm-orch, loaded by import path (``"steps:BUILTIN_STEPS"``).

Each step is a :class:`mm_orch.orchestration.BaseStep` that asks the runtime for its models and tools, so the same
code runs in-process and inside the Ray Serve cluster. See docs/workflows.md for the state keys they share.
"""

from steps.answer import REFUSAL, AnswerStep, StrictAnswerStep, compose_answer
from steps.chat import ChatStep
from steps.common import Citation, SourceDoc, StepInputError
from steps.lesson import Exercise, Lesson, LessonSection, LessonStep, QuizQuestion, build_lesson
from steps.retrieve import RerankStep, RetrieveStep
from steps.self_ask import SelfAskComposeStep, SelfAskDecomposeStep, SelfAskHopStep
from steps.sources import FetchStep, SearchFastStep, SearchStep, SnippetSourcesStep
from steps.summarize import SummarizeStep

BUILTIN_STEPS = [
    SearchStep,
    SearchFastStep,
    FetchStep,
    SnippetSourcesStep,
    SummarizeStep,
    AnswerStep,
    StrictAnswerStep,
    RetrieveStep,
    RerankStep,
    LessonStep,
    ChatStep,
    SelfAskDecomposeStep,
    SelfAskHopStep,
    SelfAskComposeStep,
]

__all__ = [
    "BUILTIN_STEPS",
    "REFUSAL",
    "AnswerStep",
    "ChatStep",
    "Citation",
    "Exercise",
    "FetchStep",
    "Lesson",
    "LessonSection",
    "LessonStep",
    "QuizQuestion",
    "RerankStep",
    "RetrieveStep",
    "SearchFastStep",
    "SearchStep",
    "SelfAskComposeStep",
    "SelfAskDecomposeStep",
    "SelfAskHopStep",
    "SnippetSourcesStep",
    "SourceDoc",
    "StepInputError",
    "StrictAnswerStep",
    "SummarizeStep",
    "build_lesson",
    "compose_answer",
]
