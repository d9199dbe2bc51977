"""``python -m containerd_tracker_cli`` is the ``containerd-tracker`` command."""
from .cli import run

run()
