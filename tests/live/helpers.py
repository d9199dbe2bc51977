from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Sequence

from containerd_tracker_cli import ContainerdJobTracker, JobState, JobTemplate
from containerd_tracker_cli.runner import Completed, LiveRunner, Runner, Stream

from ..support import BUSYBOX


def template(*command: str, **fields: object) -> JobTemplate:
    """A busybox job running ``command`` (argv, not a shell string)."""
    fields.setdefault("job_category", BUSYBOX)
    if command:
        fields["remote_command"] = command[0]
        fields["args"] = list(command[1:])
    return JobTemplate(**fields)  # type: ignore[arg-type]


def submit(tracker: ContainerdJobTracker, *command: str, **fields: object) -> str:
    return tracker.add_job(template(*command, **fields))


def run_to_end(tracker: ContainerdJobTracker, *command: str, timeout: float = 30, **fields: object) -> str:
    job_id = submit(tracker, *command, **fields)
    tracker.wait(job_id, timeout, JobState.DONE, JobState.FAILED)
    return job_id


def output_of(tracker: ContainerdJobTracker, job_id: str, stream: str = "stdout") -> str:
    return Path(tracker.job_info(job_id).extension.extension_list[stream]).read_text()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    """Wait for ``predicate()`` to hold; past ``timeout`` seconds the test
    fails saying ``what`` it waited for (never falls through silently)."""
    from ..support import until

    until(predicate, what, timeout=timeout, interval=interval)



class _WatchedStream(Stream):
    def __init__(self, owner: "ListeningRunner", inner: Stream) -> None:
        self.owner, self.inner, self.argv = owner, inner, inner.argv

    def readline(self, timeout: float) -> str | None:
        if timeout >= ListeningRunner.LISTENING:
            self.owner.listening.set()
        line = self.inner.readline(timeout)
        if line is not None:
            self.owner.lines.append(line)
        return line

    def close(self) -> None:
        self.inner.close()


class ListeningRunner(Runner):
    """A real runner (``LiveRunner``) that tells when a tracker's wait is
    listening on its event stream, and keeps every line that stream gave.

    "Listening" is a read of the ``events`` stream with a timeout of at least
    ``LISTENING`` seconds: a wait blocks there for events until its next full
    re-read. Before, the subscription probe (ctr) reads for at most 1 s at a
    time, and once subscribed the wait reads the state once more; so a change
    made after ``listening`` is set reaches the wait only as an event (or at
    its next full re-read, every ``waiting.SAFETY_POLL`` seconds)."""

    LISTENING = 2.0

    def __init__(self) -> None:
        self.inner = LiveRunner()
        self.listening = threading.Event()
        self.lines: list[str] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        return self.inner.run(argv, timeout=timeout, stdin=stdin)

    def stream(self, argv: Sequence[str]) -> Stream:
        stream = self.inner.stream(argv)
        return _WatchedStream(self, stream) if "events" in argv else stream

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        return self.inner.spawn(argv, log=log, keep_fd=keep_fd)

    def find(self, executable: str) -> str | None:
        return self.inner.find(executable)

def gated(gate_dir: str, *then: str) -> tuple[str, ...]:
    """A busybox command that waits until the file ``open`` appears in the
    folder the job sees at ``gate_dir`` (a bind mount the test controls), then
    runs the shell commands ``then``."""
    script = f"while [ ! -e {gate_dir}/open ]; do sleep 0.05; done; " + "; ".join(then or ("true",))
    return ("sh", "-c", script)


def path_without(executable: str, path: str, scratch: Path) -> str:
    """``path`` (a PATH value) with ``executable`` found nowhere on it: each
    folder that holds it is replaced by a folder in ``scratch`` linking to
    everything else it holds. How a test pins ``backend="auto"`` (nerdctl when
    it is on PATH, else ctr) to ctr without changing what it runs."""
    folders = []
    for index, folder in enumerate(path.split(os.pathsep)):
        if folder and os.path.isfile(os.path.join(folder, executable)):
            mirror = scratch / f"path-{index}"
            mirror.mkdir(parents=True, exist_ok=True)
            for entry in os.listdir(folder):
                if entry != executable and not (mirror / entry).exists():
                    (mirror / entry).symlink_to(os.path.join(folder, entry))
            folder = str(mirror)
        folders.append(folder)
    pinned = os.pathsep.join(folders)
    assert shutil.which(executable, path=pinned) is None, f"{executable} is still on {pinned}"
    return pinned
