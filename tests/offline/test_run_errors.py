"""One call creates and starts a job (ctr run --detach, docker container run
--detach): a refused *start* is the job's fault (InvalidArgumentError), a
failed *creation* is not and keeps its own type. The daemon cannot be made to
run out of disk on demand, so the CLI's answers are canned (its real words)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytest

from containerd_tracker_cli import ContainerdJobTracker, InternalError, InvalidArgumentError, JobTemplate
from containerd_tracker_cli.runner import Cassette, Completed, Runner, Stream

RECORDINGS = Path(__file__).resolve().parents[2] / "fixtures" / "ctr" / "1.6.20~ds1"
CREATE_FAILED = ('ctr: failed to prepare extraction snapshot "extract-1-sha256:abc": write /var/lib/containerd/'
                 'io.containerd.metadata.v1.bolt/meta.db: no space left on device\n')
START_FAILED = ('ctr: failed to create shim task: OCI runtime create failed: runc create failed: unable to start '
                'container process: error during container init: chdir to cwd ("/nowhere") set in config.json '
                'failed: no such file or directory: unknown\n')


class Ctr(Runner):
    """ctr answering as it did in a real recording, but ``run`` fails as told."""

    def __init__(self, run_stderr: str) -> None:
        # A job is submitted without looking its image up; an array looks it up once.
        recorded = [i for name in ("lifecycle.json", "array_job.json")
                    for i in Cassette.load(RECORDINGS / name).expanded() if i["kind"] == "run"]
        self.images = next(i["stdout"] for i in recorded if i["argv"][7:9] == ["images", "list"])
        self.tasks = next(i["stdout"] for i in recorded if i["argv"][7:9] == ["tasks", "list"]).splitlines()[0]
        self.run_stderr = run_stderr

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        command = list(argv[7:9])
        if command == ["images", "list"]:
            return Completed(tuple(argv), 0, self.images, "")
        if command[0] == "run":
            return Completed(tuple(argv), 1, "", self.run_stderr)
        if command == ["tasks", "list"]:
            return Completed(tuple(argv), 0, self.tasks + "\n", "")
        if command == ["containers", "list"]:
            return Completed(tuple(argv), 0, "", "")
        if command in (["containers", "info"], ["containers", "delete"]):
            return Completed(tuple(argv), 1, "", 'ctr: container "x" in namespace "default": not found\n')
        raise AssertionError(f"not expected: {' '.join(argv)}")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError("no stream expected")


@pytest.mark.parametrize("stderr, error, words", [
    (START_FAILED, InvalidArgumentError, "could not be started"),
    (CREATE_FAILED, InternalError, "no space left on device"),
])
def test_a_refused_start_is_the_jobs_fault_a_failed_creation_is_not(tmp_path, stderr, error, words):
    tracker = ContainerdJobTracker("s", backend="ctr", address="/replay.sock", runner=Ctr(stderr), state_dir=tmp_path)
    with pytest.raises(error, match=words) as caught:
        tracker.add_job(JobTemplate(job_category="docker.io/library/busybox:latest", remote_command="true"))
    if error is InternalError:
        assert not isinstance(caught.value, InvalidArgumentError)  # not blamed on the job
    jobs = tmp_path / "jobs" / "default"
    assert not jobs.exists() or not any(jobs.iterdir())  # nothing left behind
