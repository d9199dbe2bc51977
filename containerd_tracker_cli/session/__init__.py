"""Layer 5: the DRMAA2 session API over the tracker — ``SessionManager``,
``JobSession``, ``Job``, ``JobArray``, ``MonitoringSession`` — with the
names Python DRMAA2 users know (uge-drmaa2; drmaa2os' Go names in
snake_case). Loaded on first use."""
from __future__ import annotations

from .._lazy import lazy_exports

EXPORTS = {
    "SessionManager": ".manager",
    "JobSession": ".job_session",
    "Job": ".jobs",
    "JobArray": ".jobs",
    "MonitoringSession": ".monitoring",
}
__all__ = sorted(EXPORTS)
__getattr__ = lazy_exports(__name__, EXPORTS)
