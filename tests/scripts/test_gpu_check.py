"""scripts/gpu_check.sh and its configs: what can be checked without a GPU.

The script itself is rehearsed end to end on CPU with ``bash scripts/gpu_check.sh --cpu`` (docs/benchmarks.md,
GPU section); these tests keep its configs and its report valid in the fast layer.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from mm_orch.models import load_models_config
from serve import load_serve_config, parse_args

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gpu_check", ROOT / "benchmarks" / "bench_gpu_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class body runs
    spec.loader.exec_module(module)
    return module


def test_script_is_valid_bash() -> None:
    result = subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_gpu_check_models_need_no_model_hub_and_ask_for_cuda() -> None:
    config = load_models_config(ROOT / "config" / "models.gpu-check.yaml")
    generator = config.get(config.defaults.generator)
    assert generator is not None
    assert generator.backend == "vllm"
    assert generator.device == "cuda"
    assert all(m.source.kind != "hub" for m in config.models)


def test_gpu_check_serve_config_fits_one_gpu() -> None:
    (app,) = load_serve_config(ROOT / "config" / "serve.gpu-check.yaml").applications
    args = parse_args(app.args)
    assert args.models_config == "config/models.gpu-check.yaml"
    assert args.llm_model == "smollm2-135m-vllm"
    gpus = sum((d.ray_actor_options.num_gpus or 0) * (d.num_replicas or 1) for d in app.deployments)
    assert 0 < gpus <= 1


def test_report_joins_engine_and_stack_with_ratios(tmp_path: Path) -> None:
    bench = _bench()

    def measurement(kind: str, tok_s: list[float]) -> dict[str, object]:
        levels = [
            bench.LevelResult(c, 2 * c, 1.0, int(t), t, 10.0 * c, 20.0 * c, 50.0)
            for c, t in zip((1, 8), tok_s, strict=True)
        ]
        return bench.asdict(bench.Measurement(kind, "cuda", "m", 64, 3.0, 1000.0, levels))

    (tmp_path / "e.json").write_text(json.dumps(measurement("engine", [100.0, 400.0])))
    (tmp_path / "s.json").write_text(json.dumps(measurement("stack", [80.0, 360.0])))
    (tmp_path / "c.json").write_text(json.dumps({"total": 42.0}))
    text = bench.report(str(tmp_path / "e.json"), str(tmp_path / "s.json"), str(tmp_path / "c.json"))
    assert "| 1 | 100.0 | 80.0 | 0.80x |" in text
    assert "| 8 | 400.0 | 360.0 | 0.90x |" in text
    assert "total 42.0 s" in text


def test_levels_count_errors_without_stopping() -> None:
    bench = _bench()
    calls = 0

    async def one(prompt: str) -> tuple[float, float, int]:
        nonlocal calls
        calls += 1
        if calls % 4 == 0:
            raise RuntimeError("boom")
        return 0.01, 0.02, 5

    (level,) = asyncio.run(bench.run_levels(one, [2], rounds=4))
    assert level.requests == 8
    assert level.errors == 2
    assert level.output_tokens == 30
