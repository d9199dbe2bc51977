"""Build a one-layer OCI image archive from the host's static busybox.

No registry is reachable on the machines this project is tested on, so the
tests (and ``make demo``) build their own busybox image from Debian's
``busybox-static`` and import it with ``ctr images import``.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

DEFAULT_REF = "docker.io/library/busybox:latest"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def find_static_busybox() -> Path:
    """Return the path of a busybox binary, preferring Debian's static build."""
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    found = shutil.which("busybox")
    if found:
        return Path(found)
    raise FileNotFoundError("busybox not found: install Debian's busybox-static")


def _applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({line.strip() for line in out.splitlines() if line.strip() and "/" not in line})


def _layer_tar(busybox: Path) -> bytes:
    """An uncompressed layer: /bin/busybox, one symlink per applet, /tmp, /root."""
    buf = io.BytesIO()
    mtime = int(time.time())
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("bin", "tmp", "root", "etc", "work"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            info.mtime = mtime
            tar.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        info.mtime = mtime
        tar.addfile(info, io.BytesIO(data))
        for applet in _applets(busybox):
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            link.mtime = mtime
            tar.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        info.mode = 0o644
        info.mtime = mtime
        tar.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


def _blob(tar: tarfile.TarFile, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_busybox_archive(
    dest: Path,
    ref: str = DEFAULT_REF,
    busybox: Path | None = None,
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
) -> Path:
    """Write an OCI image archive for ``ref`` to ``dest`` and return ``dest``.

    ``entrypoint`` and ``cmd`` shape the image config (default: no
    entrypoint, ``Cmd ["sh"]``), so tests can check how a job's command
    combines with them.
    """
    busybox = busybox or find_static_busybox()
    layer = _layer_tar(busybox)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": _go_arch(),
        "os": "linux",
        "config": {
            "Env": ["PATH=/bin"],
            "Cmd": ["sh"] if cmd is None else cmd,
            "WorkingDir": "/",
            **({"Entrypoint": entrypoint} if entrypoint else {}),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "containerd-tracker busybox_image from " + str(busybox)}],
    }
    dest = Path(dest)
    with tarfile.open(dest, mode="w") as tar:
        layer_desc = _blob(tar, layer)
        config_desc = _blob(tar, json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_desc}],
        }
        manifest_desc = _blob(tar, json.dumps(manifest, sort_keys=True).encode())
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    **manifest_desc,
                    "annotations": {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1]},
                    "platform": {"architecture": _go_arch(), "os": "linux"},
                }
            ],
        }
        for name, payload in (("oci-layout", {"imageLayoutVersion": "1.0.0"}), ("index.json", index)):
            data = json.dumps(payload).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return dest


def _go_arch() -> str:
    import platform

    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


def main(argv: list[str] | None = None) -> int:
    """``python -m containerd_tracker_cli.testing.busybox_image OUT.tar [REF]``"""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        sys.stderr.write("usage: python -m containerd_tracker_cli.testing.busybox_image OUT.tar [REF]\n")
        return 2
    build_busybox_archive(Path(args[0]), ref=args[1] if len(args) > 1 else DEFAULT_REF)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
