"""A docker-backend job, seen from containerd itself (namespace moby).

Docker 20.10 keeps its labels out of containerd and removes the containerd
container once the task exits, so only live states can be compared."""
from __future__ import annotations

import pytest

from containerd_tracker_cli import JobState

from .helpers import submit


def _moby_status(containerd, docker_id: str) -> str | None:
    import subprocess

    out = subprocess.run(containerd.ctr_argv("tasks", "list", namespace="moby"), capture_output=True, text=True,
                         timeout=60, check=True).stdout
    for row in (line.split() for line in out.splitlines()[1:]):
        if row and row[0] == docker_id:
            return row[2]
    return None


@pytest.mark.backends("docker")
def test_running_and_paused_states_match_containerds(tracker, raw, containerd):
    job_id = submit(tracker, "sleep", "60")
    docker_id = job_id  # the job ID is the container ID containerd knows too
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")
    assert _moby_status(containerd, docker_id) == "RUNNING"
    tracker.job_control(job_id, "suspend")
    assert tracker.job_state(job_id) == (JobState.SUSPENDED, "paused")
    assert _moby_status(containerd, docker_id) == "PAUSED"
    tracker.job_control(job_id, "resume")
    assert tracker.job_state(job_id)[0] == JobState.RUNNING
    assert _moby_status(containerd, docker_id) == "RUNNING"
    tracker.job_control(job_id, "terminate")
    assert tracker.job_state(job_id)[0] == JobState.FAILED
    assert _moby_status(containerd, docker_id) is None  # containerd forgot it; docker did not
    assert tracker.job_info(job_id).exit_status == 137
