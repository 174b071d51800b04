"""Streaming generation (astream/astream_chat) and the per-request model-call context, on the fake backend."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from mm_orch.models import GenerationParams, fake_metadata
from mm_orch.models.backends.base import _WhitespaceTrim
from mm_orch.models.backends.fake import FakeGenerator
from mm_orch.models.call_context import ModelCallContext, model_call_context, reply_chat
from mm_orch.models.params import GenerationChunk


def fake(**engine_args: object) -> FakeGenerator:
    return FakeGenerator(fake_metadata("gen", script={"France": "Paris is the capital of France."}, **engine_args))


async def collect(gen: FakeGenerator, params: GenerationParams | None = None) -> list[GenerationChunk]:
    return [c async for c in gen.astream_chat([{"role": "user", "content": "France?"}], params)]


def test_stream_deltas_join_to_the_result_and_only_the_last_chunk_has_it() -> None:
    chunks = asyncio.run(collect(fake()))
    assert [c.text for c in chunks[:-1]] == ["Paris", " is", " the", " capital", " of", " France."]
    last = chunks[-1].result
    assert last is not None
    assert all(c.result is None for c in chunks[:-1])
    assert "".join(c.text for c in chunks) == last.text == "Paris is the capital of France."
    assert last.completion_tokens == 6
    assert last.finish_reason == "stop"


def test_stream_respects_max_tokens_and_streams_json_only_when_complete() -> None:
    short = asyncio.run(collect(fake(), GenerationParams(max_tokens=2)))
    assert "".join(c.text for c in short) == "Paris is"
    assert short[-1].result.finish_reason == "length"
    js = FakeGenerator(fake_metadata("gen", script={"France": '{"city": "Paris"}'}))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    chunks = asyncio.run(collect(js, GenerationParams(json_schema=schema)))
    assert len(chunks) == 1
    assert chunks[0].text == '{"city": "Paris"}'
    assert chunks[0].result is not None


def test_whitespace_is_held_back_so_deltas_join_to_the_stripped_text() -> None:
    trim = _WhitespaceTrim()
    parts = [trim.push(t) for t in ["  ", "\nHello", " ", "world", "  \n"]]
    assert parts == ["", "Hello", "", " world", ""]
    assert "".join(parts) == "Hello world"


def test_closing_a_stream_early_stops_the_generation() -> None:
    gen = fake(token_delay_s=0.01)

    async def first_then_close() -> tuple[str, int]:
        stream = gen.astream_chat([{"role": "user", "content": "France?"}])
        first = await anext(stream)
        running = gen.running_requests()
        await stream.aclose()
        return first.text, running

    text, running = asyncio.run(first_then_close())
    assert (text, running) == ("Paris", 1)
    assert gen.running_requests() == 0


def test_cancelling_the_consumer_stops_the_generation() -> None:
    gen = fake(token_delay_s=0.05)

    async def cancel_midway() -> int:
        async def consume() -> None:
            async with contextlib.aclosing(gen.astream_chat([{"role": "user", "content": "France?"}])) as s:
                async for _ in s:
                    pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.12)
        during = gen.running_requests()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return during

    assert asyncio.run(cancel_midway()) == 1
    assert gen.running_requests() == 0


def test_reply_chat_applies_overrides_streams_to_the_sink_and_counts_usage() -> None:
    gen = fake()
    tokens: list[str] = []
    messages = [{"role": "user", "content": "France?"}]

    async def run() -> ModelCallContext:
        with model_call_context(ModelCallContext(on_token=tokens.append, overrides={"max_tokens": 3})) as ctx:
            result = await reply_chat(gen, messages, GenerationParams(max_tokens=50))
            assert result.text == "Paris is the"
            await gen.agenerate("France, unrelated call")  # every model call counts toward usage
        return ctx

    ctx = asyncio.run(run())
    assert tokens == ["Paris", " is", " the"]
    assert ctx.streamed
    assert ctx.finish_reason == "length"
    assert ctx.calls == 2
    assert ctx.completion_tokens == 3 + 6
    assert ctx.prompt_tokens > 0


def test_reply_chat_without_a_context_is_plain_achat_and_bad_overrides_are_refused() -> None:
    gen = fake()
    result = asyncio.run(reply_chat(gen, [{"role": "user", "content": "France?"}]))
    assert result.text == "Paris is the capital of France."
    with pytest.raises(ValueError, match=r"cannot override \['json_schema'\]"):
        ModelCallContext(overrides={"json_schema": {}})
