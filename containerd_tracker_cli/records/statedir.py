"""The tracker's state directory: one private folder per job (default
output files, the pid file whose mtime is the dispatch time, whatever the
backend keeps there) and cached image configs. Exit data is *not* kept here
but in containerd labels (the one exception: how a never-started job was
terminated, where labels cannot change)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from .labels import ExitRecord

ENV_STATE_DIR = "CONTAINERD_TRACKER_STATE_DIR"


def default_state_dir() -> Path:
    """``$CONTAINERD_TRACKER_STATE_DIR``, else /var/lib/containerd-tracker for
    root, else ``$XDG_STATE_HOME/containerd-tracker``."""
    if os.environ.get(ENV_STATE_DIR):
        return Path(os.environ[ENV_STATE_DIR])
    if os.geteuid() == 0:
        return Path("/var/lib/containerd-tracker")
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "containerd-tracker"


def write_atomically(path: Path, text: str, mode: int = 0o644, *, make_parent: bool = True) -> None:
    """Replace ``path`` with ``text`` in one step: a reader never sees half
    a file, and concurrent writers (threads submitting an array, other
    processes) each write their own temporary file. ``make_parent=False``:
    a folder that is gone (its job deleted meanwhile) is an OSError, not
    made again."""
    if make_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def install_executable(path: Path, text: str) -> None:
    """A program containerd runs for the tracker, (re)written only when
    missing or changed."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    write_atomically(path, text, 0o755)


class StateDir:
    def __init__(self, root: Path, namespace: str) -> None:
        self.root = Path(root).absolute()
        self.namespace = namespace

    def job_dir(self, job_id: str) -> Path:
        return self.root / "jobs" / self.namespace / job_id

    def make_job_dir(self, job_id: str) -> Path:
        """The job's folder, private to the user: it holds the job's output."""
        path = self.job_dir(job_id)
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in (self.root / "jobs", path.parent):  # others may pass, not list
            folder.mkdir(mode=0o711, exist_ok=True)
            if folder.stat().st_mode & 0o066 and folder.stat().st_uid == os.geteuid():
                folder.chmod(0o711)  # made by an older version, listable by all
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def pid_file(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "pid"

    def default_output(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "output"

    def default_error(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "error"

    def output_paths(self, job_id: str, labels: Mapping[str, str]) -> tuple[str, str]:
        """Where a job's stdout and stderr are: its labels say, else (a job
        another tracker made) the default file for both."""
        from . import labels as L

        stdout = labels.get(L.STDOUT) or str(self.default_output(job_id))
        return stdout, labels.get(L.STDERR) or stdout

    def write_exit(self, job_id: str, record: "ExitRecord") -> None:
        """For backends whose labels are fixed: how a job that never ran ended."""
        write_atomically(self.make_job_dir(job_id) / "exit.json", json.dumps(record.to_labels()))

    def read_exit(self, job_id: str) -> "ExitRecord | None":
        from .labels import ExitRecord

        try:
            return ExitRecord.from_labels(json.loads((self.job_dir(job_id) / "exit.json").read_text()))
        except (OSError, ValueError):
            return None

    def mark_released(self, job_id: str) -> None:
        """For backends whose labels are fixed: a held job was released (its
        throttled array starts it when a slot frees)."""
        (self.make_job_dir(job_id) / "released").touch()

    def released(self, job_id: str) -> bool:
        return (self.job_dir(job_id) / "released").exists()

    def mark_limit(self, job_id: str, limit: str) -> None:
        """The deadline keeper ends the job for exceeding ``limit``."""
        (self.make_job_dir(job_id) / "limit-exceeded").write_text(limit)

    def limit_hit(self, job_id: str) -> str | None:
        try:
            return (self.job_dir(job_id) / "limit-exceeded").read_text().strip() or None
        except OSError:
            return None

    def array_dir(self, key: str) -> Path:
        """A throttled array's folder: its record, locks and driver's pid and log."""
        return self.root / "arrays" / self.namespace / key

    def arrays(self) -> list[str]:
        """Keys of the throttled arrays recorded here."""
        try:
            return sorted(p.name for p in (self.root / "arrays" / self.namespace).iterdir() if p.is_dir())
        except OSError:
            return []

    def records_dir(self) -> Path:
        """Container records a backend keeps (ctr: see backends/ctr/records.py)."""
        return self.root / "records" / self.namespace

    def remove_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def cached_image_config(self, digest: str) -> dict | None:
        path = self.root / "images" / (digest.replace(":", "_") + ".json")
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def cache_image_config(self, digest: str, config: dict) -> None:
        write_atomically(self.root / "images" / (digest.replace(":", "_") + ".json"), json.dumps(config))
