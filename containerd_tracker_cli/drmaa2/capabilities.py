"""DRMAA2's optional capabilities (``SessionManager.supports``), with what
this implementation offers."""
from __future__ import annotations

import enum


class Capability(enum.Enum):
    ADVANCE_RESERVATION = "AdvanceReservation"
    RESERVE_SLOTS = "ReserveSlots"
    CALLBACK = "Callback"
    BULK_JOBS_MAXPARALLEL = "BulkJobsMaxParallel"
    JT_EMAIL = "JtEmail"
    JT_STAGING = "JtStaging"
    JT_DEADLINE = "JtDeadline"
    JT_MAXSLOTS = "JtMaxSlots"
    JT_ACCOUNTINGID = "JtAccountingId"
    RT_STARTNOW = "RtStartNow"
    RT_DURATION = "RtDuration"
    RT_MACHINEOS = "RtMachineOS"
    RT_MACHINEARCH = "RtMachineArch"

    @classmethod
    def parse(cls, value: "Capability | str") -> "Capability":
        """A member, its name or DRMAA2's name, in any case."""
        if isinstance(value, Capability):
            return value
        key = str(value).replace("_", "").replace("-", "").lower()
        for member in cls:
            if key in (member.name.replace("_", "").lower(), member.value.lower()):
                return member
        raise ValueError(f"unknown DRMAA2 capability {value!r}")


#: What containerd-tracker offers: max_parallel in job arrays, event callbacks,
#: staging (bind mounts), max_slots (a CPU quota). Reservations, e-mail,
#: deadlines and accounting IDs are not offered.
SUPPORTED = frozenset({Capability.BULK_JOBS_MAXPARALLEL, Capability.CALLBACK, Capability.JT_STAGING,
                       Capability.JT_MAXSLOTS})
