"""Whether a job that died of SIGKILL under a memory limit was OOM-killed,
when the engine says it was not.

The engine's ``State.OOMKilled`` comes from containerd's OOM event, which
under load can arrive after the exit and be lost (seen in CI on containerd 1.6
and 1.7), and the container's cgroup, with its own count, is gone with the
task. What still tells, one call each for all the jobs of a read: the engine's
logged ``oom`` events (docker), then the kernel's log (:mod:`..kernel_log`).
Both roll over, so the first answer is kept in the job's folder of the state
directory (removed with the job). It cannot change later: the kernel logs a
kill before the killed task's exit can be seen, and a lost event never comes
back. Where the kernel's log cannot be read, the engine's answer is kept.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ...drmaa2.errors import DrmaaError
from ...records.labels import folder_of
from ...records.statedir import write_atomically
from ...runner import CommandTimeout, RunnerError
from .. import kernel_log
from ..base import Observed
from ..errors import CliParseError
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
        #: False once the kernel's log could not be read: not asked again.
        self.kernel_log_readable = True

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
        the kernel's log; nothing for a job neither can tell about."""
        logged = self._logged(ask, found)
        told = dict.fromkeys(logged or (), True)
        unsure = {engine_id: job_id for engine_id, job_id in ask.items() if job_id not in told}
        if not unsure:
            return told
        try:
            in_log = self._in_kernel_log(unsure)
        except CommandTimeout as exc:  # once: asked again next time, nothing of it kept
            log.info("the kernel log was not read in time (%s): asked again next time", exc)
            return told
        if in_log is None:  # the engine's answer, if it gave one, is all there is
            return told if logged is None else {**told, **dict.fromkeys(unsure.values(), False)}
        return {**told, **{job_id: engine_id in in_log for engine_id, job_id in unsure.items()}}

    def _logged(self, ask: Mapping[str, str], found: Mapping[str, Observed]) -> set[str] | None:
        """The jobs the engine logged an ``oom`` event for while they ran;
        None where it cannot say (nerdctl keeps no past events; a failed call)."""
        backend = self.backend
        starts = [task.started_at for job_id in ask.values()
                  if (task := found[job_id].task) is not None and task.started_at is not None]
        if not backend.flavour.oom_events or not starts:
            return None
        argv = backend.commands.oom_events(ask, int(min(starts).timestamp()) - 1, int(time.time()))
        try:
            done = backend._run(argv, allow_failure=True)
        except DrmaaError as exc:  # best effort: the kernel's log may still tell
            log.info("the engine's oom events could not be read: %s", exc)
            return None
        if done.exit_code != 0:
            return None
        logged = set()
        for line in filter(str.strip, done.stdout.splitlines()):
            try:
                event = parsers.parse_event(argv, line)
            except CliParseError:  # not an event (a warning): it tells nothing
                continue
            if (cid := event.payload.get("container_id")) in ask:
                logged.add(ask[cid])
        return logged

    def _in_kernel_log(self, unsure: Mapping[str, str]) -> set[str] | None:
        """The engine IDs the kernel's log names as OOM-killed; None when it
        cannot be read (remembered: not asked again by this process). A
        dmesg that does not answer in time raises CommandTimeout."""
        if not self.kernel_log_readable:
            return None
        try:
            done = self.backend.runner.run_private(list(kernel_log.ARGV), timeout=self.backend.timeout,
                                                   keep=kernel_log.relevant)
        except CommandTimeout:
            raise
        except RunnerError as exc:  # no dmesg, or it cannot be started
            done, why = None, str(exc)
        else:
            why = done.stderr.strip() or f"exit code {done.exit_code}"
        if done is None or done.exit_code != 0:  # e.g. kernel.dmesg_restrict without the right
            log.info("the kernel log could not be read (%s): OOM kills are the engine's view", why)
            self.kernel_log_readable = False
            return None
        return kernel_log.oom_killed(done.stdout, unsure)

    def _path(self, job_id: str, found: Mapping[str, Observed]) -> Path | None:
        """The answer's file, in the job's folder; None when the tracker keeps
        nothing, or this state directory has no folder for the job (made
        elsewhere, or deleted meanwhile): never a folder made for it here."""
        if self.state is None:
            return None
        folder = self.state.job_dir(folder_of(job_id, found[job_id].info.labels))
        return folder / KEPT if folder.is_dir() else None

    def _kept(self, job_id: str, found: Mapping[str, Observed]) -> bool | None:
        path = self._path(job_id, found)
        try:
            return None if path is None else {"true": True, "false": False}.get(path.read_text())
        except (OSError, ValueError):  # unreadable or damaged: asked again
            return None

    def _keep(self, job_id: str, found: Mapping[str, Observed], killed: bool) -> None:
        path = self._path(job_id, found)
        if path is None:
            return
        try:
            write_atomically(path, "true" if killed else "false", make_parent=False)
        except OSError as exc:  # asked again next time
            log.warning("whether job %s was OOM-killed could not be kept: %s", job_id, exc)
