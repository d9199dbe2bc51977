"""The DRMAA2 session layer, used as a Python DRMAA2 user would: sessions by
name (persistent, visible to other processes, safe under concurrent
creation), jobs and arrays, filters, waits on many jobs, and the read-only
monitoring session."""
from __future__ import annotations

import queue
import socket
import subprocess
import sys

import pytest

from containerd_tracker_cli import (
    DrmaaEvent,
    DrmaaTimeoutError,
    InvalidArgumentError,
    JobInfo,
    JobSession,
    JobState,
    Notification,
    SessionManager,
    UnsupportedOperationError,
)
from containerd_tracker_cli.drmaa2.capabilities import Capability

from ..support import BUSYBOX, CountingRunner


@pytest.fixture
def connection(make_tracker) -> dict:
    tracker = make_tracker()
    return {"address": tracker.address, "namespace": tracker.namespace, "backend": tracker.backend.name,
            "state_dir": str(tracker.state.root), "terminate_grace": 2.0, "prefix": tracker.session_name}


@pytest.fixture
def manager(connection) -> SessionManager:
    options = {k: v for k, v in connection.items() if k != "prefix"}
    return SessionManager(**options)


def job(*command: str, **fields: object) -> dict:
    """A template as a dict, as uge-drmaa2 users write them."""
    return {"job_category": BUSYBOX, "remote_command": command[0], "args": list(command[1:]), **fields}


def in_another_process(connection: dict, body: str) -> subprocess.CompletedProcess[str]:
    options = {k: v for k, v in connection.items() if k not in ("prefix", "terminate_grace")}
    code = f"from containerd_tracker_cli import SessionManager\nmanager = SessionManager(**{options!r})\n{body}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_session_names_persist_and_are_seen_by_another_process(manager, connection):
    name = connection["prefix"] + "-a"
    session = manager.create_job_session(name, contact="ops@example.com")
    assert (session.session_name, session.contact) == (name, "ops@example.com")
    with pytest.raises(InvalidArgumentError, match="exists"):
        manager.create_job_session(name)
    seen = in_another_process(connection, f"print(manager.open_job_session({name!r}).contact)\n"
                                          "print(manager.get_job_session_names())")
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.splitlines()[0] == "ops@example.com" and name in seen.stdout
    manager.destroy_job_session(name)
    assert name not in manager.get_job_session_names()
    with pytest.raises(InvalidArgumentError, match="no job session"):
        manager.open_job_session(name)


def test_concurrent_creation_of_one_name_succeeds_exactly_once(connection):
    name = connection["prefix"] + "-race"
    body = f"""
try:
    manager.create_job_session({name!r})
    print("created")
except Exception as exc:
    print(type(exc).__name__)
"""
    options = {k: v for k, v in connection.items() if k not in ("prefix", "terminate_grace")}
    code = f"from containerd_tracker_cli import SessionManager\nmanager = SessionManager(**{options!r})\n{body}"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    results = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert results == ["InvalidArgumentError"] * 5 + ["created"]


def test_destroying_a_session_keeps_its_jobs(manager, connection):
    name = connection["prefix"] + "-keep"
    first = manager.create_job_session(name).run_job(job("sh", "-c", "exit 4"))
    manager.destroy_job_session(name)
    again = manager.create_job_session(name)
    assert [j.id for j in again.get_jobs()] == [first.id]
    first.wait_terminated(30)
    assert first.get_info().exit_status == 4


def test_the_shortcut_opens_or_creates(connection, manager):
    options = {k: v for k, v in connection.items() if k != "prefix"}
    name = connection["prefix"] + "-short"
    with JobSession(name, **options) as created:
        assert name in manager.get_job_session_names()
        j = created.run_job(job("true"))
    with JobSession(name, **options) as opened:
        assert [x.id for x in opened.get_jobs()] == [j.id]
    with pytest.raises(InvalidArgumentError, match="closed"):
        created.run_job(job("true"))


def test_wait_any_terminated_returns_the_first_finisher(manager, connection):
    session = manager.create_job_session(connection["prefix"] + "-any")
    slow1, quick, slow2 = (session.run_job(job("sleep", s)) for s in ("30", "0.3", "30"))
    assert session.wait_any_terminated([slow1, quick, slow2], 30) == quick
    assert session.wait_any_started([slow1, slow2], 30) in (slow1, slow2)
    with pytest.raises(DrmaaTimeoutError):
        session.wait_all_terminated([slow1, slow2], 0.5)
    session.wait_all_started([slow1, slow2], 30)
    for j in (slow1, slow2):
        j.terminate()
    assert [j.get_state()[0] for j in (slow1, quick, slow2)] == [JobState.FAILED, JobState.DONE, JobState.FAILED]
    assert session.wait_all_terminated([slow1, quick, slow2], 0) == [slow1, quick, slow2]
    for j in (slow1, quick, slow2):
        j.reap()
    assert session.get_jobs() == []


def test_filters_match_every_field_that_is_set(manager, connection):
    session = manager.create_job_session(connection["prefix"] + "-filter")
    failed = session.run_job(job("sh", "-c", "exit 3", job_name="failing"))
    running = session.run_job(job("sleep", "30", job_name="sleeper"))
    done = session.run_job(job("true"))
    session.wait_all_terminated([failed, done], 30)
    session.wait_all_started([running], 30)
    assert session.get_jobs(JobInfo(state=JobState.RUNNING)) == [running]
    assert session.get_jobs(JobInfo(exit_status=3)) == [failed]
    assert session.get_jobs(JobInfo(annotation="sleeper", state=JobState.RUNNING)) == [running]
    assert session.get_jobs(JobInfo(annotation="sleeper", state=JobState.DONE)) == []
    assert session.get_jobs(JobInfo(id=done.id)) == [done]
    assert session.get_jobs(JobInfo(allocated_machines=[socket.gethostname()])) != []
    assert session.get_jobs(JobInfo(allocated_machines=["elsewhere"])) == []
    assert sorted(j.id for j in session.get_jobs()) == sorted(j.id for j in (failed, running, done))
    running.terminate()


def test_get_jobs_with_a_filter_costs_as_many_calls_for_many_jobs_as_for_few(connection):
    runner = CountingRunner()
    options = {k: v for k, v in connection.items() if k != "prefix"}
    session = SessionManager(**options, runner=runner).create_job_session(connection["prefix"] + "-count")
    counts = []
    for n in (3, 6):  # above the job or two ctr reads one record each (DIRECT_READS)
        while len(session.get_jobs()) < n:
            session.run_job(job("sleep", "30"))
        session.get_jobs(JobInfo(state=JobState.RUNNING))  # records first seen
        runner.calls.clear()
        assert len(session.get_jobs(JobInfo(state=JobState.RUNNING))) == n
        counts.append(len(runner.calls))
    assert counts[0] == counts[1]


def test_the_monitoring_session_sees_every_session_and_controls_none(manager, connection):
    mine = manager.create_job_session(connection["prefix"] + "-m1").run_job(job("sleep", "30"))
    theirs = manager.create_job_session(connection["prefix"] + "-m2").run_job(job("sleep", "30"))
    with manager.open_monitoring_session() as monitor:
        seen = {j.id: j for j in monitor.get_all_jobs()}
        assert {mine.id, theirs.id} <= set(seen)
        assert seen[theirs.id].session_name == connection["prefix"] + "-m2"
        assert monitor.get_all_jobs(JobInfo(id=mine.id)) == [mine]
        theirs_seen = seen[theirs.id]
        assert theirs_seen.get_state()[0] in (JobState.QUEUED, JobState.RUNNING)
        for act in (theirs_seen.terminate, theirs_seen.suspend, theirs_seen.reap):
            with pytest.raises(UnsupportedOperationError):
                act()
        assert monitor.get_all_queues() == []
        [machine] = monitor.get_all_machines()
        assert machine.name == socket.gethostname()
        assert machine.sockets >= 1 and machine.cores_per_socket >= 1 and machine.phys_memory > 0
    mine.terminate()
    theirs.terminate()


def test_bulk_jobs_and_their_controls(manager, connection, tmp_path):
    session = manager.create_job_session(connection["prefix"] + "-bulk")
    array = session.run_bulk_jobs(job("sh", "-c", "echo $TASK_ID; sleep 30",
                                      output_path=str(tmp_path / "task-$DRMAA2_INDEX$.out")), 1, 4, 1, 2)
    assert len(array.job_list) == 4
    assert session.get_job_array(array.id).get_id() == array.id
    assert array.get_template().remote_command == "sh"
    session.wait_all_started(array.job_list[:2], 30)
    states = [j.get_state()[0] for j in array.job_list]
    assert states == [JobState.RUNNING, JobState.RUNNING, JobState.QUEUED, JobState.QUEUED]
    array.terminate()  # the queued ones first: none of them ever runs
    assert [j.get_state()[0] for j in array.job_list] == [JobState.FAILED] * 4
    assert [(tmp_path / f"task-{i}.out").read_text() for i in (1, 2, 3, 4)] == ["1\n", "2\n", "", ""]
    array.reap()
    assert session.get_jobs() == []


def test_event_notifications_tell_each_state_change_of_any_session_and_process(manager, connection):
    told: queue.Queue[Notification] = queue.Queue()
    manager.register_event_notification(told.put)
    try:
        name = connection["prefix"] + "-told"
        made = in_another_process(connection, f"print(manager.create_job_session({name!r})"
                                              ".run_job({'job_category': " + repr(BUSYBOX) + ", "
                                              "'remote_command': 'sh', 'args': ['-c', 'sleep 1; exit 4']}).id)")
        assert made.returncode == 0, made.stderr
        job_id = made.stdout.strip()
        states = []
        while JobState.FAILED not in states:
            note = told.get(timeout=60)  # raises Empty: a change never told
            if note.job_id == job_id:
                assert (note.event, note.session_name) == (DrmaaEvent.NEW_STATE, name)
                assert not states or states[-1] != note.job_state, "a state told twice"
                states.append(note.job_state)
        assert JobState.RUNNING in states and states[-1] == JobState.FAILED
    finally:
        manager.register_event_notification(None)
    quiet = manager.open_job_session(name).run_job(job("true"))
    quiet.wait_terminated(30)
    assert all(note.job_id != quiet.id for note in list(told.queue)), "told after unregistering"


def test_what_the_drms_says_of_itself(manager):
    assert manager.drms_name == "containerd"
    assert manager.drms_version
    assert manager.supports(Capability.BULK_JOBS_MAXPARALLEL) and manager.supports("BulkJobsMaxParallel")
    assert manager.supports(Capability.CALLBACK)
    assert not manager.supports("JtEmail") and not manager.supports(Capability.ADVANCE_RESERVATION)
    with pytest.raises(InvalidArgumentError):
        manager.supports("Teleportation")
