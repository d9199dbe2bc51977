"""Layer 1: the DRMAA2 vocabulary — states, errors, templates, infos, the
tracker interface. Pure data and contracts: nothing here runs a process.
Submodules load on first use."""
from __future__ import annotations

from .._lazy import lazy_exports

#: Name → the submodule defining it. The package root re-exports all of
#: these, so this is the one list of the DRMAA2 names.
EXPORTS = {
    **{name: ".errors" for name in (
        "DeniedByDrmsError", "DrmCommunicationError", "DrmaaError", "DrmaaTimeoutError", "ErrorId",
        "ImplementationSpecificError", "InternalError", "InvalidArgumentError", "InvalidStateError",
        "JobNotFoundError", "TryLaterError", "UnsupportedAttributeError", "UnsupportedOperationError")},
    "Extension": ".models", "JobInfo": ".models", "JobTemplate": ".models", "MachineInfo": ".models",
    "Capability": ".capabilities",
    "DrmaaEvent": ".events", "Notification": ".events",
    "JobState": ".states", "TERMINAL_STATES": ".states",
    "JobTracker": ".tracker",
}
__all__ = sorted(EXPORTS)
__getattr__ = lazy_exports(__name__, EXPORTS)
