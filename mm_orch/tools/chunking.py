"""Reading documents (text, Markdown, HTML) and splitting them into overlapping chunks.

Splitting uses ``semantic-text-splitter`` (one Rust wheel, no dependencies): it fills each chunk up to the
size limit with the largest semantic units that fit (paragraphs, then sentences, then words), so chunks end on
natural boundaries; the Markdown splitter also respects headings, lists and code blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from semantic_text_splitter import MarkdownSplitter, TextSplitter

from mm_orch.exceptions import format_options
from mm_orch.tools.errors import ToolError
from mm_orch.tools.html_text import extract_html

__all__ = ["SUFFIXES", "Chunker", "SourceDocument", "read_document"]

SUFFIXES: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
_MD_HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class SourceDocument:
    """A document ready to chunk: its text (HTML already reduced), title, kind and where it came from."""

    text: str
    title: str
    kind: str  # "text" | "markdown" (html is read as text)
    source: str


def read_document(path: Path) -> SourceDocument:
    """Read a .txt/.md/.html file (UTF-8, undecodable bytes replaced) into a :class:`SourceDocument`."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ToolError(
            f"Cannot ingest {str(path)!r}: suffix {path.suffix!r} is not supported; "
            f"use one of {format_options(SUFFIXES)}"
        )
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if kind == "html":
        title, text = extract_html(raw)
        return SourceDocument(text=text, title=title or path.stem, kind="text", source=str(path))
    if kind == "markdown":
        match = _MD_HEADING.search(raw)
        return SourceDocument(text=raw, title=match.group(1) if match else path.stem, kind=kind, source=str(path))
    return SourceDocument(text=raw, title=path.stem, kind=kind, source=str(path))


class Chunker:
    """Split text into chunks of at most ``chunk_chars`` characters sharing ``overlap`` characters."""

    def __init__(self, chunk_chars: int = 1000, overlap: int = 150) -> None:
        if overlap >= chunk_chars:
            raise ToolError(f"chunk overlap ({overlap}) must be smaller than chunk_chars ({chunk_chars})")
        self._text = TextSplitter(chunk_chars, overlap=overlap, trim=True)
        self._markdown = MarkdownSplitter(chunk_chars, overlap=overlap, trim=True)

    def split(self, text: str, *, kind: str = "text") -> list[str]:
        """Non-empty chunks of ``text`` in document order (``kind='markdown'`` respects Markdown structure)."""
        splitter = self._markdown if kind == "markdown" else self._text
        return [chunk for chunk in splitter.chunks(text) if chunk.strip()]
