"""Lazy public names for a package: `from pkg import Name` imports Name's module on first use only,
so importing the package stays light (no servers, plotting or widgets until asked for)."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable

__all__ = ["lazy_exports", "lazy_getattr"]


def lazy_getattr(package: str, exports: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for `package`: `exports` maps a public name to the submodule
    (relative to `package`) that defines it; a loaded name is kept in `namespace` (the package's
    globals) so the lookup happens once."""
    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value
    return __getattr__


def lazy_exports(namespace: dict[str, Any], exports: dict[str, str], *, extra: Iterable[str] = ()) -> None:
    """Make the package whose globals are `namespace` export `exports` lazily: sets its ``__all__``
    (the exported names, then `extra`), ``__getattr__`` and ``__dir__``."""
    names = sorted(exports) + list(extra)
    namespace["__all__"] = names
    namespace["__getattr__"] = lazy_getattr(namespace["__name__"], exports, namespace)
    namespace["__dir__"] = lambda: list(names)
