"""mm_orch.hashing: one sha256 helper for bytes, text and files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mm_orch.hashing import file_sha256, sha256_hex


def test_text_and_bytes_agree_with_hashlib() -> None:
    assert sha256_hex("héllo") == hashlib.sha256("héllo".encode()).hexdigest()
    assert sha256_hex(b"\x00\x01") == hashlib.sha256(b"\x00\x01").hexdigest()


def test_files_are_hashed_in_blocks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # > 1 block
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(path)) == sha256_hex(data)
