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

    def __init__(self, run_stderr: str, version: str = "1.7.24~ds1") -> None:
        # A job is submitted without looking its image up; an array looks it up once.
        recorded = [i for name in ("lifecycle.json", "array_job.json")
                    for i in Cassette.load(RECORDINGS / name).expanded() if i["kind"] == "run"]
        self.images = next(i["stdout"] for i in recorded if i["argv"][7:9] == ["images", "list"])
        self.tasks = next(i["stdout"] for i in recorded if i["argv"][7:9] == ["tasks", "list"]).splitlines()[0]
        self.run_stderr = run_stderr
        self.calls: list[str] = []
        self.version = version

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        if list(argv[1:]) == ["--version"]:
            return Completed(tuple(argv), 0, f"ctr github.com/containerd/containerd {self.version}\n", "")
        command = list(argv[7:9])
        self.calls.append(" ".join(command))
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


USER_UNKNOWN = {  # each CLI's real words
    "ctr 1.7": "ctr: mount callback failed on /tmp/containerd-mount440310690: no users found\n",
    "ctr 1.7, group file": ("ctr: mount callback failed on /tmp/containerd-mount3617676884: open "
                            "/tmp/containerd-mount3617676884/etc/group: no such file or directory\n"),
    "ctr 1.6 runtime": ("ctr: failed to create shim task: OCI runtime create failed: containerd-tracker: extension "
                        "'user': user 'nosuch': not found in the container's /etc/passwd: unknown\n"),
}


@pytest.mark.parametrize("stderr", USER_UNKNOWN.values(), ids=USER_UNKNOWN)
def test_a_user_the_image_lacks_is_the_jobs_fault_naming_the_extension(tmp_path, stderr):
    version = "1.6.20~ds1" if "containerd-tracker" in stderr else "1.7.24~ds1"
    tracker = ContainerdJobTracker("s", backend="ctr", address="/replay.sock", runner=Ctr(stderr, version),
                                   state_dir=tmp_path)
    with pytest.raises(InvalidArgumentError, match="extension 'user'"):
        tracker.add_job(JobTemplate(job_category="docker.io/library/busybox:latest", remote_command="id",
                                    extension={"extension_list": {"user": "1000:users"}}))


def test_a_missing_mount_source_named_passwd_is_not_taken_for_a_missing_user(tmp_path):
    stderr = ("ctr: failed to create shim task: OCI runtime create failed: runc create failed: unable to start "
              "container process: error during container init: error mounting \"/srv/etc/passwd\" to rootfs at "
              "\"/data\": stat /srv/etc/passwd: no such file or directory: unknown\n")
    tracker = ContainerdJobTracker("s", backend="ctr", address="/replay.sock", runner=Ctr(stderr), state_dir=tmp_path)
    with pytest.raises(InvalidArgumentError, match="could not be started") as caught:
        tracker.add_job(JobTemplate(job_category="docker.io/library/busybox:latest", remote_command="true"))
    assert "extension 'user'" not in str(caught.value)


def test_a_missing_image_is_looked_up_only_after_ctr_refused_it_and_nothing_is_rolled_back(tmp_path):
    """ctr refuses a run whose image is missing before it makes anything: the
    image is then looked up (and, with pull_policy never, refused)."""
    runner = Ctr('ctr: image "example.com/absent:1": not found\n')
    tracker = ContainerdJobTracker("s", backend="ctr", address="/replay.sock", runner=runner, state_dir=tmp_path,
                                   pull_policy="never")
    with pytest.raises(InvalidArgumentError, match="not present"):
        tracker.add_job(JobTemplate(job_category="example.com/absent:1", remote_command="true"))
    assert runner.calls == ["run --detach", "images list"]
