"""A registry filled where things are defined: entries register themselves when their module is
imported, and the registry imports every module of its package once, on first lookup."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind, found in the modules of one package.

    Parameters
    ----------
    package : dotted name of the package whose modules register entries (imported on first lookup).
    order : sort key for listings (default: registration order).
    """

    def __init__(self, package: str, order: Callable[[T], object] | None = None):
        self.package, self.order = package, order
        self._entries: dict[str, T] = {}
        self._discovered = False

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name`` (a later registration of the same name wins)."""
        self._entries[name] = entry
        return entry

    def all(self) -> dict[str, T]:
        """Every entry by name, in listing order."""
        if not self._discovered:
            self._discovered = True
            package = importlib.import_module(self.package)
            for info in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{self.package}.{info.name}")
        if self.order is None:
            return dict(self._entries)
        return dict(sorted(self._entries.items(), key=lambda kv: self.order(kv[1])))

    def add(self, entry: T) -> T:
        """Register ``entry`` under its ``name`` attribute (called at import time by the module that
        defines it; a later entry of the same name replaces it); returns it."""
        return self.register(entry.name, entry)

    def get(self, name: str) -> T | None:
        """The entry ``name``, or None."""
        return self.all().get(name)
