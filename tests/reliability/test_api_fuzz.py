"""Property-based fuzzing of the HTTP API from its own OpenAPI schema (schemathesis), fast layer.

The real FastAPI app (``serve.create_app``: access control, body limits, request ids, validation, error mapping,
the OpenAI-compatible routes) over an in-process fake backend and a real feedback file. Every operation of
/openapi.json gets schema-valid (positive) and schema-violating (negative) cases, with the key and without it.

What every response must satisfy:
- never a 5xx (nothing a client sends may crash the app);
- a status the operation declares, a declared content type, a body valid against the declared schema and the
  declared headers (schemathesis' response checks);
- every error a JSON body with a code and a message: ``{"error": code, "message": ...}`` on mm-orch's routes,
  ``{"error": {"message", "type", "code"}}`` on the OpenAI ones;
- a schema-valid request is accepted, or refused only by a rule the schema cannot state (a workflow that is
  not registered, an OpenAI parameter mm-orch does not support), with that rule's code;
- without the key, 401 everywhere but liveness.

Figures (cases per operation and mode) are printed; ``pytest -s tests/reliability/test_api_fuzz.py`` shows them.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mm_orch.observability.feedback import FeedbackStore, read_feedback  # noqa: E402
from serve import create_app  # noqa: E402
from serve.errors import is_openai  # noqa: E402
from tests.serve.test_ingress import FakeBackend  # noqa: E402

KEY = "sk-fuzz-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
#: Cases per operation and generation mode (with the key); 9 operations x 2 modes x 70 = 1,260 at most.
EXAMPLES = 70
#: Cases per operation without the key.
UNAUTHENTICATED_EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
#: Codes with which a schema-valid request may still be refused: rules the schema cannot state.
BUSINESS_RULES = {
    "unknown_workflow",  # POST /v1/feedback: workflow must be a registered one
    "workflow_not_found",  # POST /v1/answer, /v1/route: a forced workflow must be registered
    "model_not_found",  # OpenAI routes: the model names a registered workflow or 'mm-orch'
    "unsupported_parameter",  # OpenAI parameters mm-orch does not implement (n > 1, tools, logprobs, ...)
    "string_too_long",  # limits.max_query_chars (configurable, so not in the schema)
}


def error_problem(path: str, status: int, content_type: str, text: str) -> str | None:
    """Why an error response breaks the contract, or None."""
    if status < 400:
        return None
    if not content_type.startswith("application/json"):
        return f"error {status} has content type {content_type!r}, not JSON"
    try:
        body = json.loads(text)
    except ValueError:
        return f"error {status} body is not JSON: {text[:200]!r}"
    if path == "/readyz" and status == 503:
        return None if body.get("status") == "not_ready" else f"readyz 503 body {body!r}"
    if is_openai(path):
        inner = body.get("error") if isinstance(body, dict) else None
        ok = isinstance(inner, dict) and all(
            isinstance(inner.get(k), str) and inner[k] for k in ("message", "type")
        )
        ok = ok and isinstance(inner.get("code"), str) and bool(inner["code"])  # type: ignore[union-attr]
        return None if ok else f"error {status} is not OpenAI-shaped: {body!r}"
    ok = isinstance(body, dict) and all(isinstance(body.get(k), str) and body[k] for k in ("error", "message"))
    return None if ok else f"error {status} has no code and message: {body!r}"


def error_code(path: str, text: str) -> str:
    body = json.loads(text)
    if is_openai(path):
        return str(body["error"]["code"])
    codes = {str(f.get("type")) for f in body.get("fields", [])}
    return str(body["error"]) if not codes else ",".join(sorted(codes))


class Fuzz:
    """Runs one operation's cases and keeps the figures and the problems found."""

    def __init__(self) -> None:
        self.cases: collections.Counter[tuple[str, str]] = collections.Counter()
        self.statuses: collections.Counter[int] = collections.Counter()
        self.problems: list[str] = []

    def run(self, operation: Any, mode: GenerationMode, examples: int, headers: dict[str, str]) -> None:
        label = f"{operation.label} [{mode.value}{'' if headers else ', no key'}]"

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,  # the same cases in every run: CI is reproducible
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            self.cases[(operation.label, f"{mode.value}{'' if headers else '/no-key'}")] += 1
            response = case.call(headers=headers)
            self.statuses[response.status_code] += 1
            path = operation.path
            content_type = response.headers.get("content-type", [""])
            content_type = content_type[0] if isinstance(content_type, list) else content_type
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseException as exc:  # schemathesis' FailureGroup: keep going, report all at the end
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self.problems.append(f"{label}: {str(exc)[:600]}")
                return
            problem = error_problem(path, response.status_code, content_type, response.text)
            if problem is None and not headers and path != "/healthz" and response.status_code != 401:
                problem = f"answered {response.status_code} without a key"
            if problem is None and headers and mode is GenerationMode.POSITIVE and response.status_code >= 400:
                code = error_code(path, response.text)
                if not set(code.split(",")) <= BUSINESS_RULES:
                    problem = (
                        f"schema-valid request refused with {response.status_code} {code}: {response.text[:300]}"
                    )
            if problem is not None:
                self.problems.append(f"{label}: {problem}")

        try:
            one()
        except Exception as exc:  # e.g. no negative case exists for an operation without inputs
            if type(exc).__name__ != "Unsatisfiable":
                raise


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Fuzz, Path]:
    feedback = tmp_path_factory.mktemp("fuzz") / "feedback.jsonl"
    app = create_app(FakeBackend(), api_keys=[KEY], feedback=FeedbackStore(feedback))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
    fuzz = Fuzz()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz.run(operation, mode, EXAMPLES, AUTH)
        fuzz.run(operation, GenerationMode.POSITIVE, UNAUTHENTICATED_EXAMPLES, {})
    return fuzz, feedback


def test_fuzzed_api_never_fails_and_keeps_its_contract(fuzzed: tuple[Fuzz, Path]) -> None:
    fuzz, _ = fuzzed
    total = sum(fuzz.cases.values())
    print(f"\nschemathesis: {total} cases over {len({op for op, _ in fuzz.cases})} operations")
    for (operation, mode), count in sorted(fuzz.cases.items()):
        print(f"  {operation:32s} {mode:18s} {count}")
    print("  statuses:", dict(sorted(fuzz.statuses.items())))
    assert not fuzz.problems, f"{len(fuzz.problems)} problems:\n" + "\n".join(fuzz.problems[:20])
    assert total >= 1000
    assert not [s for s in fuzz.statuses if s >= 500]
    operations = {op for op, _ in fuzz.cases}
    for route in ("POST /v1/answer", "POST /v1/route", "POST /v1/feedback", "POST /v1/chat/completions",
                  "GET /v1/models", "GET /v1/workflows", "GET /v1/stats", "GET /healthz", "GET /readyz"):  # fmt: skip
        assert route in operations


def test_feedback_accepted_by_the_fuzzer_is_readable_back(fuzzed: tuple[Fuzz, Path]) -> None:
    """Every 201 the fuzzer got for POST /v1/feedback is a record the retraining reader can load."""
    fuzz, path = fuzzed
    records = read_feedback(path) if path.exists() else []
    assert fuzz.statuses[201] == len(records) > 0
