"""A private containerd for tests and demos.

Runs as root in the background with its own root, state and socket under a
temporary directory, so it never sees or touches the host's containerd. On
stop it deletes every task and container it holds (so no shim outlives it),
unmounts what is left and removes the directory.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .busybox_image import DEFAULT_REF, build_busybox_archive

CONFIG = """version = 2
# The CRI plugin wants CNI and is not needed for ctr: skipping it halves start-up.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
"""


class PrivateContainerd:
    def __init__(self, containerd: str = "containerd", ctr: str = "ctr", base: str | None = None) -> None:
        self.containerd = shutil.which(containerd) or containerd
        self.ctr = shutil.which(ctr) or ctr
        # Unix socket paths are limited to 108 bytes: keep the directory short.
        self.dir = Path(tempfile.mkdtemp(prefix="ctd-", dir=base or "/tmp"))
        self.address = str(self.dir / "containerd.sock")
        self.log_path = self.dir / "containerd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def ctr_argv(self, *args: str, namespace: str = "default") -> list[str]:
        return [self.ctr, "--address", self.address, "--namespace", namespace, *args]

    def _ctr(self, *args: str, namespace: str = "default", check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.ctr_argv(*args, namespace=namespace), capture_output=True, text=True,
                              timeout=60, check=check)

    def start(self, timeout: float = 30.0) -> "PrivateContainerd":
        config = self.dir / "config.toml"
        config.write_text(CONFIG)
        log = open(self.log_path, "ab")  # a restart appends
        self._proc = subprocess.Popen(
            [self.containerd, "--config", str(config), "--root", str(self.dir / "root"),
             "--state", str(self.dir / "state"), "--address", self.address],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"containerd exited at start-up: {self.log_path.read_text()[-2000:]}")
            if os.path.exists(self.address) and self._ctr("version", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"containerd did not answer within {timeout} s")

    def version(self) -> str:
        out = self._ctr("version").stdout
        server = out.split("Server:", 1)[1]
        return server.split("Version:", 1)[1].split()[0]

    def import_busybox(self, ref: str = DEFAULT_REF, namespace: str = "default",
                       entrypoint: list[str] | None = None, cmd: list[str] | None = None) -> str:
        archive = build_busybox_archive(self.dir / f"image-{abs(hash((ref, namespace)))}.tar", ref=ref,
                                        entrypoint=entrypoint, cmd=cmd)
        self._ctr("images", "import", str(archive), namespace=namespace)
        archive.unlink()
        return ref

    def clean_namespace(self, namespace: str) -> None:
        """Kill and delete every task and container of ``namespace``."""
        tasks = self._ctr("tasks", "list", "--quiet", namespace=namespace, check=False).stdout.split()
        for task in tasks:
            self._ctr("tasks", "kill", "--signal", "SIGKILL", task, namespace=namespace, check=False)
        deadline = time.monotonic() + 10
        while tasks and time.monotonic() < deadline:
            self._ctr("tasks", "delete", *tasks, namespace=namespace, check=False)
            tasks = self._ctr("tasks", "list", "--quiet", namespace=namespace, check=False).stdout.split()
            if tasks:
                time.sleep(0.2)
        containers = self._ctr("containers", "list", "--quiet", namespace=namespace, check=False).stdout.split()
        if containers:
            self._ctr("containers", "delete", *containers, namespace=namespace, check=False)

    def stop_daemon(self) -> None:
        """Stop the daemon alone, as a host's restart of containerd does: its
        shims and their tasks go on running, its state stays."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def restart(self) -> "PrivateContainerd":
        """Stop the daemon alone and start it again on the same state."""
        self.stop_daemon()
        return self.start()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            namespaces = self._ctr("namespaces", "list", "--quiet", check=False).stdout.split()
            for namespace in namespaces:
                self.clean_namespace(namespace)
            self.stop_daemon()
        self._unmount_below(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _unmount_below(path: Path) -> None:
        try:
            mounts = Path("/proc/self/mounts").read_text().splitlines()
        except OSError:
            return
        targets = [line.split()[1] for line in mounts if line.split()[1].startswith(str(path))]
        for target in sorted(targets, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)

    def __enter__(self) -> "PrivateContainerd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
