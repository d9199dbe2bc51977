"""Layer 1: the DRMAA2 vocabulary — states, errors, templates, infos, the
tracker interface. Pure data and contracts: nothing here runs a process.
Submodules load on first use."""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    **{name: ".errors" for name in (
        "DeniedByDrmsError", "DrmCommunicationError", "DrmaaError", "DrmaaTimeoutError", "ErrorId",
        "ImplementationSpecificError", "InternalError", "InvalidArgumentError", "InvalidStateError",
        "JobNotFoundError", "TryLaterError", "UnsupportedAttributeError", "UnsupportedOperationError")},
    "Extension": ".models", "JobInfo": ".models", "JobTemplate": ".models",
    "JobState": ".states", "TERMINAL_STATES": ".states",
    "JobTracker": ".tracker",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
