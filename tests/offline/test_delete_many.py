"""``delete_jobs``: many ended jobs removed with a few calls. When one of its
calls fails, the jobs the others removed lose their folders too (nothing is
left behind for them), the rest stay whole, and deleting those again works."""
from __future__ import annotations

from pathlib import Path

import pytest

from containerd_tracker_cli import ContainerdJobTracker, InternalError, UnsupportedOperationError
from containerd_tracker_cli.tracker.monitoring import MonitoringTracker

from .docker_engine import Engine, inspected

NAMES = [f"del-{n:012x}" for n in range(150)]


def _engine_and_folders(state: Path) -> tuple[Engine, list[Path]]:
    engine = Engine([inspected(f"{n:064x}", name, 0, 0) for n, name in enumerate(NAMES, start=1)], "")
    folders = [state / "jobs" / "default" / name for name in NAMES]
    for folder in folders:
        folder.mkdir(parents=True)
    return engine, folders


def _tracker(engine: Engine, state: Path) -> ContainerdJobTracker:
    return ContainerdJobTracker("oom", backend="docker", address="unix:///run/docker.sock", runner=engine,
                                state_dir=state, job_owner="someone")


def test_a_failed_delete_call_leaves_no_folder_of_the_jobs_the_others_removed(tmp_path):
    engine, folders = _engine_and_folders(tmp_path)
    engine.rm_fails = {NAMES[120]}  # in the second call of a hundred each; the others go
    tracker = _tracker(engine, tmp_path)
    with pytest.raises(InternalError, match="driver failed to remove root filesystem"):
        tracker.delete_jobs(NAMES)
    assert [folder.name for folder in folders if folder.exists()] == [NAMES[120]]
    assert [c["Name"][1:] for c in engine.containers] == [NAMES[120]]
    engine.rm_fails = set()
    tracker.delete_jobs([NAMES[120]])
    assert engine.containers == [] and not any(folder.exists() for folder in folders)


def test_the_monitoring_session_deletes_nothing(tmp_path):
    engine, folders = _engine_and_folders(tmp_path)
    monitor = MonitoringTracker(backend="docker", address="unix:///run/docker.sock", runner=engine, state_dir=tmp_path)
    with pytest.raises(UnsupportedOperationError):
        monitor.delete_jobs(NAMES[:3])
    assert engine.asked == [] and all(folder.exists() for folder in folders)
