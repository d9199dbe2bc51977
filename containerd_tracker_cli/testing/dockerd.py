"""A private Docker engine on top of a :class:`PrivateContainerd`, for tests.

The Docker backend drives the ``docker`` CLI. To test it without touching the
host we run Debian's ``dockerd`` (docker.io 20.10) as root against the private
containerd's socket (``--containerd``), with its data-root, exec-root, pid
file and API socket all under one short temporary directory. Its containers
then show up in that containerd under namespace ``moby``, which lets tests
compare what docker says with what containerd says.

Networking is switched off (``--bridge=none``, no iptables, no IP forwarding,
no userland proxy) so the engine changes nothing on the host's network stack,
and ``--config-file`` points at an empty file so a host
``/etc/docker/daemon.json`` cannot change its behaviour. (dockerd 20.10 still
creates ``/etc/docker/key.json``: it has no flag to move it.)

Docker keeps its own image store, separate from containerd's, and 20.10's
``docker load`` does not read OCI-layout archives; :func:`oci_to_docker_archive`
turns the archive of :func:`build_busybox_archive` into the ``docker save``
format that it does read.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from .busybox_image import DEFAULT_REF, build_busybox_archive
from .daemon import PrivateContainerd

#: Storage drivers tried in order when none is given: overlay2 is what real
#: installations use; vfs (full copies, slow but needs no kernel support) is
#: the fallback for file systems or kernels where overlay mounts fail.
STORAGE_DRIVERS = ("overlay2", "vfs")


def oci_to_docker_archive(oci_archive: Path, dest: Path, ref: str) -> Path:
    """Rewrite a single-manifest OCI-layout archive in ``docker save`` format.

    dockerd 20.10 only reads ``manifest.json`` archives (OCI layout support
    came with the containerd image store of Docker 25+): given an OCI archive
    it looks for the legacy ``<id>/json`` files and fails with ``open
    .../blobs/json: no such file or directory``. The docker format needs the
    image config (whose sha256 becomes the image ID), the layer tars, and a
    ``manifest.json`` that names them and carries the tag ``ref``.
    Layers must be uncompressed, as build_busybox_archive writes them.
    """
    with tarfile.open(oci_archive) as src:
        def blob(digest: str) -> bytes:
            algo, hexdigest = digest.split(":", 1)
            member = src.extractfile(f"blobs/{algo}/{hexdigest}")
            if member is None:
                raise ValueError(f"{oci_archive}: blob {digest} missing")
            return member.read()

        index = json.loads(src.extractfile("index.json").read())  # type: ignore[union-attr]
        if len(index["manifests"]) != 1:
            raise ValueError(f"{oci_archive}: expected one manifest, found {len(index['manifests'])}")
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config_digest = manifest["config"]["digest"]
        config = blob(config_digest)
        layers = [(layer["digest"], blob(layer["digest"])) for layer in manifest["layers"]]

    def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))

    config_name = config_digest.split(":", 1)[1] + ".json"
    layer_names = []
    dest = Path(dest)
    with tarfile.open(dest, mode="w") as out:
        add(out, config_name, config)
        for digest, data in layers:
            name = digest.split(":", 1)[1] + "/layer.tar"
            add(out, name, data)
            layer_names.append(name)
        add(out, "manifest.json",
            json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": layer_names}]).encode())
    return dest


class PrivateDockerd:
    """dockerd (Debian docker.io) on a private containerd, under a temp dir.

    ``start()`` returns once ``docker version`` answers on :attr:`host`;
    ``stop()`` removes its containers, stops it (SIGTERM, then SIGKILL),
    unmounts what it left and deletes the directory. Use it as a context
    manager like :class:`PrivateContainerd`.
    """

    def __init__(self, containerd: PrivateContainerd, *, dockerd: str = "dockerd", docker: str = "docker",
                 storage_driver: str | None = None, namespace: str = "moby", base: str | None = None) -> None:
        self.containerd = containerd
        self.dockerd = shutil.which(dockerd) or dockerd
        self.docker = shutil.which(docker) or docker
        self.namespace = namespace
        self._drivers = (storage_driver,) if storage_driver else STORAGE_DRIVERS
        #: The driver the running daemon uses (set by start()).
        self.storage_driver: str | None = None
        # Unix socket paths are limited to 108 bytes, and dockerd puts more
        # sockets under its exec-root: keep the directory short.
        self.dir = Path(tempfile.mkdtemp(prefix="dkd-", dir=base or "/tmp"))
        self.socket = str(self.dir / "docker.sock")
        self.host = "unix://" + self.socket
        self.log_path = self.dir / "dockerd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- client -------------------------------------------------------------------------------

    def docker_argv(self, *args: str) -> list[str]:
        """argv for the docker CLI against this engine (``-H`` wins over DOCKER_HOST/contexts)."""
        return [self.docker, "-H", self.host, *args]

    def _docker(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.docker_argv(*args), capture_output=True, text=True, timeout=timeout, check=check)

    # -- life cycle ---------------------------------------------------------------------------

    def _argv(self, driver: str) -> list[str]:
        return [
            self.dockerd,
            "--containerd", self.containerd.address,
            "--containerd-namespace", self.namespace,
            "--containerd-plugins-namespace", f"plugins.{self.namespace}",
            "--host", self.host,
            "--data-root", str(self.dir / "data"),
            "--exec-root", str(self.dir / "exec"),
            "--pidfile", str(self.dir / "docker.pid"),
            "--config-file", str(self.dir / "daemon.json"),
            "--storage-driver", driver,
            # Leave the host's network alone: no bridge, no NAT rules, no sysctl changes.
            "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
            "--ip-masq=false", "--userland-proxy=false",
            # stop() removes containers first; do not wait 15 s per leftover at shutdown.
            "--shutdown-timeout", "2",
        ]

    def start(self, timeout: float = 60.0) -> "PrivateDockerd":
        """Launch dockerd and wait until its API answers.

        Tries each storage driver in turn (overlay2, then vfs) unless one was
        given: a driver the kernel or file system cannot do makes dockerd
        exit at start-up, which is what triggers the next attempt.
        """
        (self.dir / "daemon.json").write_text("{}\n")
        deadline = time.monotonic() + timeout
        errors: list[str] = []
        for driver in self._drivers:
            PrivateContainerd._unmount_below(self.dir / "data")
            shutil.rmtree(self.dir / "data", ignore_errors=True)
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(self._argv(driver), stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True)
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    errors.append(f"{driver}: exit {self._proc.returncode}: "
                                  f"{self.log_path.read_text(errors='replace')[-1500:]}")
                    break
                if os.path.exists(self.socket) and self._docker(
                        "version", "--format", "{{.Server.Version}}", check=False, timeout=10).returncode == 0:
                    self.storage_driver = driver
                    return self
                time.sleep(0.1)
            else:
                self.stop()
                raise RuntimeError(f"dockerd did not answer within {timeout} s; log: {self.log_path}")
        self.stop()
        raise RuntimeError("dockerd exited at start-up with every storage driver:\n" + "\n".join(errors))

    def version(self) -> str:
        """The engine's version, e.g. ``20.10.24+dfsg1``."""
        return self._docker("version", "--format", "{{.Server.Version}}").stdout.strip()

    def import_busybox(self, ref: str = DEFAULT_REF, entrypoint: list[str] | None = None,
                       cmd: list[str] | None = None) -> str:
        """Load the locally built busybox image into docker's image store as ``ref``.

        containerd's images are invisible to dockerd 20.10 (it has its own
        store under data-root), so the image is loaded with ``docker load``.
        Docker shows ``docker.io/library/busybox:latest`` as ``busybox:latest``.
        """
        stem = f"image-{abs(hash((ref, tuple(entrypoint or ()), tuple(cmd or ()))))}"
        oci = build_busybox_archive(self.dir / f"{stem}.oci.tar", ref=ref, entrypoint=entrypoint, cmd=cmd)
        archive = oci_to_docker_archive(oci, self.dir / f"{stem}.docker.tar", ref)
        oci.unlink()
        try:
            self._docker("load", "-i", str(archive), timeout=120)
        finally:
            archive.unlink()
        return ref

    def clean(self) -> None:
        """Remove every container of this engine, running or not (``docker rm -f``)."""
        ids = self._docker("ps", "-aq", "--no-trunc", check=False).stdout.split()
        if ids:
            self._docker("rm", "-f", *ids, check=False, timeout=120)

    def stop(self) -> None:
        """Stop dockerd and leave nothing behind: no containers, processes, mounts or files.

        Containers are removed first so that dockerd's own shutdown is quick.
        If dockerd has to be SIGKILLed its tasks survive in containerd, so
        its namespaces there are cleaned too.
        """
        if self._proc is not None and self._proc.poll() is None:
            try:
                self.clean()
            except (OSError, subprocess.SubprocessError):
                pass
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if os.path.exists(self.containerd.address):
            for namespace in (self.namespace, f"plugins.{self.namespace}"):
                self.containerd.clean_namespace(namespace)
        PrivateContainerd._unmount_below(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        """dockerd's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def __enter__(self) -> "PrivateDockerd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
