"""DRMAA2 ``SessionManager``: create, open, list and destroy job sessions,
open the monitoring session, say what the DRMS is and can do."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..drmaa2.capabilities import SUPPORTED, Capability
from ..drmaa2.errors import InvalidArgumentError
from .job_session import JobSession
from .monitoring import MonitoringSession
from .settings import Settings

if TYPE_CHECKING:
    from ..drmaa2.events import Notification
    from ..tracker.notifier import StateNotifier

DRMS_NAME = "containerd"


class SessionManager:
    """Same connection options and defaults as ``ContainerdJobTracker``."""

    def __init__(self, address: str | None = None, namespace: str | None = None, backend: Any = "auto", *,
                 state_dir: str | None = None, **tracker_options: Any) -> None:
        self._settings = Settings(address, namespace, backend, state_dir, tracker_options)
        self._probe = self._settings.monitor()  # checks the CLI and names the state directory
        self._names = Settings.names(self._probe)
        self._notifier: "StateNotifier | None" = None

    def create_job_session(self, name: str, contact: str | None = None) -> JobSession:
        """A new session; InvalidArgumentError if one of that name exists."""
        return JobSession._open(self._settings, name, contact, create=True)

    def open_job_session(self, name: str) -> JobSession:
        """An existing session; InvalidArgumentError if there is none of that name."""
        return JobSession._open(self._settings, name, None, create=False)

    def destroy_job_session(self, name: str) -> None:
        """Forget the name; its jobs stay (as in drmaa2os) and any session of
        that name sees them again."""
        self._names.remove(name)

    def get_job_session_names(self) -> list[str]:
        return self._names.names()

    def open_monitoring_session(self, name: str | None = None) -> MonitoringSession:
        return MonitoringSession(self._settings, name)

    @property
    def drms_name(self) -> str:
        return DRMS_NAME

    @property
    def drms_version(self) -> str:
        """The daemon's version, as the backend's CLI reports it."""
        return self._probe.backend.server_version()

    def register_event_notification(self, callback: "Callable[[Notification], None] | None") -> None:
        """DRMAA2: ``callback(notification)`` for each state change of any
        DRMAA2 job of the namespace (every session, every process), called on
        a thread of this process, until replaced or ``None`` is registered.
        One event subscription; see :mod:`..tracker.notifier`."""
        from ..tracker.notifier import StateNotifier

        if callback is not None and not callable(callback):
            raise InvalidArgumentError(f"the callback must be callable or None, got {callback!r}")
        if self._notifier is not None:
            self._notifier.stop()
            self._notifier = None
        if callback is not None:
            self._notifier = StateNotifier(self._settings.monitor(), callback)
            self._notifier.start()

    def supports(self, capability: Capability | str) -> bool:
        try:
            return Capability.parse(capability) in SUPPORTED
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from exc
