"""``DocumentStore``: named collections of chunked, embedded documents in one embedded SQLite file.

Storage is SQLite through ``apsw`` with the ``sqlite-vec`` extension. Why these: both are single small wheels
with no dependencies (about 11 MB together, against 180 MB for LanceDB or a dependency tree for Chroma), the
store is one file with real transactions (a chunk row and its vector land together or not at all), and nothing
is pickled (Chroma persists parts of its HNSW index with pickle). ``apsw`` is needed because CPython's
``sqlite3`` is often built without extension loading. Search is exact cosine KNN, fine for the tens of thousands
of chunks a local RAG collection holds.

Layout: table ``collections`` (name, dim, embedder), table ``chunks`` (metadata and text) and one ``vec0``
virtual table per collection holding the vectors under the same rowid. Chunk ids hash the document id and the
chunk text, so re-ingesting an unchanged file adds nothing, and a changed file replaces only what changed.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tqdm.auto import tqdm

from mm_orch.exceptions import format_options
from mm_orch.hashing import sha256_hex
from mm_orch.tools.chunking import SUFFIXES, Chunker, SourceDocument, read_document
from mm_orch.tools.errors import CollectionNotFoundError, ToolError
from mm_orch.tools.local_wiki import embedder_id
from mm_orch.tools.types import Embedder, RetrievedChunk

__all__ = ["DocumentStore", "IngestReport"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL, dim INTEGER NOT NULL, embedder TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL, chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL,
    UNIQUE (collection_id, chunk_id)
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (collection_id, doc_id);
"""


class IngestReport(BaseModel):
    """What one ingest call changed."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(description="The collection written to.")
    documents: int = Field(default=0, description="Documents read.")
    chunks_added: int = Field(default=0, description="New chunks embedded and stored.")
    chunks_unchanged: int = Field(default=0, description="Chunks already stored (same document, same text).")
    chunks_removed: int = Field(default=0, description="Stale chunks of re-ingested documents that were deleted.")
    skipped: list[str] = Field(default_factory=list, description="Paths not ingested (unsupported suffix).")


def _hash(*parts: str) -> str:
    return sha256_hex("\x00".join(parts))[:32]


class DocumentStore:
    """Persistent RAG store at ``path`` (a SQLite file, created on first use) embedding with ``embedder``."""

    def __init__(
        self, path: Path | str, embedder: Embedder, *, chunk_chars: int = 1000, chunk_overlap: int = 150
    ) -> None:
        self.path = Path(path)
        self.embedder = embedder
        self.chunker = Chunker(chunk_chars, chunk_overlap)
        self._conn: Any = None
        self._lock = threading.RLock()

    # --- connection --------------------------------------------------------------------------------------------

    def _db(self) -> Any:
        if self._conn is None:
            try:
                import apsw
                import sqlite_vec
            except ImportError as err:
                raise ToolError(
                    f"The document store needs apsw and sqlite-vec ({err}); pip install apsw sqlite-vec"
                ) from err
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = apsw.Connection(str(self.path))
            conn.enable_load_extension(True)
            conn.load_extension(sqlite_vec.loadable_path())
            conn.enable_load_extension(False)
            conn.setbusytimeout(10_000)
            # WAL with synchronous=NORMAL: commits do not fsync (a crash may lose the last commits, never
            # corrupt the file); per-document transactions would otherwise be bound by disk syncs.
            conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def warm_up(self) -> None:
        """Open (or create) the store file now."""
        with self._lock:
            self._db()

    def close(self) -> None:
        """Close the database; the store reopens on next use."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- collections -------------------------------------------------------------------------------------------

    def list_collections(self) -> list[str]:
        """Names of all collections, sorted."""
        with self._lock:
            return [row[0] for row in self._db().execute("SELECT name FROM collections ORDER BY name")]

    def count(self, collection: str) -> int:
        """Number of chunks in ``collection``."""
        with self._lock:
            cid, _, _ = self._collection(collection)
            return int(
                self._db().execute("SELECT count(*) FROM chunks WHERE collection_id=?", (cid,)).fetchone()[0]
            )

    def delete_collection(self, collection: str) -> None:
        """Delete ``collection`` with all its chunks and vectors."""
        with self._lock:
            cid, _, _ = self._collection(collection)
            db = self._db()
            with db:
                db.execute(f"DROP TABLE IF EXISTS vec_{cid}")
                db.execute("DELETE FROM chunks WHERE collection_id=?", (cid,))
                db.execute("DELETE FROM collections WHERE id=?", (cid,))

    def _collection(self, name: str) -> tuple[int, int, str]:
        row = self._db().execute("SELECT id, dim, embedder FROM collections WHERE name=?", (name,)).fetchone()
        if row is None:
            raise CollectionNotFoundError(
                f"Collection {name!r} does not exist in {str(self.path)!r}; existing: "
                f"{format_options(self.list_collections())}. Ingest documents into it first."
            )
        return int(row[0]), int(row[1]), str(row[2])

    def _ensure_collection(self, name: str, dim: int) -> int:
        if not _NAME.match(name):
            raise ToolError(
                f"Invalid collection name {name!r}: use 1-64 letters, digits, '_', '-' or '.', starting with a "
                "letter or digit."
            )
        db = self._db()
        if db.execute("SELECT 1 FROM collections WHERE name=?", (name,)).fetchone() is None:
            with db:
                db.execute(
                    "INSERT INTO collections(name, dim, embedder) VALUES (?, ?, ?)",
                    (name, dim, embedder_id(self.embedder)),
                )
                cid = int(db.last_insert_rowid())
                db.execute(
                    f"CREATE VIRTUAL TABLE vec_{cid} USING vec0(embedding float[{dim}] distance_metric=cosine)"
                )
        cid, stored_dim, stored_embedder = self._collection(name)
        if stored_dim != dim:
            raise ToolError(
                f"Collection {name!r} holds {stored_dim}-dim vectors from {stored_embedder!r}, but this "
                f"embedder ({embedder_id(self.embedder)!r}) makes {dim}-dim ones; use the same embedder or a "
                "new collection."
            )
        return cid

    # --- ingest ------------------------------------------------------------------------------------------------

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ToolError(
                f"Embedder {embedder_id(self.embedder)!r} returned shape {vectors.shape} for {len(texts)} texts; "
                "expected (n_texts, dim)"
            )
        return vectors

    def _ingest_document(self, doc: SourceDocument, doc_id: str, collection: str, report: IngestReport) -> None:
        chunks = self.chunker.split(doc.text, kind=doc.kind)
        ids: dict[str, tuple[int, str]] = {}
        for index, text in enumerate(chunks):
            ids.setdefault(_hash(doc_id, text), (index, text))  # repeated identical chunks are stored once
        db = self._db()
        existing: dict[str, int] = {}
        row = db.execute("SELECT id FROM collections WHERE name=?", (collection,)).fetchone()
        if row is not None:
            existing = {
                str(chunk_id): int(rowid)
                for rowid, chunk_id in db.execute(
                    "SELECT rowid, chunk_id FROM chunks WHERE collection_id=? AND doc_id=?", (row[0], doc_id)
                )
            }
        new = [(cid, idx, text) for cid, (idx, text) in ids.items() if cid not in existing]
        stale = [rowid for cid, rowid in existing.items() if cid not in ids]
        report.documents += 1
        report.chunks_unchanged += len(ids) - len(new)
        if not new and not stale:
            return
        if new:
            vectors = self._embed([text for _, _, text in new])
            collection_id = self._ensure_collection(collection, int(vectors.shape[1]))
        else:  # only stale chunks: the collection exists since they are in it
            vectors = np.zeros((0, 0), np.float32)
            collection_id = int(row[0])
        with db:
            for rowid in stale:
                db.execute(f"DELETE FROM vec_{collection_id} WHERE rowid=?", (rowid,))
                db.execute("DELETE FROM chunks WHERE rowid=?", (rowid,))
            for (chunk_id, index, text), vector in zip(new, vectors, strict=True):
                db.execute(
                    "INSERT INTO chunks(collection_id, chunk_id, doc_id, chunk_index, title, text, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (collection_id, chunk_id, doc_id, index, doc.title, text, doc.source),
                )
                db.execute(
                    f"INSERT INTO vec_{collection_id}(rowid, embedding) VALUES (?, ?)",
                    (db.last_insert_rowid(), np.ascontiguousarray(vector, dtype=np.float32).tobytes()),
                )
        report.chunks_added += len(new)
        report.chunks_removed += len(stale)

    def ingest_texts(
        self,
        texts: Sequence[str],
        collection: str,
        *,
        doc_ids: Sequence[str] | None = None,
        titles: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        markdown: bool = False,
    ) -> IngestReport:
        """Chunk, embed and store ``texts``. ``doc_ids`` default to a hash of each text; re-ingesting a doc id
        replaces its chunks (unchanged chunks are kept without re-embedding)."""
        n = len(texts)
        for label, values in (("doc_ids", doc_ids), ("titles", titles), ("sources", sources)):
            if values is not None and len(values) != n:
                raise ToolError(f"{label} has {len(values)} entries but texts has {n}; give one per text")
        report = IngestReport(collection=collection)
        with self._lock, self._db():  # one transaction for the batch (the per-document ones nest as savepoints)
            for i, text in enumerate(texts):
                doc_id = doc_ids[i] if doc_ids is not None else "text:" + _hash(text)
                doc = SourceDocument(
                    text=text,
                    title=titles[i] if titles is not None else "",
                    kind="markdown" if markdown else "text",
                    source=sources[i] if sources is not None else doc_id,
                )
                self._ingest_document(doc, doc_id, collection, report)
        return report

    def ingest_paths(
        self, paths: Iterable[Path | str], collection: str, *, show_progress: bool = False
    ) -> IngestReport:
        """Ingest files (.txt, .md, .html) and folders (searched recursively; other files are listed in
        ``skipped``). A file's doc id is its absolute path, so re-ingesting after edits updates it in place."""
        files: list[Path] = []
        skipped: list[Path] = []
        report = IngestReport(collection=collection)
        for entry in map(Path, paths):
            if entry.is_dir():
                for found in sorted(p for p in entry.rglob("*") if p.is_file()):
                    (files if found.suffix.lower() in SUFFIXES else skipped).append(found)
            elif entry.is_file() and entry.suffix.lower() in SUFFIXES:
                files.append(entry)
            elif entry.exists():
                skipped.append(entry)
            else:
                raise ToolError(f"Cannot ingest {str(entry)!r}: no such file or folder")
        report.skipped = [str(p) for p in skipped]
        with self._lock:
            for file in tqdm(files, desc=f"Ingesting into {collection!r}", unit="file", disable=not show_progress):
                self._ingest_document(read_document(file), str(file.resolve()), collection, report)
        return report

    # --- retrieval ---------------------------------------------------------------------------------------------

    def retrieve(self, query: str, collection: str, k: int = 5) -> list[RetrievedChunk]:
        """The ``k`` chunks of ``collection`` most similar to ``query`` (cosine similarity), best first."""
        if k < 1:
            raise ToolError(f"k must be at least 1, got {k}")
        with self._lock:
            cid, dim, _ = self._collection(collection)
            vector = self._embed([query])[0]
            if vector.shape[0] != dim:
                raise ToolError(
                    f"Collection {collection!r} holds {dim}-dim vectors but the embedder made {vector.shape[0]}; "
                    "query with the embedder the collection was built with"
                )
            rows = self._db().execute(
                f"SELECT c.doc_id, c.chunk_id, c.title, c.text, c.source, v.distance FROM "
                f"(SELECT rowid, distance FROM vec_{cid} WHERE embedding MATCH ? AND k = ?) AS v "
                "JOIN chunks AS c ON c.rowid = v.rowid ORDER BY v.distance, c.rowid",
                (vector.tobytes(), k),
            )
            return [
                RetrievedChunk(
                    doc_id=doc_id, chunk_id=chunk_id, title=title, text=text, source=source,
                    score=round(1.0 - float(distance), 6),
                )
                for doc_id, chunk_id, title, text, source, distance in rows
            ]  # fmt: skip

    async def aretrieve(self, query: str, collection: str, k: int = 5) -> list[RetrievedChunk]:
        """Async :meth:`retrieve` (runs in a worker thread)."""
        return await asyncio.to_thread(self.retrieve, query, collection, k)
