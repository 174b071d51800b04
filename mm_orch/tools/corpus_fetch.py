"""Offline fetching: serve Wikipedia URLs from the local corpus, and fall back to HTTP for everything else.

``LocalWikiSearch`` returns ``https://en.wikipedia.org/wiki/<Title>`` URLs; :class:`CorpusFirstFetcher` answers
those from the same corpus with no network, so search -> fetch -> answer works on a machine with no internet.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mm_orch.tools.config import FetchConfig
from mm_orch.tools.errors import FetchError
from mm_orch.tools.fetch import Fetcher
from mm_orch.tools.types import FetchedDocument
from mm_orch.tools.wiki_corpus import WikiArticle, WikiCorpus, load_corpus, title_from_wiki_url

__all__ = ["CorpusFetcher", "CorpusFirstFetcher"]


class CorpusFetcher:
    """Fetch Wikipedia article URLs from the local corpus only (the corpus loads on first use)."""

    def __init__(self, corpus: WikiCorpus | None = None, *, corpus_path: Path | None = None) -> None:
        self._corpus = corpus
        self._corpus_path = corpus_path

    @property
    def corpus(self) -> WikiCorpus:
        if self._corpus is None:
            self._corpus = load_corpus(self._corpus_path)
        return self._corpus

    def warm_up(self) -> None:
        """Load the corpus now rather than on the first fetch."""
        _ = self.corpus

    def lookup(self, url: str) -> FetchedDocument | None:
        """The document for ``url`` when the corpus has it, else ``None`` (never touches the network)."""
        if title_from_wiki_url(url) is None:
            return None
        article = self.corpus.get_by_url(url)
        return None if article is None else self._document(url, article)

    def fetch(self, url: str) -> FetchedDocument:
        """The corpus document for ``url``; FetchError (status 404) when the corpus does not have it."""
        doc = self.lookup(url)
        if doc is None:
            raise FetchError(
                f"{url!r} is not in the local Wikipedia corpus ({len(self.corpus)} articles); only "
                "https://en.wikipedia.org/wiki/<Title> URLs of its articles can be fetched offline.",
                url=url,
                status_code=404,
            )
        return doc

    async def afetch(self, url: str) -> FetchedDocument:
        """Async :meth:`fetch` (no I/O after the corpus is loaded)."""
        return await asyncio.to_thread(self.fetch, url)

    @staticmethod
    def _document(url: str, article: WikiArticle) -> FetchedDocument:
        text = article.extract
        return FetchedDocument(
            url=url,
            final_url=article.url,
            title=article.title,
            text=text,
            status_code=200,
            content_type="text/plain",
            bytes=len(text.encode("utf-8")),
        )


class CorpusFirstFetcher:
    """Local corpus first, then HTTP through :class:`Fetcher` (unless ``config.offline``)."""

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        local: CorpusFetcher | None = None,
        http: Fetcher | None = None,
    ) -> None:
        self.config = config or FetchConfig()
        self.local = local or CorpusFetcher()
        self.http = http or Fetcher(self.config)

    def warm_up(self) -> None:
        """Load the corpus."""
        self.local.warm_up()

    def fetch(self, url: str) -> FetchedDocument:
        """The corpus document when there is one, else an HTTP fetch (FetchError when offline)."""
        doc = self.local.lookup(url)
        if doc is not None:
            return doc
        self._refuse_if_offline(url)
        return self.http.fetch(url)

    async def afetch(self, url: str) -> FetchedDocument:
        """Async :meth:`fetch`."""
        doc = await asyncio.to_thread(self.local.lookup, url)
        if doc is not None:
            return doc
        self._refuse_if_offline(url)
        return await self.http.afetch(url)

    def _refuse_if_offline(self, url: str) -> None:
        if self.config.offline:
            raise FetchError(
                f"{url!r} is not in the local corpus and fetch.offline is true; set fetch.offline: false "
                "to fetch it over HTTP.",
                url=url,
                status_code=404,
            )
