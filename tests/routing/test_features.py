from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mm_orch.routing.features import (
    Featurizer,
    FeaturizerConfig,
    RequestContext,
    context_from_metadata,
    context_from_request,
)
from mm_orch.schemas import UserRequest

FEAT = Featurizer(FeaturizerConfig(word_features=2**12, char_features=2**12))

contexts = st.builds(
    RequestContext,
    mode=st.sampled_from(["default", "chat"]),
    has_collection=st.booleans(),
    has_documents=st.booleans(),
    history_turns=st.integers(0, 9),
)


@settings(max_examples=150, deadline=None)
@given(query=st.text(min_size=0, max_size=80), ctx=contexts)
def test_fast_path_equals_sklearn_transform(query: str, ctx: RequestContext) -> None:
    row = FEAT.transform([query], [ctx]).toarray()[0]
    idx, val = FEAT.transform_one(query, ctx)
    fast = np.zeros(FEAT.n_features)
    np.add.at(fast, idx, val)
    np.testing.assert_allclose(fast, row, atol=1e-12)


def test_rows_roundtrip_to_csr() -> None:
    queries = ["What is Python?", "Teach me recursion", ""]
    ctxs = [RequestContext(), RequestContext(mode="chat", history_turns=2), RequestContext(has_documents=True)]
    direct = FEAT.transform(queries, ctxs)
    rows = FEAT.transform_rows(queries, ctxs)
    rebuilt = FEAT.rows_to_csr(rows["indices"], rows["values"])
    np.testing.assert_allclose(rebuilt.toarray(), direct.toarray(), atol=1e-6)


def test_context_changes_the_vector() -> None:
    a, _ = FEAT.transform_one("what does it say", RequestContext())
    b, _ = FEAT.transform_one("what does it say", RequestContext(has_documents=True))
    assert set(b.tolist()) - set(a.tolist()), "attached documents must add a feature"


def test_context_from_request_and_metadata_agree() -> None:
    req = UserRequest(query="q", mode="chat", collection="c", history=[{"role": "user", "content": "x"}] * 3)
    meta = {"has_collection": "true", "has_documents": "false", "history_turns": "3"}
    assert context_from_request(req) == context_from_metadata("chat", meta)
    assert context_from_metadata("default", {"history_turns": "junk"}).history_turns == 0


def test_one_analysis_serves_routing_and_explaining() -> None:
    from mm_orch.routing.features import Featurizer, RequestContext

    f = Featurizer()
    ctx = RequestContext("chat", True, False, 2)
    for q in ("What does my contract say about notice periods?", "hi hi hi", "Teach me fractions!"):
        a = f.analyze_one(q, ctx)
        idx, val = f.transform_one(q, ctx)
        assert a.columns.tolist() == idx.tolist()
        assert a.values.tolist() == val.tolist()
        named = {(name, col) for name, col, _ in f.tokens_one(q, ctx)}
        by_name = a.names(idx.tolist())
        assert set(by_name) == set(idx.tolist())
        assert all((name, col) in named for col, name in by_name.items())
