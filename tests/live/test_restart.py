"""Faults production hosts bring: containerd stopped and restarted under
running, paused, finished and held jobs; calls while it is down; an image
removed after its job ended. Each test runs its own daemon (of the version
on PATH), so stopping it disturbs no other test."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest

from containerd_tracker_cli import ContainerdJobTracker, DrmCommunicationError, JobState
from containerd_tracker_cli.testing import PrivateContainerd
from containerd_tracker_cli.records.labels import ExitRecord

from ..support import BUSYBOX, until
from .helpers import output_of, submit, template


@pytest.fixture
def own_containerd(containerd: PrivateContainerd) -> Iterator[PrivateContainerd]:
    """A second daemon of the same version as the session's, for this test alone."""
    daemon = PrivateContainerd(containerd=containerd.containerd, ctr=containerd.ctr)
    try:
        daemon.start()
        daemon.import_busybox(BUSYBOX)
    except BaseException:
        daemon.stop()
        raise
    yield daemon
    if daemon._proc is None or daemon._proc.poll() is not None:
        daemon.start()  # a test that failed while it was down: start it so stop() can clean up
    daemon.stop()


def _ctr(daemon: PrivateContainerd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(daemon.ctr_argv(*args), capture_output=True, text=True, timeout=30)


def _shim_says_stopped(daemon: PrivateContainerd, job_id: str) -> bool:
    """The task's shim answers with containerd down, too."""
    return '"status": 3' in _ctr(daemon, "shim", "--id", job_id, "state").stdout


def _pid_file(state_dir: Path, job_id: str) -> Path:
    return next(state_dir.glob(f"jobs/default/{job_id}/pid"))


def _saved(state_dir: Path, job_id: str) -> bool:
    """The job's logger saved its shim's record of the exit (what survives a 1.7+ restart)."""
    return any(state_dir.glob(f"jobs/default/{job_id}/shim-state.json"))


def _labels(daemon: PrivateContainerd, job_id: str) -> dict[str, str]:
    return json.loads(_ctr(daemon, "containers", "info", job_id).stdout)["Labels"]


def test_jobs_of_every_state_survive_a_containerd_restart(own_containerd, tmp_path):
    daemon = own_containerd
    tracker = ContainerdJobTracker("restart", address=daemon.address, backend="ctr", state_dir=tmp_path,
                                   cli_timeout=10, terminate_grace=2)
    running = submit(tracker, "sleep", "300")
    paused = submit(tracker, "sleep", "300")
    tracker.job_control(paused, "suspend")
    ended_unseen = submit(tracker, "sh", "-c", "echo before; exit 4")
    # Ends when told (SIGUSR1), so it ends while containerd is down, whatever the timing.
    ends_while_down = submit(tracker, "sh", "-c", "trap 'echo during; exit 5' USR1; while :; do sleep 0.1; done")
    held = submit(tracker, "sh", "-c", "echo released", submit_as_hold=True)
    until(lambda: _saved(tmp_path, ended_unseen), "the first job's exit was not saved by its logger")

    stopped_at = datetime.now(timezone.utc)
    daemon.stop_daemon()
    os.kill(int(_pid_file(tmp_path, ends_while_down).read_text()), signal.SIGUSR1)
    # The watcher saves within a fraction of a second; a restart inside that window would lose it.
    until(lambda: _saved(tmp_path, ends_while_down), "the exit of a job that ended while containerd was down")
    daemon.start()
    started_at = datetime.now(timezone.utc)

    # The same tracker object, with no restart of its own.
    assert tracker.job_state(running) == (JobState.RUNNING, "running")
    assert tracker.job_state(paused) == (JobState.SUSPENDED, "paused")
    assert tracker.job_state(held) == (JobState.QUEUED_HELD, "held")
    first, second = tracker.job_info(ended_unseen), tracker.job_info(ends_while_down)
    assert output_of(tracker, ended_unseen) == "before\n"
    assert output_of(tracker, ends_while_down) == "during\n"
    # containerd 1.7 and later delete every stopped task when they start (no
    # event): the job's logger saved the shim's record when the job ended.
    assert (first.state, first.exit_status) == (JobState.FAILED, 4)
    assert first.finish_time is not None and first.finish_time < stopped_at
    assert (second.state, second.exit_status) == (JobState.FAILED, 5)
    assert second.finish_time is not None and stopped_at < second.finish_time < started_at
    labelled = ExitRecord.from_labels(_labels(daemon, ends_while_down))  # durable in containerd again
    assert labelled is not None and (labelled.exit_status, labelled.finish_time) == (5, second.finish_time)

    tracker.job_control(paused, "resume")
    assert tracker.job_state(paused) == (JobState.RUNNING, "running")
    tracker.job_control(held, "release")
    tracker.wait(held, 30)
    assert (tracker.job_state(held)[0], output_of(tracker, held)) == (JobState.DONE, "released\n")
    fresh = submit(tracker, "sh", "-c", "echo fresh")
    tracker.wait(fresh, 30)
    assert tracker.job_info(fresh).exit_status == 0 and output_of(tracker, fresh) == "fresh\n"
    for job_id in (running, paused):
        tracker.job_control(job_id, "terminate")
        assert tracker.job_info(job_id).exit_status == 137


def test_while_containerd_is_down_every_call_is_a_communication_error_then_works_again(own_containerd,
                                                                                       tmp_path):
    daemon = own_containerd
    tracker = ContainerdJobTracker("down", address=daemon.address, backend="ctr", state_dir=tmp_path,
                                   cli_timeout=6)
    job_id = submit(tracker, "sleep", "300")
    job_dirs = sorted((tmp_path / "jobs").glob("*/*"))
    daemon.stop_daemon()
    calls = {
        "list_jobs": lambda: tracker.list_jobs(),
        "job_state": lambda: tracker.job_state(job_id),
        "job_info": lambda: tracker.job_info(job_id),
        "job_template": lambda: tracker.job_template(job_id),
        "suspend": lambda: tracker.job_control(job_id, "suspend"),
        "wait": lambda: tracker.wait(job_id, 1),
        "delete_job": lambda: tracker.delete_job(job_id),
        "add_job": lambda: tracker.add_job(template("true")),
        "list_job_categories": lambda: tracker.list_job_categories(),
    }
    for name, call in calls.items():
        with pytest.raises(DrmCommunicationError) as caught:
            call()
        assert daemon.address in str(caught.value), name
    assert sorted((tmp_path / "jobs").glob("*/*")) == job_dirs  # the failed add_job left nothing
    daemon.start()
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")
    assert tracker.list_jobs() == [job_id]


def test_a_finished_jobs_image_removed_leaves_state_info_and_template(own_containerd, tmp_path):
    daemon = own_containerd
    tracker = ContainerdJobTracker("no-image", address=daemon.address, backend="ctr", state_dir=tmp_path)
    job_id = submit(tracker, "sh", "-c", "exit 6", job_name="imageless")
    until(lambda: _shim_says_stopped(daemon, job_id), "the job did not end")
    removed = _ctr(daemon, "images", "remove", BUSYBOX)
    assert removed.returncode == 0, removed.stderr
    assert BUSYBOX not in _ctr(daemon, "images", "list", "--quiet").stdout.split()
    assert tracker.job_state(job_id) == (JobState.FAILED, "stopped")
    info = tracker.job_info(job_id)
    assert (info.exit_status, info.extension.extension_list["image"]) == (6, BUSYBOX)
    assert tracker.job_template(job_id).job_name == "imageless"
    tracker.delete_job(job_id)
    assert tracker.list_jobs() == []


def test_the_containerd_binaries_under_test_are_the_ones_on_path(containerd):
    """The version matrix is only real if the daemon and every ctr the tracker runs are the same build."""
    assert containerd.ctr == shutil.which("ctr")
    assert Path(containerd.containerd).parent == Path(containerd.ctr).parent
    client = subprocess.run([containerd.ctr, "--version"], capture_output=True, text=True).stdout.split()[-1]
    assert containerd.version().lstrip("v") == client.lstrip("v")
