"""Lazy re-exports (PEP 562), written once for every package that has them:
a package names what it offers without importing it, so a command pays only
for the modules it uses. Imports nothing of the project: any package may use
it without an import cycle."""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``where`` maps a name to the
    module (relative to ``package``) that defines it. The first use imports
    that module and keeps the value on the package, so later uses cost
    nothing."""

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
