"""The session layer's pure parts: DRMAA2 filter rules, session names in the
state directory, templates given as dicts, capabilities."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from containerd_tracker_cli import InvalidArgumentError, JobInfo, JobState, JobTemplate
from containerd_tracker_cli.drmaa2.capabilities import Capability
from containerd_tracker_cli.session.job_session import as_template, matches
from containerd_tracker_cli.session.names import SessionNames

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
INFO = JobInfo(id="j1", state=JobState.DONE, exit_status=0, annotation="nightly", allocated_machines=["h1", "h2"],
               wallclock_time=timedelta(seconds=90), cpu_time=60, submission_time=T0,
               dispatch_time=T0 + timedelta(seconds=5), finish_time=T0 + timedelta(seconds=95), job_owner="ann")


@pytest.mark.parametrize("wanted, expected", [
    (JobInfo(), True),
    (JobInfo(state=JobState.DONE), True),
    (JobInfo(state=JobState.RUNNING), False),
    (JobInfo(id="j1", exit_status=0, annotation="nightly"), True),
    (JobInfo(id="j1", exit_status=1), False),
    (JobInfo(allocated_machines=["h2"]), True),  # the job's machines include the filter's
    (JobInfo(allocated_machines=["h2", "h3"]), False),
    (JobInfo(wallclock_time=timedelta(seconds=60)), True),  # at least
    (JobInfo(wallclock_time=timedelta(seconds=120)), False),
    (JobInfo(cpu_time=61), False),
    (JobInfo(submission_time=T0 - timedelta(hours=1)), True),  # at or after
    (JobInfo(dispatch_time=T0 + timedelta(hours=1)), False),
    (JobInfo(finish_time=T0 + timedelta(hours=1)), True),  # at or before
    (JobInfo(finish_time=T0), False),
    (JobInfo(job_owner="bob"), False),
])
def test_a_filter_matches_every_field_it_sets(wanted, expected):
    assert matches(INFO, wanted) is expected


def test_a_naive_time_in_a_filter_means_utc():
    assert matches(INFO, JobInfo(submission_time=datetime(2026, 11, 25, 11, 0)))
    assert not matches(INFO, JobInfo(submission_time=datetime(2026, 11, 25, 13, 0)))


def test_an_unset_time_never_matches_a_time_filter():
    assert not matches(JobInfo(id="q", state=JobState.QUEUED), JobInfo(finish_time=T0))


def test_session_names_are_created_once_listed_and_removed(tmp_path):
    names = SessionNames(tmp_path, "default")
    names.create("nightly builds", "ops@example.com")
    names.create("ünïcode/with slash", None)
    with pytest.raises(InvalidArgumentError, match="exists already"):
        names.create("nightly builds", None)
    assert names.names() == ["nightly builds", "ünïcode/with slash"]
    assert names.contact("nightly builds") == "ops@example.com"
    assert SessionNames(tmp_path, "other").names() == []  # per namespace
    names.remove("nightly builds")
    with pytest.raises(InvalidArgumentError, match="no job session"):
        names.contact("nightly builds")
    with pytest.raises(InvalidArgumentError, match="no job session"):
        names.remove("nightly builds")
    assert not list((tmp_path / "sessions" / "default").glob(".*.tmp"))


def test_concurrent_creation_succeeds_exactly_once(tmp_path):
    results: list[str] = []
    start = threading.Barrier(16)

    def create() -> None:
        start.wait()
        try:
            SessionNames(tmp_path, "default").create("race", None)
            results.append("created")
        except InvalidArgumentError:
            results.append("refused")

    threads = [threading.Thread(target=create) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["created"] + ["refused"] * 15


def test_a_template_may_be_a_dict_in_either_spelling():
    assert as_template({"job_category": "busybox", "remote_command": "true"}) == \
        JobTemplate(job_category="busybox", remote_command="true")
    assert as_template({"jobCategory": "busybox", "remoteCommand": "true"}).remote_command == "true"
    with pytest.raises(InvalidArgumentError, match="not a valid job template"):
        as_template({"job_category": "busybox", "args": "not-a-list"})
    with pytest.raises(InvalidArgumentError, match="JobTemplate or a dict"):
        as_template(["busybox"])


@pytest.mark.parametrize("text", ["BULK_JOBS_MAXPARALLEL", "BulkJobsMaxParallel", "bulk-jobs-maxparallel"])
def test_capabilities_by_any_name(text):
    assert Capability.parse(text) is Capability.BULK_JOBS_MAXPARALLEL
