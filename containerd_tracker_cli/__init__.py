"""containerd-tracker: containerd containers as DRMAA2 jobs, through ctr.

Names are imported on first use (PEP 562), so the command line pays only for
what a command needs.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_ERRORS = (
    "DeniedByDrmsError", "DrmCommunicationError", "DrmaaError", "DrmaaTimeoutError", "ErrorId",
    "ImplementationSpecificError", "InternalError", "InvalidArgumentError", "InvalidStateError",
    "JobNotFoundError", "TryLaterError", "UnsupportedAttributeError", "UnsupportedOperationError",
)
_WHERE = {
    **{name: ".drmaa2.errors" for name in _ERRORS},
    "Extension": ".drmaa2.models",
    "JobInfo": ".drmaa2.models",
    "JobTemplate": ".drmaa2.models",
    "JobState": ".drmaa2.states",
    "TERMINAL_STATES": ".drmaa2.states",
    "JobTracker": ".drmaa2.tracker",
    "ContainerdJobTracker": ".tracker.tracker",
}

__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from .drmaa2.errors import (
        DeniedByDrmsError, DrmaaError, DrmaaTimeoutError, DrmCommunicationError, ErrorId,
        ImplementationSpecificError, InternalError, InvalidArgumentError, InvalidStateError,
        JobNotFoundError, TryLaterError, UnsupportedAttributeError, UnsupportedOperationError,
    )
    from .drmaa2.models import Extension, JobInfo, JobTemplate
    from .drmaa2.states import TERMINAL_STATES, JobState
    from .drmaa2.tracker import JobTracker
    from .tracker.tracker import ContainerdJobTracker
