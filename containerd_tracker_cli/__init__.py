"""containerd-tracker: containerd containers as DRMAA2 jobs, through ctr, nerdctl or docker.

Names are imported on first use (PEP 562), so the command line pays only for
what a command needs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from .drmaa2 import EXPORTS as _DRMAA2  # a table only: loads no submodule of drmaa2

__version__ = "0.1.0"

_WHERE = {
    **{name: ".drmaa2" + module for name, module in _DRMAA2.items()},
    "ContainerdJobTracker": ".tracker.tracker",
    "SessionManager": ".session.manager",
    "JobSession": ".session.job_session",
    "Job": ".session.jobs",
    "JobArray": ".session.jobs",
    "MonitoringSession": ".session.monitoring",
}

__all__ = sorted([*_WHERE, "__version__"])
__getattr__ = lazy_exports(__name__, _WHERE)


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers see; at run time _WHERE decides
    from .drmaa2.errors import *  # noqa: F403 (the error names are listed once, in drmaa2.EXPORTS)
    from .drmaa2.capabilities import Capability
    from .drmaa2.events import DrmaaEvent, Notification
    from .drmaa2.models import Extension, JobInfo, JobTemplate, MachineInfo
    from .drmaa2.states import TERMINAL_STATES, JobState
    from .drmaa2.tracker import JobTracker
    from .session.job_session import JobSession
    from .session.jobs import Job, JobArray
    from .session.manager import SessionManager
    from .session.monitoring import MonitoringSession
    from .tracker.tracker import ContainerdJobTracker
