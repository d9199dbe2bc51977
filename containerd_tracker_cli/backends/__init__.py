"""Layer 3: backends. Each builds argv for one CLI and parses what it prints
into the typed models of :mod:`.models`. No DRMAA2 semantics here."""
from .base import ContainerBackend
from .errors import BackendError, CliParseError, ContainerNotFound, DaemonUnreachable
from .models import (
    ContainerInfo,
    ContainerSpec,
    Event,
    ImageConfig,
    ImageRecord,
    Mount,
    TaskRecord,
    TaskStatus,
)

__all__ = [
    "BackendError",
    "CliParseError",
    "ContainerBackend",
    "ContainerInfo",
    "ContainerNotFound",
    "ContainerSpec",
    "DaemonUnreachable",
    "Event",
    "ImageConfig",
    "ImageRecord",
    "Mount",
    "TaskRecord",
    "TaskStatus",
]
