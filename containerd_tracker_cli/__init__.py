"""containerd-tracker: containerd containers as DRMAA2 jobs, through ctr."""
from .drmaa2 import (
    DeniedByDrmsError,
    DrmaaError,
    DrmaaTimeoutError,
    DrmCommunicationError,
    ErrorId,
    Extension,
    ImplementationSpecificError,
    InternalError,
    InvalidArgumentError,
    InvalidStateError,
    JobInfo,
    JobNotFoundError,
    JobState,
    JobTemplate,
    JobTracker,
    TERMINAL_STATES,
    TryLaterError,
    UnsupportedAttributeError,
    UnsupportedOperationError,
)
from .tracker import ContainerdJobTracker

__version__ = "0.1.0"

__all__ = [
    "ContainerdJobTracker",
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
    "__version__",
]
