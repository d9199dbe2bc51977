"""A daemon that is gone, one that hangs, a CLI that is missing."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from containerd_tracker_cli import ContainerdJobTracker, DrmCommunicationError
from containerd_tracker_cli.backends.ctr import CtrBackend
from containerd_tracker_cli.runner import LiveRunner

from .helpers import template


def test_an_unreachable_daemon_is_a_communication_error(tmp_path, containerd):
    tracker = ContainerdJobTracker("faults", address=str(tmp_path / "absent.sock"), state_dir=tmp_path,
                                   cli_timeout=60)
    started = time.monotonic()
    with pytest.raises(DrmCommunicationError) as caught:
        tracker.list_jobs()
    # ctr's own connect timeout answers, long before the 60 s kill would.
    assert time.monotonic() - started < 30
    assert "cannot reach containerd" in str(caught.value)
    assert "absent.sock" in str(caught.value)
    assert caught.value.argv is not None


@pytest.fixture
def silent_socket(tmp_path: Path):
    """A unix socket that accepts connections and never answers: a hung daemon."""
    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_daemon_gives_a_communication_error_not_a_hang(tmp_path, silent_socket, containerd):
    tracker = ContainerdJobTracker("faults", address=str(silent_socket), state_dir=tmp_path, cli_timeout=2)
    started = time.monotonic()
    # ctr's connect timeout (half the call timeout) or our kill: either way no hang.
    with pytest.raises(DrmCommunicationError, match="cannot reach containerd|did not answer within 2 s"):
        tracker.add_job(template("true"))
    assert time.monotonic() - started < 10


def test_a_missing_ctr_is_a_communication_error_when_the_backend_is_made(tmp_path, containerd):
    with pytest.raises(DrmCommunicationError, match="'ctr-not-installed' is not installed"):
        CtrBackend(LiveRunner(), containerd.address, "default", executable="ctr-not-installed")


@pytest.mark.parametrize("backend", ["ctr", "docker"])
@pytest.mark.parametrize("how", ["missing", "not executable"])
def test_a_cli_missing_from_path_or_not_executable_fails_when_the_tracker_is_made(tmp_path, containerd, backend,
                                                                                  how, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if how == "not executable":
        (bindir / backend).write_text("#!/bin/sh\n")
        (bindir / backend).chmod(0o644)
    monkeypatch.setenv("PATH", str(bindir))
    with pytest.raises(DrmCommunicationError, match=f"'{backend}' is not installed, not on PATH or not executable"):
        ContainerdJobTracker("faults", address=containerd.address, backend=backend, state_dir=tmp_path)
    assert not (tmp_path / "jobs").exists()


def test_an_unreachable_docker_engine_is_a_communication_error(tmp_path, dockerd):
    tracker = ContainerdJobTracker("faults", address=f"unix://{tmp_path}/absent.sock", backend="docker",
                                   state_dir=tmp_path, cli_timeout=60)
    with pytest.raises(DrmCommunicationError, match="cannot reach docker") as caught:
        tracker.list_jobs()
    assert "absent.sock" in str(caught.value)
