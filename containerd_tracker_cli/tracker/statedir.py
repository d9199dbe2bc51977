"""The tracker's state directory: per-job output files, pid files (whose
mtime is the dispatch time), the stream-splitting logger, cached image
configs. Exit data is *not* kept here but in containerd labels."""
from __future__ import annotations

import json
import os
import shutil
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlencode, urlsplit

if TYPE_CHECKING:
    from .labels import ExitRecord

ENV_STATE_DIR = "CONTAINERD_TRACKER_STATE_DIR"

# containerd starts this per task for a binary:// log URI: the task's stdout
# on fd 3, stderr on fd 4; closing fd 5 tells containerd the logger is ready.
# Arguments arrive as key/value pairs in no fixed order. It is used even when
# both streams go to one file: containerd's own file:// writer was seen to
# drop a stream's last write when the file already existed (5 % of short
# jobs, containerd 1.6.20). It creates the "done" marker before it reports
# ready; the pipes close when the task is deleted, and the logger removes the
# marker once all is written. No logger, no marker: nothing to wait for.
#
# With "address", it also keeps how the job ended: a watcher waits for the
# job's process (GNU tail --pid, ten wake-ups a second and no fork; else a
# kill -0 loop) and then saves what the task's shim holds once it says
# "stopped" (status, exit time; asked with the ctr that lies beside the shim
# binary, so of the shim's own protocol version) as shim-state.json in the
# job's folder. containerd 1.7 and later delete every stopped task when they
# restart, silently: without this, a job that ended unobserved before such a
# restart would have no exit status left anywhere. The watcher is not waited
# for: the logger (which containerd waits for on delete) ends with its pipes.
LOGGER_SCRIPT = """#!/bin/sh
# containerd-tracker: append a task's stdout and stderr to their files, and
# keep the shim's record of how the task ended.
# containerd sends SIGTERM as soon as the task is deleted, then waits for us:
# ignore it, drain the pipes to the end, and only then exit.
trap '' TERM
umask 077  # a job's output is its owner's alone
out=/dev/null err=/dev/null done= address=
while [ "$#" -ge 2 ]; do
  case "$1" in stdout) out=$2 ;; stderr) err=$2 ;; done) done=$2 ;; address) address=$2 ;; esac
  shift 2
done
[ -n "$done" ] && : > "$done"
cat <&3 >>"$out" 4<&- 5>&- &
copy_out=$!
cat <&4 >>"$err" 3<&- 5>&- &
copy_err=$!
if [ -n "$done" ] && [ -n "$address" ]; then
  (
    dir=${done%/*} n=0
    while [ ! -s "$dir/pid" ] && [ "$n" -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
    pid=$(cat "$dir/pid" 2>/dev/null)
    [ -n "$pid" ] || exit 0
    tail -s 0.1 --pid="$pid" -f /dev/null 2>/dev/null ||
      while kill -0 "$pid" 2>/dev/null; do sleep 1; done
    shim=$(readlink "/proc/$PPID/exe") ctr=ctr
    [ -x "${shim%/*}/ctr" ] && ctr=${shim%/*}/ctr
    n=0
    while [ "$n" -lt 50 ]; do  # the shim reaps the process a moment before it says stopped
      "$ctr" -a "$address" -n "$CONTAINER_NAMESPACE" shim --id "$CONTAINER_ID" state >"$dir/shim-state.tmp" || break
      if grep -q '"status": 3' "$dir/shim-state.tmp"; then
        mv "$dir/shim-state.tmp" "$dir/shim-state.json"
        break
      fi
      sleep 0.1
      n=$((n + 1))
    done
    rm -f "$dir/shim-state.tmp"
  ) </dev/null >/dev/null 2>&1 3<&- 4<&- 5>&- &
fi
exec 3<&- 4<&- 5>&-
wait "$copy_out" "$copy_err"
[ -n "$done" ] && rm -f "$done"
"""


def default_state_dir() -> Path:
    """``$CONTAINERD_TRACKER_STATE_DIR``, else /var/lib/containerd-tracker for
    root, else ``$XDG_STATE_HOME/containerd-tracker``."""
    if os.environ.get(ENV_STATE_DIR):
        return Path(os.environ[ENV_STATE_DIR])
    if os.geteuid() == 0:
        return Path("/var/lib/containerd-tracker")
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "containerd-tracker"


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

    def write_exit(self, job_id: str, record: "ExitRecord") -> None:
        """For backends whose labels are fixed: how a job that never ran ended."""
        path = self.make_job_dir(job_id) / "exit.json"
        path.write_text(json.dumps(record.to_labels()))

    def read_exit(self, job_id: str) -> "ExitRecord | None":
        from .labels import ExitRecord

        try:
            return ExitRecord.from_labels(json.loads((self.job_dir(job_id) / "exit.json").read_text()))
        except (OSError, ValueError):
            return None

    def saved_shim_state(self, job_id: str) -> str | None:
        """What the job's logger saved of its shim's state when the job's
        process ended (containerd may have forgotten the task since)."""
        try:
            return (self.job_dir(job_id) / "shim-state.json").read_text()
        except OSError:
            return None

    def remove_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def logger(self) -> Path:
        """The logger script, (re)written when missing or changed."""
        path = self.root / "bin" / "containerd-tracker-logger"
        if not path.exists() or path.read_text() != LOGGER_SCRIPT:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(LOGGER_SCRIPT)
            tmp.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
            tmp.replace(path)
        return path

    def logging_marker(self, key: str) -> Path:
        """Exists while a task's logger may still be writing (see LOGGER_SCRIPT)."""
        return self.job_dir(key) / "logging"

    def log_uri(self, stdout: Path, stderr: Path, done: Path, address: str | None = None) -> str:
        """The logger's URI; with containerd's ``address`` it also keeps the
        shim's record of how the task ended (see LOGGER_SCRIPT)."""
        fields = {"stdout": str(stdout), "stderr": str(stderr), "done": str(done)}
        if address:
            fields["address"] = address
        query = urlencode(fields)
        return "binary://" + quote(str(self.logger())) + "?" + query

    @staticmethod
    def marker_of(log_uri: str) -> Path | None:
        """The "done" marker a log URI names, if any."""
        values = parse_qs(urlsplit(log_uri).query).get("done")
        return Path(values[0]) if values else None

    @staticmethod
    def await_marker_gone(marker: Path, timeout: float = 5.0) -> bool:
        """Wait until the logger removed ``marker`` (its streams are written)."""
        deadline = time.monotonic() + timeout
        while marker.exists():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def cached_image_config(self, digest: str) -> dict | None:
        path = self.root / "images" / (digest.replace(":", "_") + ".json")
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def cache_image_config(self, digest: str, config: dict) -> None:
        path = self.root / "images" / (digest.replace(":", "_") + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(config))
        tmp.replace(path)
