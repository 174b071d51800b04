"""Command line: ingest a folder of .txt/.md/.html files into a document-store collection, with progress.

::

    python -m mm_orch.tools.ingest FOLDER --collection NAME [--store PATH] [--chunk-chars N] [--overlap N]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mm_orch.exceptions import MMOrchError
from mm_orch.tools.config import DocumentStoreConfig
from mm_orch.tools.document_store import DocumentStore
from mm_orch.tools.embedders import SentenceTransformerEmbedder

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``ingest`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m mm_orch.tools.ingest",
        description="Ingest .txt, .md and .html files (folders are searched recursively) into a RAG collection.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders to ingest")
    parser.add_argument("--collection", required=True, help="collection name (created if missing)")
    parser.add_argument("--store", type=Path, default=None, help="store file (default: <cache dir>/documents/...)")
    parser.add_argument("--chunk-chars", type=int, default=1000, help="maximum chunk size in characters")
    parser.add_argument("--overlap", type=int, default=150, help="characters shared by consecutive chunks")
    parser.add_argument("--model", type=Path, default=None, help="sentence-transformers model folder")
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 2 usage or tool error)."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        config = DocumentStoreConfig(path=args.store, chunk_chars=args.chunk_chars, chunk_overlap=args.overlap)
        store = DocumentStore(
            config.resolved_path(),
            SentenceTransformerEmbedder(args.model),
            chunk_chars=config.chunk_chars,
            chunk_overlap=config.chunk_overlap,
        )
        report = store.ingest_paths(args.paths, args.collection, show_progress=not args.no_progress)
        total = store.count(args.collection) if report.documents else 0
        store.close()
    except (MMOrchError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"{report.collection}: {report.documents} documents, {report.chunks_added} chunks added, "
        f"{report.chunks_unchanged} unchanged, {report.chunks_removed} removed; {total} chunks in the collection; "
        f"store {config.resolved_path()}"
    )
    for path in report.skipped:
        print(f"skipped (unsupported type): {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
