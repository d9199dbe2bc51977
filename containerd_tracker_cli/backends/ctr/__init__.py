"""The backend that drives containerd through ``ctr``."""
from .backend import CtrBackend
from .commands import CtrCommands

__all__ = ["CtrBackend", "CtrCommands"]
