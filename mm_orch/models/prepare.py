"""Convert a packaged GGUF model once into a cached Hugging Face folder, and verify that folder loads.

Run it ahead of time (``python -m mm_orch.models.prepare [--model NAME] [--cache-dir DIR]``) or let the model
manager run the same code lazily on first use. Conversion de-quantizes the GGUF with transformers (needs the
``gguf`` and ``accelerate`` packages), writes bfloat16 safetensors plus the tokenizer (with its chat template)
into a temporary folder, verifies it generates, then renames it into place, so readers never see half a folder.
A file lock keeps two processes from converting the same model at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock
from rich.console import Console

from mm_orch.console import progress as _progress
from mm_orch.exceptions import MMOrchError, ModelLoadError, ModelUnavailableError
from mm_orch.hashing import file_sha256
from mm_orch.models.config import ModelsConfig, load_models_config, resolve_cache_dir
from mm_orch.models.gguf_parts import join_parts
from mm_orch.models.metadata import GGUF_SOURCES, ModelMetadata, PackageGGUFPartsSource, PackageGGUFSource
from mm_orch.models.sources import check_model_folder, prepared_dir, source_gguf_path

__all__ = ["MARKER_FILE", "is_prepared", "main", "prepare_model"]

MARKER_FILE = "mm_orch_prepared.json"
_STEPS = ("check the packaged GGUF", "de-quantize GGUF -> HF weights", "write safetensors + tokenizer", "verify")


def _marker(gguf: Path, sha256: str | None) -> dict[str, object]:
    stat = gguf.stat()
    return {"source": str(gguf), "size": stat.st_size, "sha256": sha256, "format": 1}


def is_prepared(meta: ModelMetadata, cache_dir: Path) -> bool:
    """True when ``meta``'s converted folder exists, is complete and was built from the installed GGUF (for a
    GGUF joined from pieces: from a file with the pinned sha256, whether or not the pieces are still installed)."""
    if not isinstance(meta.source, GGUF_SOURCES):
        return True
    folder = prepared_dir(meta, cache_dir)
    marker = folder / MARKER_FILE
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        check_model_folder(folder, model=meta.name, fix="")
        if isinstance(meta.source, PackageGGUFPartsSource):
            return bool(recorded.get("sha256") == meta.source.sha256.lower() and recorded.get("format") == 1)
        gguf = source_gguf_path(meta.source)
    except (ValueError, OSError, ModelLoadError, ModelUnavailableError):
        return False
    return bool(recorded.get("size") == gguf.stat().st_size and recorded.get("format") == 1)


def _import_transformers() -> tuple[Any, Any, Any]:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelUnavailableError(
            f"converting a GGUF model needs transformers and torch ({exc}); install the CPU extra: "
            "`pip install 'mm-orch[cpu]'` (or `[gpu]` on a GPU machine)"
        ) from exc
    for pkg, pip_name in (("gguf", "gguf"), ("accelerate", "accelerate")):
        if importlib_find(pkg) is None:
            raise ModelUnavailableError(
                f"converting a GGUF model needs the {pkg!r} package; run `pip install {pip_name}`"
            )
    return torch, AutoModelForCausalLM, AutoTokenizer


def importlib_find(name: str) -> object | None:
    """``importlib.util.find_spec`` (kept as a function so tests can see which package is missing)."""
    import importlib.util

    return importlib.util.find_spec(name)


def verify_folder(folder: Path, *, model: str) -> None:
    """Load ``folder`` with transformers and generate one token; ModelLoadError if that fails."""
    torch, auto_model, auto_tok = _import_transformers()
    try:
        tok = auto_tok.from_pretrained(str(folder))
        lm = auto_model.from_pretrained(str(folder), dtype=torch.float32)
        ids = tok("Hello", return_tensors="pt")
        with torch.inference_mode():
            out = lm.generate(**ids, max_new_tokens=1, do_sample=False, pad_token_id=tok.eos_token_id)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(
            f"model {model!r}: the prepared folder {str(folder)!r} does not load ({exc}); rebuild it with "
            f"`python -m mm_orch.models.prepare --model {model} --force`"
        ) from exc
    if out.shape[-1] != ids["input_ids"].shape[-1] + 1:
        raise ModelLoadError(f"model {model!r}: verification generated no token from {str(folder)!r}")
    if not getattr(tok, "chat_template", None):
        raise ModelLoadError(f"model {model!r}: the tokenizer in {str(folder)!r} has no chat template")


def prepare_model(
    meta: ModelMetadata, cache_dir: Path, *, force: bool = False, show_progress: bool = True
) -> Path:
    """Make sure ``meta``'s HF folder exists under ``cache_dir`` and loads; return it.

    Models whose source is not a packaged GGUF need no preparation; their folder is returned unchanged by the
    caller's own lookup. Raises ModelUnavailableError (package missing) or ModelLoadError (conversion failed).
    """
    if not isinstance(meta.source, GGUF_SOURCES):
        raise ModelLoadError(
            f"model {meta.name!r} has source kind {meta.source.kind!r}; only 'package_gguf' and "
            "'package_gguf_parts' models need prepare"
        )
    folder = prepared_dir(meta, cache_dir)
    if not force and is_prepared(meta, cache_dir):
        return folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=1800):
        if not force and is_prepared(meta, cache_dir):  # another process finished while we waited
            return folder
        _convert(meta, meta.source, folder, show_progress)
    return folder


def _checked_gguf(meta: ModelMetadata, source: PackageGGUFSource | PackageGGUFPartsSource, cache: Path) -> Path:
    """The GGUF to convert, its sha256 checked where the config pins one (joined first when in pieces)."""
    if isinstance(source, PackageGGUFPartsSource):
        return join_parts(source, cache, meta.name)
    gguf = source_gguf_path(source)
    if source.sha256 is not None and (actual := file_sha256(gguf)) != source.sha256.lower():
        raise ModelLoadError(
            f"model {meta.name!r}: {str(gguf)!r} has sha256 {actual}, config expects {source.sha256}; "
            f"reinstall `{source.pip_name}` at the pinned version or fix source.sha256"
        )
    return gguf


def _reinstall_hint(source: PackageGGUFSource | PackageGGUFPartsSource) -> str:
    if isinstance(source, PackageGGUFPartsSource):
        return f"pip install --force-reinstall --no-deps {source.pip_names}"
    return f"pip install --force-reinstall --no-deps {source.pip_name}"


def _convert(
    meta: ModelMetadata, source: PackageGGUFSource | PackageGGUFPartsSource, folder: Path, show_progress: bool
) -> None:
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with _progress(show_progress) as progress:
        task = progress.add_task(f"prepare {meta.name}", total=len(_STEPS))
        progress.update(task, description=f"{meta.name}: {_STEPS[0]}")
        gguf = _checked_gguf(meta, source, folder.parent)
        torch, auto_model, auto_tok = _import_transformers()
        progress.update(task, advance=1, description=f"{meta.name}: {_STEPS[1]}")
        try:
            tok = auto_tok.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            lm = auto_model.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16)
        except MemoryError as exc:
            raise ModelLoadError(
                f"model {meta.name!r}: out of memory de-quantizing {str(gguf)!r}; free memory or convert on a "
                "machine with more RAM and copy the folder into the cache dir"
            ) from exc
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"model {meta.name!r}: cannot read GGUF {str(gguf)!r} ({exc}); the file may be corrupt: "
                f"`{_reinstall_hint(source)}`"
            ) from exc
        progress.update(task, advance=1, description=f"{meta.name}: {_STEPS[2]}")
        # A model loaded from GGUF keeps its GGUF quantizer, which refuses to serialize; the weights are
        # already de-quantized, so dropping the quantizer makes it a plain model.
        lm.hf_quantizer = None
        if hasattr(lm.config, "quantization_config"):
            del lm.config.quantization_config
        tmp.mkdir(parents=True)
        try:
            lm.save_pretrained(str(tmp))
            tok.save_pretrained(str(tmp))
            del lm
            progress.update(task, advance=1, description=f"{meta.name}: {_STEPS[3]}")
            verify_folder(tmp, model=meta.name)
            marker = _marker(gguf, source.sha256.lower() if source.sha256 else None)
            (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(source, PackageGGUFPartsSource):
                gguf.unlink(missing_ok=True)  # joined only to convert it; the pieces stay installed
        progress.update(task, advance=1, description=f"{meta.name}: ready")


def _gguf_models(config: ModelsConfig) -> list[ModelMetadata]:
    return [m for m in config.models if isinstance(m.source, GGUF_SOURCES)]


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m mm_orch.models.prepare",
        description="Convert packaged GGUF models into cached HF folders and verify they load.",
    )
    parser.add_argument("--model", action="append", help="model name (repeatable; default: the default generator)")
    parser.add_argument("--all", action="store_true", help="prepare every packaged-GGUF model in the config")
    parser.add_argument("--cache-dir", type=Path, help="where to put converted models (overrides env and config)")
    parser.add_argument("--config", type=Path, help="models YAML (default: $MM_ORCH_MODELS_CONFIG or built-in)")
    parser.add_argument("--force", action="store_true", help="convert again even when a folder exists")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    try:
        config = load_models_config(args.config)
        cache = args.cache_dir.expanduser() if args.cache_dir else resolve_cache_dir(config.cache_dir)
        if args.all:
            targets = _gguf_models(config)
        else:
            names = args.model or [config.defaults.generator]
            targets = []
            for name in names:
                resolved = {"default": config.defaults.generator, "embedder": config.defaults.embedder}.get(
                    name, name
                )
                meta = config.get(resolved)
                if meta is None:
                    options = ", ".join(sorted(m.name for m in config.models))
                    console.print(f"[red]unknown model {name!r}; configured: {options}[/red]")
                    return 2
                targets.append(meta)
        for meta in targets:
            if not isinstance(meta.source, GGUF_SOURCES):
                console.print(f"{meta.name}: source kind {meta.source.kind!r} needs no preparation")
                continue
            start = time.perf_counter()
            folder = prepare_model(meta, cache, force=args.force, show_progress=not args.quiet)
            print(f"{meta.name}: {folder} ({time.perf_counter() - start:.1f} s)")
    except MMOrchError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
