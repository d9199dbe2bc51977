"""Whether a job that died of SIGKILL under a memory limit was OOM-killed,
when the engine says it was not.

The engine's ``State.OOMKilled`` comes from containerd's OOM event, which
under load can arrive after the exit and be lost (seen in CI on containerd 1.6
and 1.7), and the container's cgroup, with its own count, is gone with the
task. What still tells, one call each for every job asked about: the engine's
logged ``oom`` events (docker), then the kernel's log (:mod:`..kernel_log`).
Both roll over, so the first answer is kept in the job's folder of the state
directory; it cannot change, since the kernel logs a kill before the killed
task's exit can be seen.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ...records.labels import folder_of
from ...records.statedir import write_atomically
from ...runner import RunnerError
from .. import kernel_log
from ..base import Observed
from . import parsers

if TYPE_CHECKING:
    from ...records.statedir import StateDir
    from .backend import DockerCompatBackend

log = logging.getLogger(__name__)

#: The kept answer's file in the job's folder: "true" or "false".
KEPT = "oom-killed"


class OomWitness:
    def __init__(self, backend: "DockerCompatBackend") -> None:
        self.backend = backend
        #: Where answers are kept (the tracker's state directory); None: nowhere.
        self.state: "StateDir | None" = None

    def killed(self, suspects: Mapping[str, str], found: Mapping[str, Observed]) -> set[str]:
        """Which of ``suspects`` (job ID → the engine's container ID) were
        OOM-killed; ``found`` holds what ``inspect`` said of each."""
        answers = {job_id: kept for job_id in suspects if (kept := self._kept(job_id, found)) is not None}
        ask = {engine_id: job_id for job_id, engine_id in suspects.items() if job_id not in answers}
        if ask:
            told = self._ask(ask, found)
            for job_id, killed in told.items():
                self._keep(job_id, found, killed)
            answers.update(told)
        return {job_id for job_id, killed in answers.items() if killed}

    def _ask(self, ask: Mapping[str, str], found: Mapping[str, Observed]) -> dict[str, bool]:
        """The answers known now (job ID → killed): the engine's events, then
        the kernel's log; nothing for those neither can tell."""
        told = dict.fromkeys(self._logged(ask, found), True)
        unsure = {engine_id: job_id for engine_id, job_id in ask.items() if job_id not in told}
        if not unsure:
            return told
        try:
            done = self.backend.runner.run(list(kernel_log.ARGV), timeout=self.backend.timeout)
        except RunnerError as exc:  # no dmesg, or it hung: not known
            log.info("the kernel log could not be read (%s): OOM kills are the engine's view", exc)
            return told
        if done.exit_code != 0:  # kernel.dmesg_restrict, without the right to read it
            log.info("the kernel log could not be read (%s): OOM kills are the engine's view",
                     done.stderr.strip() or f"exit code {done.exit_code}")
            return told
        in_log = kernel_log.oom_killed(done.stdout, unsure)
        return {**told, **{job_id: engine_id in in_log for engine_id, job_id in unsure.items()}}

    def _logged(self, ask: Mapping[str, str], found: Mapping[str, Observed]) -> set[str]:
        """The jobs the engine logged an ``oom`` event for while they ran."""
        backend = self.backend
        starts = [task.started_at for job_id in ask.values()
                  if (task := found[job_id].task) is not None and task.started_at is not None]
        if not backend.flavour.oom_events or not starts:
            return set()
        argv = backend.commands.oom_events(ask, int(min(starts).timestamp()) - 1, int(time.time()))
        done = backend._run(argv, allow_failure=True)
        if done.exit_code != 0:
            return set()
        events = [parsers.parse_event(argv, line) for line in done.stdout.splitlines() if line.strip()]
        return {ask[cid] for event in events if (cid := event.payload.get("container_id")) in ask}

    def _path(self, job_id: str, found: Mapping[str, Observed]) -> Path | None:
        return None if self.state is None else self.state.job_dir(folder_of(job_id, found[job_id].info.labels)) / KEPT

    def _kept(self, job_id: str, found: Mapping[str, Observed]) -> bool | None:
        path = self._path(job_id, found)
        try:
            return None if path is None else {"true": True, "false": False}.get(path.read_text())
        except OSError:
            return None

    def _keep(self, job_id: str, found: Mapping[str, Observed], killed: bool) -> None:
        if self.state is None:
            return
        try:
            self.state.make_job_dir(folder_of(job_id, found[job_id].info.labels))
            write_atomically(self._path(job_id, found), "true" if killed else "false")
        except OSError as exc:  # asked again next time
            log.warning("whether job %s was OOM-killed could not be kept: %s", job_id, exc)
