"""What ctr says when things go wrong, per containerd version: each text is
turned into the right typed error here, live, and recorded (with
``--record-fixtures``) into fixtures/ctr/<version>/stderr/ for the offline
test of every version."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from containerd_tracker_cli.backends.ctr import CtrBackend
from containerd_tracker_cli.backends.errors import ContainerNotFound, DaemonUnreachable
from containerd_tracker_cli.runner import Completed, LiveRunner, Runner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctr"


class Keeping(Runner):
    """A live runner that keeps the last answer, to record its stderr."""

    def __init__(self) -> None:
        self.inner = LiveRunner()
        self.last: Completed | None = None

    def run(self, argv, *, timeout, stdin=None):
        self.last = self.inner.run(argv, timeout=timeout, stdin=stdin)
        return self.last

    def stream(self, argv):
        return self.inner.stream(argv)


CASES: dict[str, tuple[Callable[[CtrBackend], object], type[Exception]]] = {
    "info-of-a-missing-container": (lambda b: b.container_info("absent-job"), ContainerNotFound),
    "kill-of-a-missing-task": (lambda b: b.kill_task("absent-job", "SIGTERM"), ContainerNotFound),
    "list-on-a-missing-socket": (lambda b: b.list_container_ids({"drmaa2": "true"}), DaemonUnreachable),
}


@pytest.mark.parametrize("case", list(CASES))
def test_ctr_error_texts_become_typed_errors(containerd, tmp_path, request, case):
    call, expected = CASES[case]
    address = str(tmp_path / "absent.sock") if "socket" in case else containerd.address
    runner = Keeping()
    backend = CtrBackend(runner, address, "default", executable=containerd.ctr, timeout=20)
    with pytest.raises(expected):
        call(backend)
    assert runner.last is not None and runner.last.exit_code != 0
    if request.config.getoption("--record-fixtures"):
        folder = FIXTURES / containerd.version() / "stderr"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{case}.txt").write_text(runner.last.stderr.replace(address, "<<address>>"))


def test_a_delete_of_containers_already_gone_names_them(containerd, tracker_free_backend):
    """delete_job tells "deleted by another process" from this text (same in 1.6–2.1)."""
    backend = tracker_free_backend
    assert backend.delete_containers(["absent-one", "absent-two"]) == {"absent-one", "absent-two"}


@pytest.fixture
def tracker_free_backend(containerd) -> CtrBackend:
    return CtrBackend(LiveRunner(), containerd.address, "default", executable=containerd.ctr, timeout=20)


def test_ctrs_own_version_is_read_without_a_daemon(containerd, tmp_path, request):
    """Read only when a value ctr 2.x would trim is about to be passed."""
    runner = Keeping()
    backend = CtrBackend(runner, str(tmp_path / "no-daemon.sock"), "default", executable=containerd.ctr)
    major, minor = backend._client_version()
    assert containerd.version().lstrip("v").startswith(f"{major}.{minor}.")
    if request.config.getoption("--record-fixtures"):
        assert runner.last is not None
        (FIXTURES / containerd.version() / "client-version.txt").write_text(runner.last.stdout)
