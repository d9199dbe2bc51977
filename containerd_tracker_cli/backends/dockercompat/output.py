"""docker's and nerdctl's way of getting a job's output into files: the CLI
keeps the streams (``logs``), and they are copied into the files the
template names once the job has ended — once, by whichever process claims
the copy first."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ...drmaa2.errors import InternalError
from ...records import labels as L
from ...records.statedir import StateDir
from ..base import OutputDelivery

if TYPE_CHECKING:
    from .backend import DockerCompatBackend

DONE = "output-collected"
CLAIM = "output-collecting"


class CopiedOutput(OutputDelivery):
    def __init__(self, backend: "DockerCompatBackend", state: StateDir) -> None:
        self.backend = backend
        self.state = state

    def log_uri(self, key: str, stdout: Path, stderr: Path) -> None:
        return None  # the CLI's own logging keeps the streams

    def settle(self, job_id: str, key: str, labels: Mapping[str, str], task_gone: bool) -> None:
        """Copy what the CLI kept into the job's output files; a failure
        leaves the claim free, so the next reader copies again."""
        done = self.state.job_dir(key) / DONE
        claim = done.with_name(CLAIM)
        try:
            self.state.make_job_dir(key)
            if done.exists():
                return
            with open(claim, "x"):
                pass
        except FileExistsError:  # another process is at it
            return
        except OSError as exc:
            raise InternalError(f"cannot record the output of job {job_id!r}: {exc}") from exc
        try:
            stdout, stderr = self.backend.read_output(job_id)
            out_path = labels.get(L.STDOUT) or str(self.state.default_output(key))
            err_path = labels.get(L.STDERR) or out_path
            with open(out_path, "a") as out:
                out.write(stdout)
            with open(err_path, "a") as err:
                err.write(stderr)
            claim.rename(done)  # only now: a failure leaves it to be done again
        except OSError as exc:
            claim.unlink(missing_ok=True)
            raise InternalError(f"cannot write the output of job {job_id!r}: {exc}") from exc
        except BaseException:
            claim.unlink(missing_ok=True)
            raise
