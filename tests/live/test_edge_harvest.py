"""Harvesting an ended job's exit when other trackers act at the same time,
against the real daemon: two tracker processes reading the same ended jobs
at once, and a job deleted by another tracker in the middle of a read (at
each of the reader's CLI calls in turn)."""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import textwrap
import threading
import uuid
from typing import Callable, Sequence

import pytest

from containerd_tracker_cli import JobNotFoundError, JobState
from containerd_tracker_cli.backends.ctr import parsers
from containerd_tracker_cli.records import labels as L
from containerd_tracker_cli.runner import Completed, LiveRunner, Runner, Stream

from ..support import until
from .helpers import submit

#: A tracker in a process of its own: made, it says "ready"; at a line on its
#: stdin it reads each job's info and prints what it found as one JSON line.
READER = textwrap.dedent("""
    import json, sys
    from containerd_tracker_cli import ContainerdJobTracker
    address, backend, state_dir, session, *ids = sys.argv[1:]
    tracker = ContainerdJobTracker(session, address=address, backend=backend, state_dir=state_dir)
    print("ready", flush=True)
    sys.stdin.readline()
    found = []
    for job_id in ids:
        try:
            info = tracker.job_info(job_id)
            found.append([job_id, str(info.state), info.exit_status,
                          info.finish_time.isoformat() if info.finish_time else None])
        except Exception as exc:
            found.append([job_id, "raised", f"{type(exc).__name__}: {exc}", None])
    print(json.dumps(found), flush=True)
""")

#: The labels an exit record is made of.
RECORD_KEYS = (L.EXIT_STATUS, L.FINISH_TIME, L.CPU_NS, L.TERMINATED_BY, L.OOM_KILLED)


class _Lines:
    """The stdout lines of a process, read by a thread, awaited with a deadline."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.queue: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.all.append(line.rstrip("\n"))
            self.queue.put(line.rstrip("\n"))

    def next(self, timeout: float, what: str) -> str:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"{what} within {timeout:g} s (stderr: {self._stderr()})")

    def _stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return "(still running)"
        return self.process.stderr.read()[-2000:]


def _readers(tracker, job_ids: list[str], count: int = 2) -> list[list]:
    """``count`` tracker processes read ``job_ids`` at the same moment: each is
    made and ready before any of them is told to start."""
    argv = [sys.executable, "-c", READER, tracker.address, tracker.backend.name, str(tracker.state.root),
            tracker.session_name, *job_ids]
    processes = [subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(count)]
    try:
        outputs = [_Lines(process) for process in processes]
        for output in outputs:
            assert output.next(60, "a reader process did not get ready") == "ready"
        for process in processes:  # both go at once
            process.stdin.write("go\n")
            process.stdin.flush()
        return [json.loads(output.next(120, "a reader process printed no result")) for output in outputs]
    finally:
        for process in processes:
            process.stdin.close()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ended_jobs(tracker, raw, statuses: Sequence[int]) -> list[str]:
    """Jobs that have ended with these statuses, read by no tracker since they started."""
    job_ids = [submit(tracker, "sh", "-c", f"exit {status}") for status in statuses]
    for job_id in job_ids:
        until(lambda: raw.stopped(job_id), f"job {job_id} did not end")
    return job_ids


STATUSES = (0, 3, 137)


def test_two_tracker_processes_reading_the_same_ended_jobs_at_once_agree(tracker, raw, make_tracker):
    job_ids = _ended_jobs(tracker, raw, STATUSES)
    first, second = _readers(tracker, job_ids)
    assert first == second, "two trackers reading at once disagree about how the jobs ended"
    for (job_id, state, exit_status, finish_time), status in zip(first, STATUSES):
        assert (state, exit_status) == (str(JobState.DONE if status == 0 else JobState.FAILED), status), job_id
        assert finish_time is not None, job_id
    # What they found stays: a third tracker, later, reads the same.
    later = make_tracker(tracker.session_name)
    for job_id, state, exit_status, finish_time in first:
        info = later.job_info(job_id)
        assert (str(info.state), info.exit_status, info.finish_time.isoformat()) == (state, exit_status, finish_time)


class _Events:
    """``ctr events`` of the whole daemon, proven subscribed, read to a fence."""

    def __init__(self, containerd, raw) -> None:
        self.raw = raw
        self.argv = containerd.ctr_argv("events")
        self.process = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = _Lines(self.process)
        self.target = raw.create_foreign("events-fence")
        self.fence()  # from here on no event is missed

    def fence(self) -> None:
        """Return once every event before this call has been read: a label
        set now comes back through the stream after all of them (ctr events
        is ``ctr``'s subscription, in order); repeated, since a subscription
        not yet live misses it."""
        token = uuid.uuid4().hex[:12]
        seen = len(self.lines.all)

        def arrived() -> bool:
            self.raw("containers", "label", self.target, f"test/fence={token}")
            return any(token in line for line in self.lines.all[seen:])

        until(arrived, "ctr events did not show a label just set", timeout=30, interval=0.2)

    def of(self, job_id: str) -> list:
        events = []
        for line in self.lines.all:
            if job_id in line:
                event = parsers.parse_event(self.argv, line)
                if event.container_id == job_id:
                    events.append(event)
        return events

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.raw("containers", "delete", self.target, check=False)


@pytest.mark.backends("ctr")  # docker keeps exit statuses itself; with ctr they are the tracker's labels
def test_two_harvesters_at_once_write_one_exit_record_before_the_task_is_deleted(tracker, raw, containerd):
    job_ids = _ended_jobs(tracker, raw, STATUSES)
    events = _Events(containerd, raw)
    try:
        first, second = _readers(tracker, job_ids)
        events.fence()
    finally:
        events.close()
    assert first == second
    for job_id, _, exit_status, finish_time in first:
        seen = events.of(job_id)
        records = []  # each exit record the job's labels held, in order, once per change
        for event in seen:
            if event.topic == "/containers/update" and L.EXIT_STATUS in event.labels:
                record = {key: event.labels[key] for key in RECORD_KEYS if key in event.labels}
                if not records or records[-1] != record:
                    records.append(record)
        assert len(records) == 1, f"{job_id}: the exit record was written differently: {records}"
        [record] = records
        assert int(record[L.EXIT_STATUS]) == exit_status, job_id
        assert L.FINISH_TIME in record, job_id
        topics = [event.topic for event in seen]
        # A task is deleted once. (containerd 2.1 drops about one /tasks/delete event in ten: none is no proof.)
        assert topics.count("/tasks/delete") <= 1, f"{job_id}: {topics}"
        if "/tasks/delete" in topics:
            labelled = next(i for i, event in enumerate(seen)
                            if event.topic == "/containers/update" and L.EXIT_STATUS in event.labels)
            # Crash safety: the record is in containerd before the task (which holds the status) goes.
            assert labelled < topics.index("/tasks/delete"), f"{job_id}: task deleted before its exit was kept: {topics}"
    assert not set(job_ids) & set(raw("tasks", "list", "--quiet").stdout.split())


class _Interrupting(Runner):
    """A real runner that, once armed, runs ``meanwhile`` just before its
    ``at``-th CLI call (0: the first): another tracker acting in the middle
    of this one's read."""

    def __init__(self) -> None:
        self.inner = LiveRunner()
        self.calls: list[tuple[str, ...]] = []
        self.armed_at: int | None = None
        self.at: int | None = None
        self.meanwhile: Callable[[], None] = lambda: None
        self.interrupted: tuple[str, ...] | None = None

    def arm(self, at: int | None, meanwhile: Callable[[], None]) -> None:
        self.armed_at, self.at, self.meanwhile = len(self.calls), at, meanwhile

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        if self.at is not None and self.armed_at is not None and len(self.calls) - self.armed_at == self.at:
            self.interrupted = tuple(argv)
            self.meanwhile()
        self.calls.append(tuple(argv))
        return self.inner.run(argv, timeout=timeout, stdin=stdin)

    def stream(self, argv: Sequence[str]) -> Stream:
        self.calls.append(tuple(argv))
        return self.inner.stream(argv)

    def find(self, executable: str) -> str | None:
        return self.inner.find(executable)

    def made_since_armed(self) -> list[tuple[str, ...]]:
        return self.calls[self.armed_at or 0:]


def _deleted_during_a_read(tracker, raw, make_tracker, other, ctr_shim_case: bool) -> None:
    """``other`` harvests and deletes the ended job just before each of the
    reader's CLI calls in turn. The reader then either has all it needs (the
    job's true end) or says the job is not found: never another error, never
    a made-up state."""

    def read(at: int | None) -> tuple[object, _Interrupting]:
        [job_id] = _ended_jobs(tracker, raw, [5])
        runner = _Interrupting()
        reader = make_tracker(tracker.session_name, runner=runner)
        runner.arm(at, lambda: other.delete_job(job_id))
        try:
            outcome: object = reader.job_info(job_id)
        except JobNotFoundError as exc:
            outcome = exc
        except Exception as exc:  # noqa: BLE001 - the defect this test is about: kept, reported below
            outcome = exc
        if at is not None:
            assert runner.interrupted is not None, f"the read made fewer than {at + 1} calls this time"
            assert job_id not in raw.containers()
        else:
            other.delete_job(job_id)
        return outcome, runner

    undisturbed, runner = read(None)
    assert (undisturbed.state, undisturbed.exit_status) == (JobState.FAILED, 5)
    calls = runner.made_since_armed()
    not_found, wrong = [], []
    for at in range(len(calls)):
        outcome, runner = read(at)
        where = f"deleted before call {at} ({' '.join(runner.interrupted or ())})"
        if isinstance(outcome, JobNotFoundError):
            not_found.append(runner.interrupted)
        elif isinstance(outcome, Exception):
            wrong.append(f"{where}: {type(outcome).__name__}: {outcome}")
        elif (outcome.state, outcome.exit_status) != (JobState.FAILED, 5) or outcome.finish_time is None:
            wrong.append(f"{where}: read as {outcome.state} (status {outcome.exit_status}, "
                         f"finish time {outcome.finish_time})")
    assert not wrong, "\n".join(wrong)
    assert not_found, "no deletion was ever noticed: the test interrupted nothing"
    if ctr_shim_case:
        # Deleted after the reader saw the task stopped, before it could ask the task's shim.
        assert any(argv[-1] == "state" and "shim" in argv for argv in not_found), not_found


def test_a_job_deleted_by_another_tracker_during_a_read_is_not_found_never_a_stray_error(
        tracker, raw, make_tracker, tmp_path, backend_name):
    """Another tracker with a state directory of its own (another user's, or
    one given by ``$CONTAINERD_TRACKER_STATE_DIR``): it shares no lock with
    the reader, so it can act at any point of the read."""
    other = make_tracker(tracker.session_name, state_dir=tmp_path / "other-state")
    _deleted_during_a_read(tracker, raw, make_tracker, other, ctr_shim_case=False)


@pytest.mark.backends("ctr")
def test_a_job_deleted_by_a_tracker_sharing_the_state_directory_during_a_read_is_not_found(
        tracker, raw, make_tracker):
    """Another tracker of the same host and user (the same state directory:
    its delete also removes the job's folder, with what the job's logger saved).
    Through ctr no lock is held across a read's CLI calls, so it can act at
    any point. (Through docker the output copy is made under a lock of the
    state directory: a delete from another process waits for it, and one from
    the same thread, as here, would wait for ever — so not tried.)"""
    _deleted_during_a_read(tracker, raw, make_tracker, make_tracker(tracker.session_name), ctr_shim_case=True)


@pytest.mark.backends("ctr")
def test_a_shim_that_cannot_be_asked_still_gives_the_exit_status(make_tracker, containerd, tmp_path, ctr):
    """Through another path to the socket (a symlink), ctr cannot find the
    task's shim (its socket is named after the address containerd was
    started with): the status then comes from ctr's own warning on delete."""
    link = tmp_path / "link.sock"
    link.symlink_to(containerd.address)
    tracker = make_tracker(address=str(link))
    job_id = submit(tracker, "sh", "-c", "exit 7")
    until(lambda: "STOPPED" in ctr("tasks", "list").stdout, "the job did not end")

    def shim_state(address: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([containerd.ctr, "--address", address, "--namespace", "default", "shim", "--id",
                               job_id, "state"], capture_output=True, text=True, timeout=30)

    # The premise: the shim answers through the daemon's own address only.
    assert shim_state(containerd.address).returncode == 0
    assert shim_state(str(link)).returncode != 0
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status) == (JobState.FAILED, 7)
    labels = json.loads(ctr("containers", "info", job_id).stdout)["Labels"]
    assert labels[L.EXIT_STATUS] == "7"
    assert job_id not in ctr("tasks", "list", "--quiet").stdout.split()  # harvested: containerd forgot it
    assert (make_tracker().job_info(job_id).exit_status) == 7  # and the record stays
