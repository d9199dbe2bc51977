"""Several processes on the same jobs, a process killed half-way through
recording an exit, a 300-task array, and trackers that must keep their hands
off what is not theirs."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from containerd_tracker_cli import JobNotFoundError, JobState, JobTemplate

from ..support import BUSYBOX, CountingRunner
from .helpers import submit

WORKER = textwrap.dedent("""
    import json, random, sys
    from containerd_tracker_cli import ContainerdJobTracker, JobNotFoundError
    address, session, state_dir, ids, seed = sys.argv[1:6]
    tracker = ContainerdJobTracker(session, address=address, backend="ctr", state_dir=state_dir)
    ids = json.loads(ids)
    random.Random(int(seed)).shuffle(ids)
    seen = {}
    for job_id in ids:
        entry = seen[job_id] = {}
        try:
            entry["status"] = tracker.job_info(job_id).exit_status
            tracker.wait(job_id, 60)
            tracker.delete_job(job_id)
            entry["deleted"] = True
        except JobNotFoundError:
            entry["gone"] = True
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(seen))
""")


def _until_all_stopped(ctr, ids: list[str], timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        rows = [line.split() for line in ctr("tasks", "list").stdout.splitlines()[1:]]
        stopped = {row[0] for row in rows if row[2] == "STOPPED"}
        if set(ids) <= stopped:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{len(set(ids) - stopped)} jobs still not stopped after {timeout:g} s")
        time.sleep(0.2)


@pytest.mark.backends("ctr")
def test_four_processes_inspect_wait_and_delete_the_same_50_finished_jobs(tracker, containerd, ctr, state_dir):
    ids = json.loads(tracker.add_array_job(
        JobTemplate(job_category=BUSYBOX, remote_command="sh", args=["-c", "exit $((TASK_ID % 7))"]), 1, 50, 1, 0))
    _until_all_stopped(ctr, ids)  # ended, and no tracker has looked yet: all four race to record them
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, containerd.address, tracker.session_name,
                                 str(state_dir), json.dumps(ids), str(seed)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for seed in range(4)]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    expected = {job_id: index % 7 for index, job_id in enumerate(ids, start=1)}
    for seen in results:
        for job_id, entry in seen.items():
            assert "error" not in entry, entry
            if "status" in entry:  # read before anyone deleted it: exactly right
                assert entry["status"] == expected[job_id], (job_id, entry)
    deletions = Counter(job_id for seen in results for job_id, entry in seen.items() if entry.get("deleted"))
    assert deletions == Counter(ids)  # each job deleted once, by exactly one process
    assert all(any("status" in seen[job_id] for seen in results) for job_id in ids)
    assert tracker.list_jobs() == []
    assert ctr("containers", "list", "--quiet").stdout.split() == []


def _counts(ctr, state_dir: Path, address: str) -> dict[str, int]:
    """What jobs leave on the host; the shims of this daemon only (other
    suites may run beside this one)."""
    return {
        "containers": len(ctr("containers", "list", "--quiet").stdout.split()),
        "tasks": len(ctr("tasks", "list", "--quiet").stdout.split()),
        "snapshots": len(ctr("snapshots", "list").stdout.splitlines()),
        "files in the state directory": sum(1 for p in state_dir.rglob("*") if p.is_file() and "jobs" in p.parts),
        "shims": sum(1 for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
                     if "containerd-shim-runc-v2 -namespace default " in line and line.endswith(f"-address {address}")),
    }


@pytest.mark.once  # minutes under CI load; parallel submission and harvest of many run on every version
@pytest.mark.backends("ctr")
def test_an_array_of_300_tasks_ends_right_and_leaves_nothing_behind(tracker, ctr, state_dir, containerd):
    before = _counts(ctr, state_dir, containerd.address)
    array_id = tracker.add_array_job(
        JobTemplate(job_category=BUSYBOX, remote_command="sh", args=["-c", "echo $TASK_ID; exit $((TASK_ID % 3))"]),
        1, 300, 1, 0)
    ids = tracker.list_array_jobs(array_id)
    assert len(ids) == len(set(ids)) == 300
    _until_all_stopped(ctr, ids, timeout=300)
    states = tracker.job_states(ids)  # all 300 exits harvested at once
    infos = tracker.job_infos(ids)
    for index, job_id in enumerate(ids, start=1):
        info = infos[job_id]
        assert (info.exit_status, states[job_id][0]) == (index % 3, JobState.DONE if index % 3 == 0 else JobState.FAILED)
        assert Path(info.extension.extension_list["stdout"]).read_text() == f"{index}\n"
    tracker.delete_jobs(ids)
    assert _counts(ctr, state_dir, containerd.address) == before


KILLER = textwrap.dedent("""
    import os, signal, sys
    from containerd_tracker_cli import ContainerdJobTracker
    from containerd_tracker_cli.runner import LiveRunner
    address, session, state_dir, job_id, words, when = sys.argv[1:7]
    words = words.split()

    class KilledHalfWay(LiveRunner):
        def run(self, argv, *, timeout, stdin=None):
            hit = all(word in argv for word in words)
            if hit and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            done = super().run(argv, timeout=timeout, stdin=stdin)
            if hit and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return done

    tracker = ContainerdJobTracker(session, address=address, backend="ctr", state_dir=state_dir,
                                   runner=KilledHalfWay())
    tracker.job_state(job_id)
    print("not killed")
""")


@pytest.mark.backends("ctr")
@pytest.mark.parametrize("words", ["shim state", "containers label", "tasks delete"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_process_killed_while_recording_an_exit_loses_nothing(tracker, containerd, ctr, state_dir, words, when):
    job_id = submit(tracker, "sh", "-c", "exit 13")
    _until_all_stopped(ctr, [job_id])
    killed = subprocess.run([sys.executable, "-c", KILLER, containerd.address, tracker.session_name,
                             str(state_dir), job_id, words, when], capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9, (killed.stdout, killed.stderr)  # it did die at that point
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status) == (JobState.FAILED, 13)
    assert info.finish_time is not None and info.dispatch_time is not None
    assert info.dispatch_time <= info.finish_time
    assert job_id not in ctr("tasks", "list", "--quiet").stdout.split()  # the next reader finished the job
    tracker.delete_job(job_id)


MUTATING = {
    "ctr": [("tasks", "kill"), ("tasks", "pause"), ("tasks", "resume"), ("tasks", "delete"), ("tasks", "start"),
            ("containers", "delete"), ("containers", "label"), ("containers", "create"), ("run",)],
    "docker": [("kill",), ("pause",), ("unpause",), ("rm",), ("start",), ("stop",), ("create",), ("run",)],
}


def _mutations(calls: list[tuple[str, ...]], backend: str) -> list[tuple[str, ...]]:
    def is_mutation(argv: tuple[str, ...]) -> bool:
        words = [a for a in argv if not a.startswith("-")]
        return any(tuple(words[i:i + len(verb)]) == verb for verb in MUTATING[backend] for i in range(len(words)))

    return [argv for argv in calls if is_mutation(argv)]


def test_two_sessions_and_a_foreign_container_never_touch_each_other(make_tracker, raw, backend_name):
    mine_runner, theirs_runner = CountingRunner(), CountingRunner()
    mine = make_tracker("isolation-mine", runner=mine_runner)
    theirs = make_tracker("isolation-theirs", runner=theirs_runner)
    raw.run_foreign("isolation-foreign", "sleep", "300")
    my_jobs = [submit(mine, "sleep", "300"), submit(mine, "sh", "-c", "exit 2")]
    their_jobs = [submit(theirs, "sleep", "300"), submit(theirs, "true")]
    foreign = [c for c in raw.containers() if c not in my_jobs + their_jobs]
    assert foreign

    for tracker, own, other in ((mine, my_jobs, their_jobs), (theirs, their_jobs, my_jobs)):
        assert sorted(tracker.list_jobs()) == sorted(own)
        for job_id in [*other, *foreign]:
            for call in (lambda: tracker.job_state(job_id), lambda: tracker.job_control(job_id, "terminate"),
                         lambda: tracker.job_control(job_id, "suspend"), lambda: tracker.delete_job(job_id),
                         lambda: tracker.wait(job_id, 0), lambda: tracker.job_info(job_id)):
                with pytest.raises(JobNotFoundError):
                    call()
        tracker.job_control(own[0], "suspend")
        tracker.job_control(own[0], "terminate")
        for job_id in own:
            tracker.wait(job_id, 60)
            tracker.delete_job(job_id)

    for runner, others in ((mine_runner, [*their_jobs, *foreign]), (theirs_runner, [*my_jobs, *foreign])):
        touched = [argv for argv in _mutations(runner.calls, backend_name) if set(argv) & set(others)]
        assert touched == []
    assert raw.running(foreign[0])
