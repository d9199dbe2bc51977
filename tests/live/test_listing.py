"""list_jobs, arrays, categories, delete_job, and foreign containers."""
from __future__ import annotations

import json

import pytest

from containerd_tracker_cli import InvalidArgumentError, InvalidStateError, JobNotFoundError, JobState

from ..support import BUSYBOX, CountingRunner, until
from .helpers import output_of, run_to_end, submit, template


def test_list_jobs_shows_this_sessions_jobs_only(make_tracker, raw):
    mine, theirs = make_tracker("list-mine"), make_tracker("list-theirs")
    a = submit(mine, "sleep", "30")
    b = submit(mine, "true")
    c = submit(theirs, "true")
    foreign = raw.create_foreign("foreign-listed")
    listed = mine.list_jobs()
    assert sorted(listed) == sorted([a, b])
    assert "" not in listed and c not in listed and foreign not in listed
    assert theirs.list_jobs() == [c]


def test_list_jobs_costs_one_call_whatever_the_number_of_jobs(make_tracker):
    runner = CountingRunner()
    tracker = make_tracker("list-count", runner=runner)
    counts = []
    for _ in range(2):
        submit(tracker, "true")
        submit(tracker, "true")
        submit(tracker, "true")
        runner.calls.clear()
        tracker.list_jobs()
        counts.append(len(runner.calls))
    assert counts == [1, 1]
    assert len(tracker.list_jobs()) == 6


def test_the_state_of_many_jobs_costs_as_many_calls_as_of_few(make_tracker):
    """What get_jobs with a filter, list -l and the waits read: through ctr,
    kept records and listings instead of one record per job."""
    runner = CountingRunner()
    tracker = make_tracker("infos-count", runner=runner)
    other = make_tracker("infos-count")  # another process, the same state directory
    counts = []
    for round_ in range(2):
        for _ in range(round_ + 1):  # 2 jobs of each kind, then 4
            submit(tracker, "sleep", "30")
            tracker.add_job(template("true", submit_as_hold=True))
            run_to_end(tracker, "sh", "-c", "exit 3")
        ids = tracker.list_jobs()
        other.job_infos(ids, cpu_time=False)  # first sight: records read and kept
        runner.calls.clear()
        infos = tracker.job_infos(ids, cpu_time=False)
        counts.append(len(runner.calls))
    assert counts[0] == counts[1]
    states = [i.state for i in infos.values()]
    assert {s: states.count(s) for s in states} == {
        JobState.RUNNING: 3, JobState.QUEUED_HELD: 3, JobState.FAILED: 3}
    assert {i.exit_status for i in infos.values() if i.state == JobState.FAILED} == {3}


def test_the_state_of_one_job_costs_at_most_two_cli_calls(make_tracker, backend_name):
    """job_state of one job in each state it can rest in: ctr lists the tasks
    and reads the record (docker: one inspect), whatever was kept before."""
    runner = CountingRunner()
    tracker = make_tracker("one-job-count", runner=runner)
    jobs = [submit(tracker, "sleep", "30"), tracker.add_job(template("true", submit_as_hold=True)),
            run_to_end(tracker, "sh", "-c", "exit 3")]
    tracker.job_infos(jobs, cpu_time=False)  # records kept, as a long-lived process would have them
    for job_id in jobs:
        runner.calls.clear()
        tracker.job_state(job_id)
        assert len(runner.calls) <= 2, (backend_name, runner.calls)


@pytest.mark.backends("ctr")
def test_jobs_this_process_saw_end_are_read_again_without_a_record_each(make_tracker):
    """The exit labels this process wrote go into its kept copies: after
    waiting for many jobs, reading them all asks no `containers info`."""
    runner = CountingRunner()
    tracker = make_tracker("read-after-wait", runner=runner)
    ids = [submit(tracker, "sh", "-c", f"exit {n}") for n in range(4)]
    tracker.job_infos(ids, cpu_time=False)  # kept while they may still run
    for job_id in ids:
        tracker.wait(job_id, 30)
    runner.calls.clear()
    infos = tracker.job_infos(ids, cpu_time=False)
    assert [infos[i].exit_status for i in ids] == [0, 1, 2, 3]
    assert not [c for c in runner.calls if "info" in c], runner.calls


@pytest.mark.backends("ctr")
def test_a_kept_copy_of_a_container_removed_with_ctr_is_pruned_by_the_next_process(make_tracker, raw, state_dir):
    tracker = make_tracker("prune-copies")
    ids = [run_to_end(tracker, "true") for _ in range(4)]
    tracker.job_infos(ids, cpu_time=False)
    records = state_dir / "records" / "default"  # a folder per daemon inside
    assert {p.stem for p in records.rglob("*.json")} >= set(ids)
    raw("containers", "delete", ids[0])  # behind the tracker's back
    make_tracker("prune-copies").job_infos(ids[1:], cpu_time=False)  # another process, three other jobs
    assert ids[0] not in {p.stem for p in records.rglob("*.json")}
    assert set(ids[1:]) <= {p.stem for p in records.rglob("*.json")}


def test_a_job_read_before_it_ended_is_read_with_its_exit_after(make_tracker):
    """A record kept while the job ran is never taken for how it ended: the
    exit another process records, or a hold it sets, is seen."""
    mine, theirs = make_tracker("kept-records"), make_tracker("kept-records")
    job_id = submit(mine, "sh", "-c", "sleep 1; exit 5")
    assert mine.job_state(job_id)[0] == JobState.RUNNING
    theirs.wait(job_id, 30)  # their harvest records the exit and deletes the task
    assert mine.job_info(job_id).exit_status == 5
    assert mine.job_state(job_id)[0] == JobState.FAILED

    running, queued = json.loads(mine.add_array_job(template("sleep", "30"), 1, 2, 1, 1))
    assert mine.job_state(queued)[0] == JobState.QUEUED  # it waits for the running one's slot
    if mine.backend.mutable_labels:  # docker and nerdctl hold only at submission
        theirs.job_control(queued, "hold")
        assert mine.job_state(queued)[0] == JobState.QUEUED_HELD
        theirs.job_control(queued, "release")
        assert mine.job_state(queued)[0] == JobState.QUEUED
    for task in (queued, running):
        mine.job_control(task, "terminate")

    mine.delete_job(job_id)
    with pytest.raises(JobNotFoundError):
        theirs.job_state(job_id)


def test_array_job_sets_task_id_and_lists_its_jobs(tracker):
    array_id = tracker.add_array_job(template("sh", "-c", 'echo "task $TASK_ID"'), 1, 5, 2, 2)
    ids = json.loads(array_id)
    assert len(ids) == 3
    assert tracker.list_array_jobs(array_id) == ids
    for job_id in ids:
        tracker.wait(job_id, 30)
    assert [output_of(tracker, i) for i in ids] == ["task 1\n", "task 3\n", "task 5\n"]
    assert [tracker.job_info(i).extension.extension_list["task_id"] for i in ids] == ["1", "3", "5"]


@pytest.mark.parametrize("begin, end, step, max_parallel", [(1, 3, 0, 1), (5, 1, 1, 1), (1, 3, 1, -1)])
def test_bad_array_parameters(tracker, begin, end, step, max_parallel):
    with pytest.raises(InvalidArgumentError):
        tracker.add_array_job(template("true"), begin, end, step, max_parallel)
    assert tracker.list_jobs() == []


def test_a_failing_array_submission_removes_the_jobs_it_made(tracker):
    with pytest.raises(InvalidArgumentError):
        # Index 2's output file cannot be written: its directory is missing.
        tracker.add_array_job(template("true", output_path="/tmp/$DRMAA2_INDEX$/../out"), 1, 3, 1, 0)
    assert tracker.list_jobs() == []


def test_a_task_failing_amid_many_submitted_at_once_removes_them_all(tracker, raw, tmp_path):
    """Tasks are submitted several at a time: those made before the failure,
    and those under way when it came, are all removed, with their files."""
    for index in range(1, 41):
        if index != 20:  # task 20's output file cannot be written: its directory is missing
            (tmp_path / f"d{index}").mkdir()
    before = raw.containers()
    with pytest.raises(InvalidArgumentError, match="d20"):
        tracker.add_array_job(template("sleep", "30", output_path=str(tmp_path / "d$DRMAA2_INDEX$" / "out")),
                              1, 40, 1, 0)
    assert tracker.list_jobs() == []
    assert raw.containers() == before
    assert sorted(tmp_path.glob("d*/out")) == []


def test_list_array_jobs_rejects_what_is_not_an_array_id(tracker):
    with pytest.raises(InvalidArgumentError):
        tracker.list_array_jobs("not json")
    with pytest.raises(JobNotFoundError):
        tracker.list_array_jobs(json.dumps(["no-such-job"]))


def test_list_job_categories_names_the_images(tracker):
    assert BUSYBOX in tracker.list_job_categories()


def test_delete_job_removes_task_container_snapshot_and_files(tracker, raw, state_dir):
    job_id = run_to_end(tracker, "true")
    job_dir = state_dir / "jobs" / "default" / raw.labels(job_id)["containerd-tracker/key"]
    assert job_dir.exists()
    tracker.delete_job(job_id)
    assert job_id not in raw.containers()
    if raw.backend == "ctr":
        assert job_id not in raw("tasks", "list", "--quiet").stdout.split()
        assert job_id not in raw("snapshots", "list").stdout
    assert not job_dir.exists()
    assert job_id not in tracker.list_jobs()
    with pytest.raises(JobNotFoundError):
        tracker.job_state(job_id)


def test_delete_job_refuses_jobs_that_have_not_ended(tracker):
    job_id = submit(tracker, "sleep", "30")
    with pytest.raises(InvalidStateError):
        tracker.delete_job(job_id)
    assert tracker.job_state(job_id)[0] == JobState.RUNNING


def test_many_ended_jobs_are_deleted_in_a_few_calls_whatever_their_number(make_tracker, raw, state_dir):
    """An array's tasks cleaned up at once (JobArray.reap): one read, then
    deletes of many IDs per call (ctr twenty, docker a hundred); all of it gone."""
    runner = CountingRunner()
    tracker = make_tracker("delete-many", runner=runner)
    before = raw.leftovers(state_dir)
    counts = []
    for size in (3, 25):
        array_id = tracker.add_array_job(template("sh", "-c", "exit $((TASK_ID % 2))"), 1, size, 1, 0)
        ids = tracker.list_array_jobs(array_id)
        tracker.wait_all(ids, 60)
        runner.calls.clear()
        tracker.delete_jobs(ids)
        counts.append(len(runner.calls))
        assert not set(ids) & set(raw.containers())
        assert raw.leftovers(state_dir) == before
    assert counts[1] <= counts[0] + 1, counts  # ctr: a second delete call for containers 21-25


def test_deleting_many_removes_none_when_one_has_not_ended(tracker, raw):
    ended = run_to_end(tracker, "true")
    running = submit(tracker, "sleep", "30")
    with pytest.raises(InvalidStateError, match=running):
        tracker.delete_jobs([ended, running])
    assert {ended, running} <= set(raw.containers())
    assert tracker.job_state(ended)[0] == JobState.DONE


def test_foreign_containers_are_never_touched(tracker, make_tracker, raw):
    foreign = raw.run_foreign("foreign", "sleep", "30")
    other = make_tracker("someone-else")
    theirs = submit(other, "sleep", "30")
    for job_id in (foreign, theirs):
        for call in (
            lambda: tracker.job_state(job_id),
            lambda: tracker.job_control(job_id, "terminate"),
            lambda: tracker.job_control(job_id, "suspend"),
            lambda: tracker.delete_job(job_id),
            lambda: tracker.wait(job_id, 1),
        ):
            with pytest.raises(JobNotFoundError, match="leaves it alone"):
                call()
    assert raw.running(foreign)
    labels = raw.labels(foreign)
    assert not any(k.startswith("containerd-tracker/") for k in labels)
    assert other.job_state(theirs)[0] == JobState.RUNNING


@pytest.mark.backends("ctr")
def test_a_job_started_at_submission_costs_one_ctr_call_and_a_missing_image_is_looked_up_after(make_tracker, raw):
    """`ctr run --detach` alone (its image is only looked up when ctr says it
    is missing); a missing image the policy says not to pull is refused."""
    runner = CountingRunner()
    tracker = make_tracker("submit-count", runner=runner, pull_policy="never")
    job_id = submit(tracker, "true")
    assert [call[call.index("--connect-timeout") + 2] for call in runner.calls] == ["run"], runner.calls
    runner.calls.clear()
    with pytest.raises(InvalidArgumentError, match="not present"):
        submit(tracker, "true", job_category="example.com/absent:1")
    assert [" ".join(call[call.index("--connect-timeout") + 2:][:2]) for call in runner.calls] == [
        "run --detach", "images list"], runner.calls
    assert tracker.list_jobs() == [job_id]


@pytest.mark.backends("ctr")
def test_many_jobs_found_ended_at_once_each_keep_their_own_exit(make_tracker, raw):
    """Their exits are read and labelled several at a time (a live runner's
    concurrency): each job gets its own status, and it is in containerd."""
    tracker = make_tracker("many-ended")
    ids = [submit(tracker, "sh", "-c", f"exit {n}") for n in range(12)]
    until(lambda: all(raw.stopped(i) for i in ids), "all 12 jobs ended")
    infos = tracker.job_infos(ids, cpu_time=False)  # finds all 12 stopped: one harvest
    assert [infos[i].exit_status for i in ids] == list(range(12))
    assert [raw.labels(i).get("containerd-tracker/exit-status") for i in ids] == [str(n) for n in range(12)]
    assert not [i for i in ids if raw.stopped(i)]  # their tasks deleted, after the labels


@pytest.mark.backends("ctr")
def test_a_running_jobs_state_is_one_tasks_list_once_its_record_is_kept(make_tracker):
    """While its task is listed, a job's record cannot change (no exit yet,
    no hold): the kept copy is used, and the state costs one ctr call."""
    runner = CountingRunner()
    tracker = make_tracker("running-one-call", runner=runner)
    job_id = submit(tracker, "sleep", "30")
    tracker.job_state(job_id)  # its record is kept from here on
    runner.calls.clear()
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")
    assert [call[call.index("--connect-timeout") + 2:][:2] for call in runner.calls] == [("tasks", "list")]
