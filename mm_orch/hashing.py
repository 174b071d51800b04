"""The one sha256 helper: hex digests of bytes, text and files (files are read in 1 MiB blocks)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_sha256", "sha256_hex"]

_BLOCK = 1 << 20


def sha256_hex(data: bytes | str) -> str:
    """The sha256 hex digest of ``data`` (text is encoded as UTF-8)."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """The sha256 hex digest of the file at ``path``, read in blocks so large files need little memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
