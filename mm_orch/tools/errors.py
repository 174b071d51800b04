"""Errors of the tools package, each a branch of :class:`mm_orch.exceptions.ToolError`.

::

    ToolError (mm_orch.exceptions)
    ├── FetchBlockedError (mm_orch.exceptions)  a fetch refused by policy: address, scheme, size, redirects
    ├── FetchError                              a fetch failed: network error, timeout, HTTP error status
    ├── SearchError                             a search provider failed or answered with something unusable
    └── CollectionNotFoundError                 a document collection name does not exist (lists the ones that do)
"""

from __future__ import annotations

from mm_orch.exceptions import ToolError

__all__ = ["CollectionNotFoundError", "FetchError", "SearchError"]


class FetchError(ToolError):
    """A fetch failed for a reason other than policy. ``url`` and ``status_code`` (or ``None``) say which."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class SearchError(ToolError):
    """A search provider failed (unreachable service, bad response, broken index)."""


class CollectionNotFoundError(ToolError, KeyError):
    """A document collection does not exist; the message lists the existing ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
