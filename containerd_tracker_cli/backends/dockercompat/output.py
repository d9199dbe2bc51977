"""docker's and nerdctl's way of getting a job's output into files: the CLI
keeps the streams (``logs``), and they are copied into the files the
template names once the job has ended — once, by whichever process takes
the copy's lock first."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ...drmaa2.errors import InternalError, JobNotFoundError
from ...records.statedir import StateDir
from ..base import OutputDelivery
from ..errors import ContainerNotFound

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
        """Copy what the CLI kept into the job's output files, once. The copy
        runs under an flock on the job's claim file: a second reader waits for
        it (so the output is complete before anyone is told the job ended), and
        a copier that dies mid-way frees it (the next reader copies again — a
        part it had appended may then appear twice, never go missing)."""
        done = self.state.job_dir(key) / DONE
        if done.exists():
            return
        if not self.backend.flavour.keeps_streams(labels):
            # Not made by this CLI (a job submitted through ctr): the tracker's
            # logger wrote its files as it ran; there is nothing here to copy.
            return
        try:
            self.state.make_job_dir(key)
            fd = os.open(done.with_name(CLAIM), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise InternalError(f"cannot record the output of job {job_id!r}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if done.exists():
                return  # copied by the process we waited for
            try:
                stdout, stderr = self.backend.read_output(job_id)
            except ContainerNotFound:
                raise JobNotFoundError(f"job {job_id!r} was deleted meanwhile by another process") from None
            out_path, err_path = self.state.output_paths(key, labels)
            with open(out_path, "a") as out:
                out.write(stdout)
            with open(err_path, "a") as err:
                err.write(stderr)
            done.touch()  # only now: a failure leaves it to be done again
        except OSError as exc:
            raise InternalError(f"cannot write the output of job {job_id!r}: {exc}") from exc
        finally:
            os.close(fd)
