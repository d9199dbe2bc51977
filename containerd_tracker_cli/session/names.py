"""Where job session names live: one small file per session in the state
directory (``sessions/<namespace>/``), linked into place so that two
processes creating the same name at once cannot both succeed. Every process
using the same state directory and namespace sees the same sessions
(root's default, /var/lib/containerd-tracker, is shared by all of root's)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..drmaa2.errors import InvalidArgumentError


class SessionNames:
    def __init__(self, root: Path, namespace: str) -> None:
        self.folder = Path(root) / "sessions" / namespace

    def _path(self, name: str) -> Path:
        # Any printable name is allowed: the file is named by its digest.
        return self.folder / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".json")

    def create(self, name: str, contact: str | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{os.getpid()}.{os.urandom(4).hex()}.tmp"
        tmp.write_text(json.dumps({"name": name, "contact": contact}))
        try:
            os.link(tmp, self._path(name))  # atomic, and fails if it exists: complete or absent
        except FileExistsError:
            raise InvalidArgumentError(f"job session {name!r} exists already") from None
        finally:
            tmp.unlink()

    def contact(self, name: str) -> str | None:
        """The session's contact string; InvalidArgumentError if there is no such session."""
        try:
            data = json.loads(self._path(name).read_text())
        except FileNotFoundError:
            raise InvalidArgumentError(f"there is no job session {name!r}") from None
        except (OSError, ValueError) as exc:
            raise InvalidArgumentError(f"job session {name!r} cannot be read: {exc}") from exc
        return data.get("contact")

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def remove(self, name: str) -> None:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            raise InvalidArgumentError(f"there is no job session {name!r}") from None

    def names(self) -> list[str]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                found.append(str(json.loads(path.read_text())["name"]))
            except (OSError, ValueError, KeyError):
                continue  # being written, or not ours
        return sorted(found)
