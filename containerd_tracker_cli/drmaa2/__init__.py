"""Layer 1: the DRMAA2 vocabulary — states, errors, templates, infos, the
tracker interface. Pure data and contracts: nothing here runs a process."""
from .errors import (
    DeniedByDrmsError,
    DrmaaError,
    DrmaaTimeoutError,
    DrmCommunicationError,
    ErrorId,
    ImplementationSpecificError,
    InternalError,
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    TryLaterError,
    UnsupportedAttributeError,
    UnsupportedOperationError,
)
from .models import Extension, JobInfo, JobTemplate
from .states import TERMINAL_STATES, JobState
from .tracker import JobTracker

__all__ = [
    "DeniedByDrmsError",
    "DrmCommunicationError",
    "DrmaaError",
    "DrmaaTimeoutError",
    "ErrorId",
    "Extension",
    "ImplementationSpecificError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidStateError",
    "JobInfo",
    "JobNotFoundError",
    "JobState",
    "JobTemplate",
    "JobTracker",
    "TERMINAL_STATES",
    "TryLaterError",
    "UnsupportedAttributeError",
    "UnsupportedOperationError",
]
