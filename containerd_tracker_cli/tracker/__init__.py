"""Layer 4: DRMAA2 semantics on top of any backend."""
from .tracker import ContainerdJobTracker

__all__ = ["ContainerdJobTracker"]
