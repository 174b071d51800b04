"""``lesson``: a structured lesson (validated by :class:`Lesson`) built from fetched sources.

The structure (objectives, sections, exercises with answers, a quiz) is assembled from the source sentences,
so every fact in it is quoted from a cited source and the JSON is valid by construction; the model writes the
short introduction, which is kept only when its words occur in the sources. Asking a 135M model for the whole
JSON document was unreliable (invalid or invented content) and slow (several hundred tokens on a CPU).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mm_orch.exceptions import MMOrchError
from mm_orch.models import GenerationParams
from mm_orch.orchestration import BaseStep, State
from steps.common import SourceDoc, get_generator, read_sources
from steps.text import STOPWORDS, grounding_score, split_sentences

__all__ = ["Exercise", "Lesson", "LessonSection", "LessonStep", "QuizQuestion", "build_lesson", "lesson_topic"]

Level = Literal["beginner", "intermediate", "advanced"]
_TOPIC_PREFIX = re.compile(
    r"^(please\s+)?(teach me( about)?|explain|create|make|give me|write|prepare|i want to learn( about)?|"
    r"(a\s+)?(short\s+)?(lesson|tutorial|course|lesson pack)\s+(on|about)|what is|what are|who (is|was))\s+",
    re.IGNORECASE,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LessonSection(_Model):
    title: str = Field(min_length=1, description="Section heading.")
    explanation: str = Field(min_length=1, description="What the learner reads, with [n] citation markers.")


class Exercise(_Model):
    question: str = Field(min_length=1, description="A task for the learner.")
    answer: str = Field(min_length=1, description="The expected answer.")


class QuizQuestion(_Model):
    question: str = Field(min_length=1, description="A multiple-choice question.")
    options: list[str] = Field(min_length=2, description="Answer options.")
    answer_index: int = Field(ge=0, description="Index of the correct option in options.")

    @model_validator(mode="after")
    def _answer_in_range(self) -> QuizQuestion:
        if self.answer_index >= len(self.options):
            raise ValueError(f"answer_index {self.answer_index} is out of range for {len(self.options)} options")
        return self


class Lesson(_Model):
    """A lesson pack: what ``lesson_pack`` writes to ``state['lesson']`` (as a dict)."""

    topic: str = Field(min_length=1, description="What the lesson teaches.")
    level: Level = Field(description="Intended learner level.")
    objectives: list[str] = Field(min_length=1, description="What the learner will be able to do.")
    sections: list[LessonSection] = Field(min_length=1, description="The lesson body, in order.")
    exercises: list[Exercise] = Field(min_length=1, description="Practice tasks with answers.")
    quiz: list[QuizQuestion] = Field(min_length=1, description="Multiple-choice check of understanding.")
    citations: list[dict[str, str]] = Field(default_factory=list, description="Sources, numbered as [n] markers.")


def lesson_topic(question: str) -> str:
    """The topic of a lesson request: 'Teach me about photosynthesis' -> 'photosynthesis'."""
    topic = question.strip().rstrip("?.! ")
    for _ in range(2):
        topic = _TOPIC_PREFIX.sub("", topic).strip()
    return topic or question.strip()


def _cloze(sentence: str, title: str) -> Exercise | None:
    """Blank out one key term of ``sentence`` (a number, else a capitalised name other than the title)."""
    candidates = re.findall(r"\b\d[\d,.]*\b", sentence) or [
        m
        for m in re.findall(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*", sentence[1:])
        if m.lower() not in title.lower() and m.lower() not in STOPWORDS
    ]
    if not candidates:
        return None
    term = candidates[0].rstrip(".,")
    return Exercise(question=f"Fill in the blank: {sentence.replace(term, '_____', 1)}", answer=term)


def build_lesson(topic: str, level: Level, sources: list[SourceDoc], introduction: str = "") -> Lesson:
    """Assemble a lesson from ``sources`` (best first); raises ValidationError when they hold too little text."""
    citations = [s.citation() for s in sources]
    sections: list[LessonSection] = []
    exercises: list[Exercise] = []
    if introduction:
        sections.append(LessonSection(title="Introduction", explanation=f"{introduction} [1]"))
    for n, source in enumerate(sources, start=1):
        sentences = split_sentences(source.text)
        if not sentences:
            continue
        sections.append(LessonSection(title=source.title, explanation=" ".join(sentences[:3]) + f" [{n}]"))
        for sentence in sentences[1:4] if len(sentences) > 1 else sentences:
            exercise = _cloze(sentence, source.title)
            if exercise is not None:
                exercises.append(exercise)
                break
    titles = [s.title for s in sources]
    quiz = []
    for source in sources[:2]:
        first = split_sentences(source.text)[:1]
        if not first or len(titles) < 2:
            continue
        clue = re.sub(re.escape(source.title), "this", first[0], flags=re.IGNORECASE)
        options = sorted(set(titles))
        quiz.append(
            QuizQuestion(
                question=f"Which topic does this describe? {clue}",
                options=options,
                answer_index=options.index(source.title),
            )
        )
    objectives = [f"Explain what {topic} is."] + [f"Relate {topic} to {t}." for t in titles[1:3] if t != topic]
    return Lesson(
        topic=topic,
        level=level,
        objectives=objectives,
        sections=sections,
        exercises=exercises,
        quiz=quiz,
        citations=citations,
    )


class LessonStep(BaseStep):
    """``question``, ``sources`` (+ optional ``constraints`` with ``level``) -> ``lesson`` and the answer keys."""

    name = "lesson"
    description = "Build a structured lesson (objectives, sections, exercises, quiz) from the sources."
    input_keys = ["question", "sources"]
    output_keys = ["lesson", "answer", "citations", "quality_signals"]
    optional_input_keys = ["constraints", "failures"]
    optional_output_keys = ["failures"]
    required_capabilities = ["generate"]

    async def execute(self, state: State, runtime: Any) -> dict[str, Any]:
        question = str(state["question"])
        topic = lesson_topic(question)
        constraints = state.get("constraints") or {}
        level = str(constraints.get("level", "beginner")) if isinstance(constraints, dict) else "beginner"
        if level not in ("beginner", "intermediate", "advanced"):
            level = "beginner"
        sources = [s for s in read_sources(state) if s.text.strip()]
        failures = list(state.get("failures") or [])
        introduction = await self._introduction(topic, level, sources, runtime, failures)
        try:
            lesson = build_lesson(topic, level, sources, introduction)  # type: ignore[arg-type]
            valid = True
        except ValidationError as exc:
            failures.append(f"lesson: sources too thin for a lesson ({exc.error_count()} errors)")
            lesson, valid = None, False
        if lesson is None:
            answer = f"I could not build a lesson on {topic!r}: the sources found hold too little text."
            dumped: dict[str, Any] = {}
        else:
            dumped = lesson.model_dump()
            answer = "\n\n".join(f"{s.title}: {s.explanation}" for s in lesson.sections)
        signals = {
            "structure_valid": valid,
            "citations": len(sources),
            "sources_used": len(sources),
            "grounded": valid,
            "refused": not valid,
            "sections": len(dumped.get("sections", [])),
            "exercises": len(dumped.get("exercises", [])),
            "quiz_questions": len(dumped.get("quiz", [])),
            "failures": len(failures),
        }
        out: dict[str, Any] = {
            "lesson": dumped,
            "answer": answer,
            "citations": [s.citation() for s in sources],
            "quality_signals": signals,
        }
        if failures:
            out["failures"] = failures
        return out

    async def _introduction(
        self, topic: str, level: str, sources: list[SourceDoc], runtime: Any, failures: list[str]
    ) -> str:
        if not sources:
            return ""
        first = " ".join(split_sentences(sources[0].text)[:2])
        messages = [
            {"role": "system", "content": "You are a teacher. Use only facts from the text."},
            {
                "role": "user",
                "content": f"Text: {first}\n\nIn one simple sentence for a {level} learner, what is {topic}?",
            },
        ]
        try:
            model = await get_generator(runtime, self.model_name)
            params = GenerationParams(max_tokens=int(runtime.setting("lesson_intro_tokens", 40)), stop=["\n"])
            text = (await model.achat(messages, params)).text.strip()
        except MMOrchError as exc:
            failures.append(f"lesson model: {type(exc).__name__}: {exc}"[:300])
            return ""
        return text if text and grounding_score(text, [first, sources[0].title]) >= 0.75 else ""
