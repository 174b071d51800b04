"""Where greedy decoding on the vLLM engine stays deterministic, and where the batch changes it.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_serve_determinism.py [--model smollm2-135m-vllm] [--max-tokens 96]

The engine in this process (mm-orch's vLLM backend, the LLM replica's engine settings, no Serve), the prompts
``chat_generate`` sends for 8 questions (its system prompt, then the question), greedy. Baseline: each prompt
sent alone, one after another. Then the same prompts again (prefix-cache hits), streamed, 8 at once (one
continuous batch), 8 at once again, and alone again; prints how many answers equal the baseline's, and the
first differing answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from bench_serve_common import LLM_ENV

for _key, _value in LLM_ENV.items():
    os.environ.setdefault(_key, _value)

QUESTIONS = [
    "What is the capital of France?",
    "Say hello in one short sentence.",
    "Explain in two sentences why the sky is blue.",
    "Write a short poem about the sea.",
    "Give three tips for writing clear emails.",
    "Tell me a joke about computers.",
    "What are the benefits of regular exercise?",
    "Describe a cat to someone who has never seen one.",
]


async def measure(model: str, max_tokens: int) -> None:
    from mm_orch.models import GenerationParams, ModelManager
    from steps.chat import _SYSTEM as chat_system

    def messages(q: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": chat_system}, {"role": "user", "content": q}]

    manager = ModelManager.from_config(None, show_progress=False)
    try:
        gen = manager.get_generator(model)
        params = GenerationParams(max_tokens=max_tokens)

        async def alone() -> list[str]:
            return [(await gen.achat(messages(q), params)).text for q in QUESTIONS]

        async def streamed(q: str) -> str:
            text = ""
            async for chunk in gen.astream_chat(messages(q), params):
                if chunk.result is not None:
                    text = chunk.result.text
            return text

        async def together() -> list[str]:
            return [r.text for r in await asyncio.gather(*(gen.achat(messages(q), params) for q in QUESTIONS))]

        runs = {"alone (baseline)": await alone(), "alone again (prefix cache)": await alone()}
        runs["streamed, alone"] = [await streamed(q) for q in QUESTIONS]
        runs["8 at once"] = await together()
        runs["8 at once, again"] = await together()
        runs["alone, third time"] = await alone()
    finally:
        manager.close()
    base = runs["alone (baseline)"]
    print(f"{model}, {len(QUESTIONS)} chat_generate prompts, greedy, max_tokens={max_tokens}")
    for name, texts in runs.items():
        same = [a == b for a, b in zip(base, texts, strict=True)]
        print(
            f"{name:28s} identical to baseline: {sum(same)}/{len(same)}  {''.join('=' if s else 'x' for s in same)}"
        )
    for i, q in enumerate(QUESTIONS):
        other = runs["8 at once"][i]
        if other != base[i]:
            cut = next((j for j, (a, b) in enumerate(zip(base[i], other, strict=False)) if a != b), 0)
            start = max(0, cut - 30)
            print(f"  {q!r} (from character {cut})\n    alone:     ...{base[i][start : cut + 50]!r}\n"
                  f"    8 at once: ...{other[start : cut + 50]!r}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-vllm")
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    asyncio.run(measure(args.model, args.max_tokens))


if __name__ == "__main__":
    main()
