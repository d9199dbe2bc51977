"""Layer 3: backends. Each builds argv for one CLI and parses what it prints
into the typed models of :mod:`.models`. No DRMAA2 semantics here.
:mod:`.registry` chooses and connects them (cheap to import: the command
line reads its choices before it needs any backend)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_WHERE = {
    "ContainerBackend": ".base",
    **{name: ".errors" for name in ("BackendError", "CliParseError", "ContainerNotFound", "DaemonUnreachable")},
    **{name: ".models" for name in ("ContainerInfo", "ContainerSpec", "Event", "ImageConfig", "ImageRecord",
                                    "Mount", "TaskRecord", "TaskStatus")},
}
__getattr__ = lazy_exports(__name__, _WHERE)
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from .base import ContainerBackend
    from .errors import BackendError, CliParseError, ContainerNotFound, DaemonUnreachable
    from .models import ContainerInfo, ContainerSpec, Event, ImageConfig, ImageRecord, Mount, TaskRecord, TaskStatus
