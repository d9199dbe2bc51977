from __future__ import annotations

from pathlib import Path

from containerd_tracker_cli import ContainerdJobTracker, JobState, JobTemplate

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
