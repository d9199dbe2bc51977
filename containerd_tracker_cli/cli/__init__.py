"""Layer 5: the ``containerd-tracker`` command. Imports stay inside the
commands, so ``containerd-tracker state ID`` loads only what it uses."""
from .main import main, run

__all__ = ["main", "run"]
