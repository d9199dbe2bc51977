"""JobTemplate / JobInfo / JobState: snake_case in Python, Go's JSON on the wire."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from containerd_tracker_cli import JobInfo, JobState, JobTemplate
from containerd_tracker_cli.records import labels as L

# What drmaa2os' json.Marshal of a drmaa2interface.JobTemplate looks like.
GO_TEMPLATE = {
    "remoteCommand": "/bin/sh",
    "args": ["-c", "echo $X"],
    "submitAsHold": True,
    "jobEnvironment": {"X": "1"},
    "workingDirectory": "/tmp",
    "jobCategory": "busybox:latest",
    "jobName": "go-job",
    "outputPath": "/tmp/out",
    "errorPath": "/tmp/err",
    "joinFiles": False,
    "minSlots": 1,
    "accountingString": "project-a",
    "startTime": "0001-01-01T00:00:00Z",
    "deadlineTime": "0001-01-01T00:00:00Z",
    "candidateMachines": None,
    "stageInFiles": None,
    "extension": {"extensionList": {"k": "v"}},
}


def test_a_go_template_reads_into_snake_case_fields():
    template = JobTemplate.model_validate(GO_TEMPLATE)
    assert template.remote_command == "/bin/sh"
    assert template.job_environment == {"X": "1"}
    assert template.submit_as_hold is True
    assert template.accounting_id == "project-a"
    assert template.start_time is None and template.candidate_machines == []
    assert template.extension.extension_list == {"k": "v"}


def test_a_template_round_trips_through_go_json():
    template = JobTemplate.model_validate(GO_TEMPLATE)
    go = json.loads(template.to_go_json())
    assert go["remoteCommand"] == "/bin/sh" and go["accountingString"] == "project-a"
    assert go["extension"] == {"extensionList": {"k": "v"}}
    assert JobTemplate.model_validate(go) == template


def test_template_labels_round_trip_small_and_large():
    small = JobTemplate(job_category="busybox", args=["x"])
    labels = L.encode_template(small)
    assert list(labels) == ["jobTemplate"]  # drmaa2os can read it
    assert L.decode_template(labels) == small
    import hashlib

    # Incompressible values, so gzip cannot fold them into one label.
    noise = {f"K{i}": hashlib.sha512(str(i).encode()).hexdigest() * 4 for i in range(100)}
    large = JobTemplate(job_category="busybox", job_environment=noise)
    labels = L.encode_template(large)
    assert "jobTemplate" not in labels and len(labels) > 1
    assert all(len(k) + len(v) <= L.LABEL_LIMIT for k, v in labels.items())
    assert L.decode_template(labels) == large


def test_job_state_values_names_and_parsing():
    assert [int(s) for s in JobState] == list(range(10))
    assert str(JobState.QUEUED_HELD) == "QueuedHeld"
    assert str(JobState.RUNNING) == "Running"
    for text in ("queuedheld", "QueuedHeld", "QUEUED_HELD", "queued-held", 3, "3"):
        assert JobState.parse(text) == JobState.QUEUED_HELD
    with pytest.raises(ValueError):
        JobState.parse("sleeping")


def test_job_info_dumps_snake_case_for_people_and_go_keys_for_go():
    info = JobInfo(id="j", state=JobState.DONE, exit_status=0, wallclock_time=timedelta(seconds=1.5),
                   finish_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    plain = json.loads(info.model_dump_json())
    assert plain["state"] == "Done" and plain["wallclock_time"] == 1.5 and plain["exit_status"] == 0
    go = json.loads(info.model_dump_json(by_alias=True))
    assert go["state"] == 8 and go["wallclockTime"] == 1_500_000_000 and go["exitStatus"] == 0
    assert JobInfo.model_validate(go) == info


def test_job_info_reads_the_old_go_wallclock_key():
    info = JobInfo.model_validate({"id": "j", "wallockTime": 2_000_000_000, "state": 4,
                                   "terminationSignal": "SIGKILL", "finishTime": "0001-01-01T00:00:00Z"})
    assert info.wallclock_time == timedelta(seconds=2)
    assert info.terminating_signal == "SIGKILL" and info.finish_time is None
