"""Helpers to test against a real containerd without touching the host's:
a private daemon on a temporary socket and a busybox image built locally."""
from .busybox_image import DEFAULT_REF, build_busybox_archive
from .daemon import PrivateContainerd

__all__ = ["DEFAULT_REF", "PrivateContainerd", "build_busybox_archive"]
