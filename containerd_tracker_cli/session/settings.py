"""How a session layer object reaches its daemon: the same options, with the
same defaults, as ``ContainerdJobTracker`` (the backend registry decides)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .names import SessionNames

if TYPE_CHECKING:
    from ..tracker import ContainerdJobTracker
    from ..tracker.monitoring import MonitoringTracker


@dataclass(frozen=True)
class Settings:
    address: str | None = None
    namespace: str | None = None
    backend: Any = "auto"
    state_dir: str | None = None
    #: Any other ContainerdJobTracker keyword (runner, pull_policy, terminate_grace …).
    options: dict[str, Any] = field(default_factory=dict)

    def _kwargs(self) -> dict[str, Any]:
        return {"address": self.address, "namespace": self.namespace, "backend": self.backend,
                "state_dir": self.state_dir, **self.options}

    def tracker(self, session_name: str) -> "ContainerdJobTracker":
        from ..tracker import ContainerdJobTracker

        return ContainerdJobTracker(session_name, **self._kwargs())

    def monitor(self) -> "MonitoringTracker":
        from ..tracker.monitoring import MonitoringTracker

        return MonitoringTracker(**self._kwargs())

    @staticmethod
    def names(tracker: "ContainerdJobTracker") -> SessionNames:
        """The session names of the tracker's state directory and namespace."""
        return SessionNames(tracker.state.root, tracker.namespace)
