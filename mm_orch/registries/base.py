"""Registry: the one name -> item store the step, tool, model and workflow registries are built on.

A registry is thread-safe, refuses a second item under a taken name unless ``replace=True``, and its ``get``
raises the registry's own not-found error listing every registered name and how to register one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import ClassVar, Generic, TypeVar

from mm_orch.exceptions import MMOrchError, RegistrationError, format_options

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> item. Subclasses name their ``kind``, their not-found error and how to register an item."""

    kind: ClassVar[str] = "item"
    not_found_error: ClassVar[type[MMOrchError]] = RegistrationError
    register_hint: ClassVar[str] = ""

    def __init__(self) -> None:
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def _store(self, name: str, item: T, *, replace: bool = False) -> T:
        """Store ``item`` as ``name``; a taken name raises RegistrationError unless ``replace=True``."""
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"{self.kind} names must be non-empty strings, got {name!r}")
        with self._lock:
            current = self._items.get(name)
            if current is not None and not replace:
                raise RegistrationError(
                    f"a {self.kind} named {name!r} is already registered; pass replace=True to "
                    f"swap it, or register it under another name"
                )
            self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """The item registered as ``name``; the registry's not-found error lists the registered names."""
        try:
            return self._items[name]
        except KeyError:
            hint = f". {self.register_hint}" if self.register_hint else ""
            raise self.not_found_error(
                f"{self.kind} {name!r} is not registered; registered {self.kind}s: "
                f"{format_options(self._items)}{hint}"
            ) from None

    def unregister(self, name: str) -> None:
        """Remove ``name`` (the not-found error when it is not registered)."""
        with self._lock:
            self.get(name)
            del self._items[name]

    def list_all(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.list_all())

    def __len__(self) -> int:
        return len(self._items)
