"""Cold start of the Serve application, stage by stage, against the in-process CLI's cold start (same run).

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_serve_coldstart.py [--question "..."] [--skip-baseline]

1. Baseline: a fresh ``python -m mm_orch.main --phase-b --workflow search_qa_fast QUESTION`` with the same
   generator (``MM_ORCH_GENERATOR=smollm2-135m-vllm``) and the LLM replica's engine settings: process start to
   the printed answer (imports, vLLM engine, search index, one answer), and to its exit.
2. ``serve run`` of config/serve.local.yaml (a copy with a free port, its traces in a temporary folder and
   auth off; nothing else changed), from the repository root, as an operator would start it. Timed from the
   launch: Ray up, config submitted, app imported and built, replicas scheduled (serve run's
   log), each model replica loaded (``/v1/stats``: ``ready_at``/``load_s``), ``/healthz`` answering
   (ingress replica up), ``/readyz`` ready (router and model deployments serve), the first answer (POST
   /v1/chat/completions, ``model: search_qa_fast``), then Ctrl-C until ``serve run`` has exited.

Prints each stage's time since launch and the ratio serve/CLI for the time to the first answer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import yaml
from bench_serve_common import LLM_ENV, ROOT, free_port, wait_http

QUESTION = "What is the capital of France?"
LOG_STAGES = {  # stage -> what serve run (Ray / Serve) logs when it gets there
    "ray_started": re.compile(r"Started a local Ray instance|Connecting to existing Ray cluster"),
    "config_submitted": re.compile(r"Submitted deploy config"),
    "app_built": re.compile(r"Imported and built app 'mm_orch'"),
    "replicas_scheduled": re.compile(r"Adding 1 replica to Deployment\(name='Ingress'"),
}


def env() -> dict[str, str]:
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, **LLM_ENV, "PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1"}


def baseline(question: str) -> tuple[float, float | None, str]:
    """Fresh CLI process: seconds to its answer on stdout, seconds until it exited (None: it had not exited
    60 s after answering, and was killed), the answer's first line."""
    cmd = [
        sys.executable,
        "-m",
        "mm_orch.main",
        "--phase-b",
        "--no-trace",
        "--workflow",
        "search_qa_fast",
        question,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**env(), "MM_ORCH_GENERATOR": "smollm2-135m-vllm"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    answer = ""
    for line in proc.stdout:  # vLLM logs to stdout too; the CLI ends its answer with "[workflow=... trace=...]"
        text = line.strip()
        if text.startswith("[workflow="):
            break
        if text and not text.startswith("(") and not re.match(r"(INFO|WARNING|DEBUG)\b", text):
            answer = answer or text
    answered = time.perf_counter() - t0
    proc.stdout.close()
    try:
        proc.wait(60)
        exited: float | None = time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        exited = None
    if not answer:
        raise RuntimeError(f"the CLI printed no answer (exit status {proc.returncode})")
    return answered, exited, answer


class Launch:
    """``serve run CONFIG`` in a child process; every output line kept with its time since launch."""

    def __init__(self, config: Path) -> None:
        serve_cli = Path(sys.executable).with_name("serve")
        self.t0 = time.perf_counter()
        self.epoch0 = time.time()
        self.proc = subprocess.Popen(
            [str(serve_cli), "run", str(config)],
            cwd=ROOT,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # Ctrl-C goes to serve run alone
            # A shell's background job starts with SIGINT ignored, and children inherit that: give serve run the
            # default Ctrl-C behaviour back, or stop() would wait for nothing.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.perf_counter() - self.t0, line.rstrip()))

    def since(self) -> float:
        return time.perf_counter() - self.t0

    def first(self, pattern: re.Pattern[str]) -> float | None:
        return next((t for t, line in list(self.lines) if pattern.search(line)), None)

    def stop(self) -> float:
        """Ctrl-C, as an operator stops it; seconds until the process exited."""
        t0 = time.perf_counter()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        return time.perf_counter() - t0


def serve_config(tmp: Path, port: int) -> Path:
    raw = yaml.safe_load((ROOT / "config" / "serve.local.yaml").read_text(encoding="utf-8"))
    raw["http_options"]["port"] = port
    (app,) = raw["applications"]
    app["args"]["auth"] = {"api_keys_env": "MM_ORCH_BENCH_NO_KEYS"}
    app["args"]["tracing"] = {"enabled": True, "parquet_dir": str(tmp / "traces")}
    path = tmp / "serve.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def cold_start(question: str, timeout_s: float) -> dict[str, Any]:
    import httpx

    stages: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        launch = Launch(serve_config(Path(tmp), port))
        try:
            wait_http(base + "/healthz", timeout_s)
            stages["healthz_ok"] = launch.since()
            wait_http(base + "/readyz", timeout_s, ok=lambda r: r.json().get("status") == "ready")
            stages["readyz_ready"] = launch.since()
            body = {"model": "search_qa_fast", "messages": [{"role": "user", "content": question}]}
            t0 = time.perf_counter()
            r = httpx.post(base + "/v1/chat/completions", json=body, timeout=300)
            r.raise_for_status()
            stages["first_answer_request_s"] = time.perf_counter() - t0
            stages["first_answer"] = launch.since()
            stages["answer"] = r.json()["choices"][0]["message"]["content"].splitlines()[0]
            stats = httpx.get(base + "/v1/stats", timeout=60).json()
            llm = stats["models"].get("llm", {})
            if "ready_at" in llm:
                stages["llm_model_loaded"] = llm["ready_at"] - launch.epoch0
                stages["llm_load_s"] = llm.get("load_s")
            embedder = stats["models"].get("embedder", {})
            if "ready_at" in embedder:
                stages["embedder_model_loaded"] = embedder["ready_at"] - launch.epoch0
        finally:
            stages["shutdown_s"] = launch.stop()
        for name, pattern in LOG_STAGES.items():
            stages[name] = launch.first(pattern)
        if stages.get("first_answer") is None:
            print("\n".join(line for _, line in launch.lines[-40:]), file=sys.stderr)
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--skip-baseline", action="store_true", help="serve run only (no ratio)")
    args = parser.parse_args()
    cli_s, cli_exit, cli_answer = (None, None, "") if args.skip_baseline else baseline(args.question)
    stages = cold_start(args.question, args.timeout)
    print(json.dumps({"cli_s": cli_s, "cli_exit_s": cli_exit, **stages}, default=str))
    if cli_s is not None:
        print(f"in-process CLI: fresh process to answer         {cli_s:7.1f} s   1.00x   ({cli_answer[:60]!r})")
        print(
            f"  the CLI exited after {cli_exit:.1f} s" if cli_exit else "  the CLI did not exit (killed 60 s on)"
        )
    order = [
        *LOG_STAGES,
        "embedder_model_loaded",
        "llm_model_loaded",
        "healthz_ok",
        "readyz_ready",
        "first_answer",
    ]
    for name in sorted((n for n in order if stages.get(n) is not None), key=lambda n: stages[n]):
        ratio = f"{stages[name] / cli_s:6.2f}x" if cli_s else ""
        print(f"serve run -> {name:34s} {stages[name]:7.1f} s  {ratio}")
    print(f"  LLM engine load inside its replica: {stages.get('llm_load_s')} s; the first answer's request took "
          f"{stages['first_answer_request_s']:.2f} s ({stages.get('answer', '')[:60]!r})")  # fmt: skip
    print(f"  Ctrl-C to exit: {stages['shutdown_s']:.1f} s")


if __name__ == "__main__":
    main()
