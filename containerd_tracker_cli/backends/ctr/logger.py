"""ctr's way of getting a job's output into files: containerd runs a logger
per task (a ``binary://`` log URI), which this module writes and names.
The same logger keeps the shim's record of how the task ended (used by
:mod:`.exits`)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Mapping
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from ...records import labels as L
from ...records.statedir import StateDir, install_executable
from ..base import OutputDelivery

log = logging.getLogger(__name__)

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


#: Written by the logger in the job's folder while it may still write output.
MARKER = "logging"
#: Where the logger's exit watcher saves the shim's state (see LOGGER_SCRIPT).
SHIM_STATE = "shim-state.json"


class LoggerOutput(OutputDelivery):
    """Output through the logger script; ``address`` (containerd's) lets its
    exit watcher ask the task's shim how the task ended."""

    def __init__(self, state: StateDir, address: str | None) -> None:
        self.state = state
        self.address = address

    def script(self) -> Path:
        """The logger script, (re)written when missing or changed."""
        path = self.state.root / "bin" / "containerd-tracker-logger"
        install_executable(path, LOGGER_SCRIPT)
        return path

    def log_uri(self, key: str, stdout: Path, stderr: Path) -> str:
        fields = {"stdout": str(stdout), "stderr": str(stderr), "done": str(self.state.job_dir(key) / MARKER)}
        if self.address:
            fields["address"] = self.address
        return "binary://" + quote(str(self.script())) + "?" + urlencode(fields)

    def settle(self, job_id: str, key: str, labels: Mapping[str, str], task_gone: bool) -> None:
        """Wait until the logger has written everything (it removes its
        marker then); only once the task is gone do its pipes close."""
        marker = marker_of(labels.get(L.LOG_URI, ""))
        if marker is not None and task_gone and not await_gone(marker):
            log.warning("output of job %s may still be incomplete", job_id)

    def saved_shim_state(self, key: str) -> str | None:
        """What the job's logger saved of its shim's state when the job's
        process ended (containerd may have forgotten the task since)."""
        try:
            return (self.state.job_dir(key) / SHIM_STATE).read_text()
        except OSError:
            return None


def marker_of(log_uri: str) -> Path | None:
    """The "done" marker a log URI names, if any."""
    values = parse_qs(urlsplit(log_uri).query).get("done")
    return Path(values[0]) if values else None


def await_gone(marker: Path, timeout: float = 5.0) -> bool:
    """Wait until the logger removed ``marker`` (its streams are written)."""
    deadline = time.monotonic() + timeout
    while marker.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
