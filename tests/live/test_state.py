"""job_state / job_info, and exit statuses that survive any tracker process."""
from __future__ import annotations

import getpass
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from containerd_tracker_cli import JobNotFoundError, JobState

from ..support import until
from .helpers import run_to_end, submit


def test_state_mapping_through_a_jobs_life(tracker):
    job_id = submit(tracker, "sleep", "30")
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")
    tracker.job_control(job_id, "suspend")
    assert tracker.job_state(job_id) == (JobState.SUSPENDED, "paused")
    tracker.job_control(job_id, "resume")
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")


def test_exit_zero_is_done_and_non_zero_is_failed(tracker):
    done = run_to_end(tracker, "true")
    failed = run_to_end(tracker, "sh", "-c", "exit 7")
    assert tracker.job_state(done) == (JobState.DONE, "stopped")
    assert tracker.job_state(failed) == (JobState.FAILED, "stopped")
    assert tracker.job_info(done).exit_status == 0
    assert tracker.job_info(failed).exit_status == 7


def test_unknown_job_is_job_not_found(tracker):
    with pytest.raises(JobNotFoundError):
        tracker.job_state("no-such-job")
    with pytest.raises(JobNotFoundError):
        tracker.job_info("no-such-job")


def test_job_info_fields(tracker, backend_name):
    before = datetime.now(timezone.utc)
    job_id = run_to_end(tracker, "sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exit 3",
                        job_name="busy", working_directory="/tmp")
    after = datetime.now(timezone.utc)
    info = tracker.job_info(job_id)
    assert info.id == job_id
    assert info.state == JobState.FAILED and info.sub_state == "stopped"
    assert info.exit_status == 3
    assert info.terminating_signal is None
    assert info.job_owner == getpass.getuser()
    assert info.allocated_machines == [socket.gethostname()]
    assert info.submission_machine == socket.gethostname()
    assert info.slots == 1
    assert info.annotation == "busy"
    assert before - timedelta(seconds=1) <= info.submission_time <= info.dispatch_time <= info.finish_time <= after
    assert info.wallclock_time == info.finish_time - info.dispatch_time
    if backend_name == "ctr":  # containerd's cgroup metrics; docker's CLI has no CPU total
        assert info.cpu_time is not None and info.cpu_time >= 0
    ext = info.extension.extension_list
    assert ext["image"] == "docker.io/library/busybox:latest"
    assert ext["command_line"].startswith("sh -c 'i=0;")
    assert ext["working_directory"] == "/tmp"


def test_running_job_info_has_no_exit_and_a_growing_wallclock(tracker):
    job_id = submit(tracker, "sleep", "30")
    info = tracker.job_info(job_id)
    assert info.state == JobState.RUNNING
    assert info.exit_status is None and info.finish_time is None
    assert info.wallclock_time is not None and info.wallclock_time >= timedelta(0)
    assert info.extension.extension_list["pid"].isdigit()


def test_a_signal_that_ended_the_job_is_its_terminating_signal(tracker, raw):
    job_id = submit(tracker, "sleep", "30")
    raw.kill(job_id, "SIGKILL")  # from outside the tracker
    tracker.wait(job_id, 30)
    info = tracker.job_info(job_id)
    assert info.exit_status == 137
    assert info.terminating_signal == "SIGKILL"


def _submit_in_another_process(tracker, session, script_body):
    code = textwrap.dedent(f"""
        from containerd_tracker_cli import ContainerdJobTracker, JobTemplate
        t = ContainerdJobTracker({session!r}, address={tracker.address!r}, backend={tracker.backend.name!r},
                                 state_dir={str(tracker.state.root)!r})
        print(t.add_job(JobTemplate(job_category="busybox", remote_command="sh", args=["-c", {script_body!r}])))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_exit_status_of_a_job_that_ended_with_no_tracker_alive(raw, make_tracker):
    session = "durable-exit"
    job_id = _submit_in_another_process(make_tracker(session), session, "sleep 1; exit 42")
    # The submitting process is gone; wait for the CLI itself to see the end.
    until(lambda: raw.stopped(job_id), "the job submitted by another process did not stop")
    time.sleep(1)  # the job ended a while before anyone looks
    fresh = make_tracker(session)
    info = fresh.job_info(job_id)
    assert info.state == JobState.FAILED
    assert info.exit_status == 42
    # The finish time is containerd's exit time, not the time we looked.
    assert info.finish_time is not None
    assert info.finish_time < datetime.now(timezone.utc) - timedelta(seconds=0.9)
    assert info.finish_time - info.dispatch_time >= timedelta(seconds=0.9)
    # And it stays: another tracker object, later, reads the same.
    again = make_tracker(session).job_info(job_id)
    assert (again.exit_status, again.finish_time) == (42, info.finish_time)


def test_concurrent_inspection_never_loses_the_exit_status(raw, make_tracker):
    session = "concurrent-exit"
    job_id = _submit_in_another_process(make_tracker(session), session, "exit 5")
    until(lambda: raw.stopped(job_id), "the job submitted by another process did not stop")
    results: list[tuple] = []
    errors: list[BaseException] = []

    def inspect() -> None:
        try:
            info = make_tracker(session).job_info(job_id)
            results.append((info.state, info.exit_status, info.finish_time))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=inspect) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(results) == 4
    assert {r[:2] for r in results} == {(JobState.FAILED, 5)}
    assert len({r[2] for r in results}) == 1 and results[0][2] is not None


@pytest.mark.backends("ctr")  # docker keeps exit statuses itself
def test_exit_status_is_kept_in_containerd_labels(tracker, ctr):
    job_id = run_to_end(tracker, "sh", "-c", "exit 9")
    tracker.job_state(job_id)
    labels = json.loads(ctr("containers", "info", job_id).stdout)["Labels"]
    assert labels["containerd-tracker/exit-status"] == "9"
    assert "containerd-tracker/finish-time" in labels


def _killed_and_deleted_behind_the_trackers_back(tracker, raw) -> str:
    job_id = submit(tracker, "sleep", "30")
    raw.kill(job_id, "SIGKILL")
    until(lambda: raw.stopped(job_id), "the killed job did not stop")
    saved = tracker.state.job_dir(job_id)  # with ctr the job ID is the folder's name
    # the logger's watcher keeps the shim's record
    until(lambda: (saved / "shim-state.json").exists(), "the job's logger saved no exit")
    raw("tasks", "delete", job_id)  # containerd forgets the status (as 1.7+ do on a restart)
    return job_id


@pytest.mark.backends("ctr")
def test_a_task_deleted_behind_the_trackers_back_is_read_from_what_its_logger_saved(tracker, raw):
    job_id = _killed_and_deleted_behind_the_trackers_back(tracker, raw)
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status, info.terminating_signal) == (JobState.FAILED, 137, "SIGKILL")
    assert info.finish_time is not None
    tracker.delete_job(job_id)
    assert job_id not in raw.containers()


@pytest.mark.backends("ctr")
def test_a_task_deleted_with_nothing_saved_is_undetermined_not_a_dead_end(tracker, raw):
    from containerd_tracker_cli import InvalidStateError

    job_id = _killed_and_deleted_behind_the_trackers_back(tracker, raw)
    (tracker.state.job_dir(job_id) / "shim-state.json").unlink()
    assert tracker.job_state(job_id)[0] == JobState.UNDETERMINED
    with pytest.raises(InvalidStateError, match="will change no more"):
        tracker.wait(job_id, None)
    tracker.delete_job(job_id)
    assert job_id not in raw.containers()