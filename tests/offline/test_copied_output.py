"""docker/nerdctl output is copied from the CLI's logs once a job has ended:
a copier that died mid-way must not keep the output from ever arriving."""
from __future__ import annotations

from containerd_tracker_cli.backends.dockercompat.flavours import DOCKER
from containerd_tracker_cli.backends.dockercompat.output import CLAIM, DONE, CopiedOutput
from containerd_tracker_cli.records import labels as L
from containerd_tracker_cli.records.statedir import StateDir


class Logs:
    """What ``docker logs`` kept (a process killed mid-copy cannot be made on demand)."""

    flavour = DOCKER

    def __init__(self) -> None:
        self.reads = 0

    def read_output(self, job_id: str) -> tuple[str, str]:
        self.reads += 1
        return "out\n", "err\n"


def test_the_claim_of_a_copier_that_died_does_not_block_the_copy(tmp_path):
    state = StateDir(tmp_path, "default")
    job_dir = state.make_job_dir("job-1")
    (job_dir / CLAIM).write_text("")  # left by a process killed while copying
    out, err = tmp_path / "job.out", tmp_path / "job.err"
    labels = {L.STDOUT: str(out), L.STDERR: str(err)}
    logs = Logs()
    CopiedOutput(logs, state).settle("job-1", "job-1", labels, task_gone=True)  # type: ignore[arg-type]
    assert (out.read_text(), err.read_text()) == ("out\n", "err\n")
    assert (job_dir / DONE).exists()
    CopiedOutput(logs, state).settle("job-1", "job-1", labels, task_gone=True)  # type: ignore[arg-type]
    assert logs.reads == 1 and out.read_text() == "out\n"  # once
