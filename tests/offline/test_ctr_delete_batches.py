"""``ctr tasks delete`` deletes the tasks it is given one after another, each
waiting for its shim: 300 in one call outran the call timeout in CI. Deletes go
twenty per call, side by side, and every call's answer is kept."""
from __future__ import annotations

import threading
from typing import Sequence

from containerd_tracker_cli.backends.ctr.backend import CtrBackend
from containerd_tracker_cli.backends.errors import DaemonUnreachable, TaskNotFound
from containerd_tracker_cli.runner import CommandTimeout, Completed, Runner, Stream


class Daemon(Runner):
    """Deletes every task (exit status: its number % 3) and container, except
    job-0007 (already gone); a call naming one of ``hangs`` gets no answer.
    Keeps what each call named."""

    concurrency = 4

    def __init__(self, hangs: frozenset[str] = frozenset()) -> None:
        self.hangs = hangs
        self.asked: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        ids = [arg for arg in argv if arg.startswith("job-")]
        with self.lock:
            self.asked.append((argv[argv.index(ids[0]) - 2], ids))
        if self.hangs & set(ids):
            raise CommandTimeout(argv, timeout)
        lines = []
        for cid in ids:
            if cid == "job-0007":
                lines.append(f'ctr: container "{cid}" in namespace "default": not found')
            elif argv[argv.index(ids[0]) - 2] == "tasks" and int(cid[4:]) % 3:
                lines.append(f'time="2026-11-26T04:33:28Z" level=warning msg="task {cid} exit with non-zero '
                             f'exit code {int(cid[4:]) % 3}"')
        return Completed(tuple(argv), 1 if "job-0007" in ids else 0, "", "\n".join(lines) + "\n")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError("no stream expected")


def _backend(daemon: Daemon) -> CtrBackend:
    return CtrBackend(daemon, "/run/containerd/containerd.sock", "default")


def test_three_hundred_task_deletes_go_twenty_per_call_and_every_status_is_kept():
    daemon = Daemon()
    ids = [f"job-{n:04d}" for n in range(300)]
    deleted = _backend(daemon).delete_tasks(ids + ids[:5])  # named twice: deleted once
    assert sorted(len(call) for _, call in daemon.asked) == [20] * 15
    assert sorted(cid for _, call in daemon.asked for cid in call) == ids
    assert deleted.codes == {cid: int(cid[4:]) % 3 for cid in ids if cid != "job-0007"}
    assert list(deleted.failed) == ["job-0007"]
    assert isinstance(deleted.failed["job-0007"], TaskNotFound)


def test_container_deletes_go_twenty_per_call_and_the_missing_are_told():
    daemon = Daemon()
    ids = [f"job-{n:04d}" for n in range(45)]
    assert _backend(daemon).delete_containers(ids) == {"job-0007"}
    assert sorted(len(call) for _, call in daemon.asked) == [5, 20, 20]
    assert {verb for verb, _ in daemon.asked} == {"containers"}


def test_a_call_that_fails_keeps_the_statuses_the_others_read():
    """Its tasks are failed (they stay, their exits with them) and its error
    returned; the other calls' statuses, which exist nowhere else once their
    tasks are gone, stand."""
    daemon = Daemon(hangs=frozenset({"job-0045"}))
    ids = [f"job-{n:04d}" for n in range(60)]
    deleted = _backend(daemon).delete_tasks(ids)
    assert set(deleted.failed) == {f"job-{n:04d}" for n in range(40, 60)} | {"job-0007"}
    assert "did not answer" in str(deleted.failed["job-0045"])
    assert len(deleted.errors) == 1 and isinstance(deleted.errors[0], DaemonUnreachable)  # for the caller to raise
    assert deleted.codes == {cid: int(cid[4:]) % 3 for cid in ids[:40] if cid != "job-0007"}
