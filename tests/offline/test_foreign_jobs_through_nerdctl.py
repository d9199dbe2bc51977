"""A job submitted through ctr, finished through the nerdctl backend.

nerdctl shows the logs only of containers it created; asked for a ctr-made
one, nerdctl 2.1.6 fails (its exact words below, seen while recording
fixtures/nerdctl/2.1.6/). The live suite cannot run nerdctl, so this drives
the real backend and tracker over a runner that answers as nerdctl did: the
inspect output is a real recording's, with what only nerdctl-made containers
carry taken away, as ctr would have made it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pytest

from containerd_tracker_cli import ContainerdJobTracker, InternalError, JobState
from containerd_tracker_cli.records import labels as L
from containerd_tracker_cli.runner import Cassette, Completed, Runner, Stream

RECORDING = Path(__file__).resolve().parents[2] / "fixtures" / "nerdctl" / "2.1.6" / "containerd-2.1.9+unknown" \
    / "lifecycle.json"
LOGS_REFUSED = ('time="2026-11-25T16:40:12Z" level=fatal msg="invalid LogViewOptions provided (&{ContainerID: '
                'Namespace: Follow:false Timestamps:false Tail:0 Since: Until: Details:false DatastoreRootPath:'
                '/var/lib/nerdctl/e08ab9a2}): log viewing options require a ContainerID and Namespace"\n')
ADDRESS = "/replay/containerd.sock"


def _ended_ctr_made(state_dir: Path) -> tuple[str, dict]:
    """The recording's last inspect of the ended job, as if ctr had made it."""
    answers = [i for i in Cassette.load(RECORDING).expanded({"state_dir": str(state_dir), "address": ADDRESS})
               if i["kind"] == "run" and "inspect" in i["argv"] and i["exit_code"] == 0]
    record = json.loads(answers[-1]["stdout"])[0]
    assert record["State"]["Status"] == "exited" and record["State"]["ExitCode"] == 3
    labels = record["Config"]["Labels"]
    for key in [k for k in labels if k.startswith("nerdctl/")]:
        del labels[key]
    record["LogPath"] = ""
    record["Name"] = record["Id"] = labels[L.KEY]  # ctr takes the tracker's ID as it is
    return labels[L.KEY], record


class AsNerdctl(Runner):
    """Answers the nerdctl commands the tracker asks, as nerdctl 2.1.6 did."""

    def __init__(self, record: dict) -> None:
        self.record = record
        self.asked: list[list[str]] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        self.asked.append(list(argv))
        command = argv[5:7]
        if command == ["container", "inspect"]:
            gone = self.record is None
            return Completed(tuple(argv), 1 if gone else 0, "[]" if gone else json.dumps([self.record]),
                             "no such container" if gone else "")
        if command == ["container", "logs"]:
            return Completed(tuple(argv), 1, "", LOGS_REFUSED)
        if command == ["container", "rm"]:
            self.record = None
            return Completed(tuple(argv), 0, argv[-1] + "\n", "")
        if command == ["container", "ls"] or argv[5:6] == ["ps"]:
            return Completed(tuple(argv), 0, "", "")
        raise AssertionError(f"not expected here: {' '.join(argv)}")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError(f"no stream expected: {' '.join(argv)}")


def test_a_ctr_made_job_ends_through_nerdctl_with_its_output_and_status(tmp_path):
    job_id, record = _ended_ctr_made(tmp_path / "state")
    output = Path(record["Config"]["Labels"][L.STDOUT])
    output.parent.mkdir(parents=True)
    output.write_text("written by the ctr tracker's logger\n")
    runner = AsNerdctl(record)
    tracker = ContainerdJobTracker("scenario-lifecycle", backend="nerdctl", address=ADDRESS, runner=runner,
                                   state_dir=tmp_path / "state", job_owner="scenario-owner")

    tracker.wait(job_id, 5)
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status) == (JobState.FAILED, 3) and info.finish_time is not None
    assert output.read_text() == "written by the ctr tracker's logger\n"  # not copied again, not lost
    assert not [argv for argv in runner.asked if argv[5:7] == ["container", "logs"]]
    tracker.delete_job(job_id)
    assert any(argv[5:7] == ["container", "rm"] for argv in runner.asked)


def test_a_nerdctl_made_job_still_has_its_output_copied(tmp_path):
    """The other side of the rule: a container nerdctl made (its own logging
    label present) is read through ``container logs``, whose failure is loud."""
    job_id, record = _ended_ctr_made(tmp_path / "state")
    record["Config"]["Labels"]["nerdctl/log-uri"] = "binary:///usr/local/bin/nerdctl?_NERDCTL_INTERNAL_LOGGING=x"
    Path(record["Config"]["Labels"][L.STDOUT]).parent.mkdir(parents=True)
    runner = AsNerdctl(record)
    tracker = ContainerdJobTracker("scenario-lifecycle", backend="nerdctl", address=ADDRESS, runner=runner,
                                   state_dir=tmp_path / "state", job_owner="scenario-owner")
    with pytest.raises(InternalError, match="log viewing options require a ContainerID"):
        tracker.job_info(job_id)
    assert [argv for argv in runner.asked if argv[5:7] == ["container", "logs"]]


# -- the other direction: a job nerdctl made, finished through ctr ------------------------------

CTR_RECORDING = Path(__file__).resolve().parents[2] / "fixtures" / "ctr" / "2.1.9+unknown" / "lifecycle.json"


class AsCtr(Runner):
    """ctr 2.1.9's answers from a real recording, about a container nerdctl
    made: its 64-hex ID and nerdctl's labels (from the real nerdctl 2.1.6
    recording of the same scenario) in place of the ctr-made one's."""

    def __init__(self, state_dir: Path) -> None:
        values = {"state_dir": str(state_dir), "address": ADDRESS, "daemon_dir": "/replay"}
        recorded = {" ".join(i["argv"][7:9]): i for i in reversed(Cassette.load(CTR_RECORDING).expanded(values))
                    if i["kind"] == "run" and i["exit_code"] == 0}
        nerdctl_made = json.loads(next(
            i["stdout"] for i in Cassette.load(RECORDING).expanded({"state_dir": str(state_dir), "address": ADDRESS})
            if i["kind"] == "run" and "inspect" in i["argv"] and i["exit_code"] == 0))[0]
        self.id = nerdctl_made["Id"]
        labels = {k: v for k, v in nerdctl_made["Config"]["Labels"].items() if k != L.LOG_URI}
        self.key = labels[L.KEY]
        ctr_id = json.loads(recorded["containers info"]["stdout"])["ID"]
        info = json.loads(recorded["containers info"]["stdout"])
        info.update(ID=self.id, Labels=labels)
        shim = json.loads(recorded["shim --id"]["stdout"])
        shim["id"] = self.id
        self.answers = {
            "tasks list": f"{'TASK':<68}{'PID':<9}STATUS    \n{self.id:<68}{'19357':<9}STOPPED\n",
            "containers info": json.dumps(info, indent=4),
            "shim --id": json.dumps(shim, indent=4),
            "tasks metrics": recorded["tasks metrics"]["stdout"],
        }
        self.delete_warning = recorded["tasks delete"]["stderr"].replace(ctr_id, self.id)
        self.asked: list[list[str]] = []
        self.gone = False

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        self.asked.append(list(argv))
        command = " ".join(argv[7:9])
        if self.gone and command == "containers info":
            return Completed(tuple(argv), 1, "", f'ctr: container "{self.id}" in namespace "default": not found\n')
        if command in self.answers:
            return Completed(tuple(argv), 0, self.answers[command], "")
        if command == "tasks delete":
            self.answers["tasks list"] = self.answers["tasks list"].splitlines()[0] + "\n"
            return Completed(tuple(argv), 0, "", self.delete_warning)
        if command == "containers label":  # as containerd does: the record now carries them
            info = json.loads(self.answers["containers info"])
            info["Labels"].update(arg.split("=", 1) for arg in argv[10:])
            self.answers["containers info"] = json.dumps(info, indent=4)
            return Completed(tuple(argv), 0, "", "")
        if command == "containers delete":
            self.gone = True
            return Completed(tuple(argv), 0, "", "")
        raise AssertionError(f"not expected here: {' '.join(argv)}")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError(f"no stream expected: {' '.join(argv)}")


def test_a_nerdctl_made_job_ends_through_ctr_with_its_status_and_times(tmp_path):
    """wait, info (exit status 3, finish time from the shim), delete — as
    through nerdctl. Its output stays in nerdctl's own log: ctr cannot read it
    (README, Backends), and no output is made up."""
    runner = AsCtr(tmp_path / "state")
    tracker = ContainerdJobTracker("scenario-lifecycle", backend="ctr", address=ADDRESS, runner=runner,
                                   state_dir=tmp_path / "state", job_owner="scenario-owner")
    tracker.wait(runner.id, 5)
    info = tracker.job_info(runner.id)
    assert (info.state, info.exit_status) == (JobState.FAILED, 3) and info.finish_time is not None
    labelled = [argv for argv in runner.asked if argv[7:9] == ["containers", "label"]]
    assert labelled and any("containerd-tracker/exit-status=3" in argv for argv in labelled[0])  # made durable
    tracker.delete_job(runner.id)
    assert ["containers", "delete"] in [argv[7:9] for argv in runner.asked]
    assert not (tmp_path / "state" / "jobs" / "default" / runner.key / "output").exists()
