"""Record real CLI output into a cassette, and replay it offline.

A cassette is a JSON file holding, in order, every interaction a runner had:
finished processes, stream openings, each line (or timeout) a stream gave its
reader, and the tokens handed out. Replay serves them back once each, in order;
the first call that differs is a :class:`ReplayMismatch` naming the cassette,
the position and both commands.

Machine-specific strings (socket paths, the state directory) are stored as
``<<name>>`` placeholders and expanded again on replay, so a recording made on
one machine replays on any other; base64-encoded JSON (job templates) is
stored readable, so placeholders reach inside it too.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote, quote_plus

from .base import Completed, Runner, Stream, StreamClosed

FORMAT_VERSION = 1


class ReplayMismatch(AssertionError):
    """The code under test asked for something the recording does not hold."""


class Cassette:
    """An ordered list of interactions plus metadata, stored as JSON."""

    def __init__(
        self,
        path: Path,
        interactions: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.interactions = interactions or []
        self.meta = meta or {}

    @classmethod
    def load(cls, path: Path) -> "Cassette":
        path = Path(path)
        if not path.exists():
            raise ReplayMismatch(f"no recording at {path}: record it first (see README, 'Recording fixtures')")
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT_VERSION}")
            return cls(path, list(data["interactions"]), dict(data.get("meta", {})))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReplayMismatch(f"recording {path} is unreadable: {exc}") from exc

    def expanded(self, placeholders: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The interactions as the CLI printed them (placeholders and readable
        base64 turned back), for tests that parse recorded output directly."""
        ph = _Placeholders(placeholders)

        def expand(value: Any) -> Any:
            if isinstance(value, str):
                return ph.expand(value)
            if isinstance(value, list):
                return [expand(v) for v in value]
            return value

        return [{k: expand(v) for k, v in item.items()} for item in self.interactions]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT_VERSION, "meta": self.meta, "interactions": self.interactions}
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        tmp.replace(self.path)


# base64 of a JSON object starts "ey" (the tracker stores job templates so).
_BASE64_JSON = re.compile(r"(?<![A-Za-z0-9+/])ey[A-Za-z0-9+/]{14,}={0,2}(?![A-Za-z0-9+/=])")
_OPENED = re.compile(r"<<base64:(.*?):base64>>", re.DOTALL)


def _open_base64(text: str) -> str:
    """Show base64-encoded JSON as ``<<base64:{...}:base64>>``, so a
    placeholder can reach a path inside it and a reader can see it. Only text
    that encodes back to the very same base64 is opened."""

    def rewrite(match: re.Match[str]) -> str:
        token = match.group(0)
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
            if not isinstance(json.loads(decoded), dict) or ":base64>>" in decoded:
                return token
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return token
        if base64.b64encode(decoded.encode("utf-8")).decode() != token:
            return token
        return f"<<base64:{decoded}:base64>>"

    return _BASE64_JSON.sub(rewrite, text)


def _close_base64(text: str) -> str:
    return _OPENED.sub(lambda m: base64.b64encode(m.group(1).encode("utf-8")).decode(), text)


class _Placeholders:
    """Swaps machine-specific strings for ``<<name>>`` and back.

    Each value is also matched URL-encoded (``<<name|url>>``: paths inside a
    log URI's query) and inside base64-encoded JSON (a job template label).
    """

    def __init__(self, values: dict[str, str] | None) -> None:
        pairs = []
        for name, value in (values or {}).items():
            if not value:
                continue
            pairs.append((name, value))
            for suffix, encoded in (("url", quote(value, safe="")), ("url+", quote_plus(value, safe=""))):
                if encoded != value:
                    pairs.append((f"{name}|{suffix}", encoded))
        # Longest first, so a path inside another path is not half-replaced.
        self._values = sorted(dict.fromkeys(pairs), key=lambda kv: -len(kv[1]))

    def hide(self, text: str) -> str:
        text = _open_base64(text)
        for name, value in self._values:
            text = text.replace(value, f"<<{name}>>")
        return text

    def expand(self, text: str) -> str:
        for name, value in self._values:
            text = text.replace(f"<<{name}>>", value)
        return _close_base64(text)


class RecordingRunner(Runner):
    """Runs everything through ``inner`` and writes what happened to ``cassette``.

    The cassette is saved after every interaction, so a test that dies half-way
    still leaves what it saw.
    """

    def __init__(self, inner: Runner, cassette: Cassette, placeholders: dict[str, str] | None = None) -> None:
        self.inner = inner
        self.cassette = cassette
        self._ph = _Placeholders(placeholders)
        self._lock = threading.Lock()
        self._stream_count = 0

    def _append(self, item: dict[str, Any]) -> None:
        with self._lock:
            self.cassette.interactions.append(item)
            self.cassette.save()

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        done = self.inner.run(argv, timeout=timeout, stdin=stdin)
        item: dict[str, Any] = {
            "kind": "run",
            "argv": [self._ph.hide(a) for a in argv],
            "exit_code": done.exit_code,
            "stdout": self._ph.hide(done.stdout),
            "stderr": self._ph.hide(done.stderr),
        }
        if stdin is not None:
            item["stdin"] = self._ph.hide(stdin)
        self._append(item)
        return done

    def stream(self, argv: Sequence[str]) -> Stream:
        inner = self.inner.stream(argv)
        with self._lock:
            self._stream_count += 1
            number = self._stream_count
        self._append({"kind": "stream", "stream": number, "argv": [self._ph.hide(a) for a in argv]})
        return _RecordingStream(self, inner, number)

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        self._append({"kind": "spawn", "argv": [self._ph.hide(a) for a in argv]})
        return self.inner.spawn(argv, log=log, keep_fd=keep_fd)

    def find(self, executable: str) -> str | None:
        return self.inner.find(executable)

    def unique_token(self) -> str:
        token = self.inner.unique_token()
        self._append({"kind": "token", "value": token})
        return token


class _RecordingStream(Stream):
    def __init__(self, owner: RecordingRunner, inner: Stream, number: int) -> None:
        self._owner = owner
        self._inner = inner
        self._number = number
        self.argv = inner.argv

    def readline(self, timeout: float) -> str | None:
        started = time.monotonic()
        try:
            line = self._inner.readline(timeout)
        except StreamClosed as closed:
            self._owner._append(
                {
                    "kind": "closed",
                    "stream": self._number,
                    "exit_code": closed.exit_code,
                    "stderr": self._owner._ph.hide(closed.stderr),
                }
            )
            raise
        if line is None:
            waited = round(time.monotonic() - started, 3)
            self._owner._append({"kind": "line", "stream": self._number, "timeout": waited})
        else:
            self._owner._append({"kind": "line", "stream": self._number, "line": self._owner._ph.hide(line)})
        return line

    def close(self) -> None:
        self._inner.close()


class ReplayRunner(Runner):
    """Serves a cassette back, once each and in order; no process is started."""

    def __init__(self, cassette: Cassette, placeholders: dict[str, str] | None = None) -> None:
        self.cassette = cassette
        self._ph = _Placeholders(placeholders)
        self._position = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return len(self.cassette.interactions) - self._position

    def _next(self, kind: str, what: str) -> dict[str, Any]:
        with self._lock:
            if self._position >= len(self.cassette.interactions):
                raise ReplayMismatch(
                    f"{self.cassette.path}: recording exhausted after {self._position} interactions; "
                    f"the code under test now wants {kind} {what}"
                )
            item = self.cassette.interactions[self._position]
            if item.get("kind") != kind:
                raise ReplayMismatch(
                    f"{self.cassette.path}, interaction {self._position}: the code under test wants {kind} "
                    f"{what}, the recording has {item.get('kind')} {self._describe(item)}"
                )
            self._position += 1
            return item

    def _describe(self, item: dict[str, Any]) -> str:
        if "argv" in item:
            return " ".join(self._ph.expand(a) for a in item["argv"])
        return json.dumps({k: v for k, v in item.items() if k != "kind"})

    def _check_argv(self, item: dict[str, Any], argv: Sequence[str], index: int) -> None:
        recorded = [self._ph.expand(a) for a in item["argv"]]
        if recorded != list(argv):
            diff = [
                f"  arg {i}: recorded {r!r}, now {n!r}"
                for i, (r, n) in enumerate(zip(recorded, argv))
                if r != n
            ]
            if len(recorded) != len(argv):
                diff.append(f"  recorded {len(recorded)} args, now {len(argv)}")
            raise ReplayMismatch(
                f"{self.cassette.path}, interaction {index}: command differs from the recording\n"
                f"  recorded: {' '.join(recorded)}\n  now:      {' '.join(argv)}\n" + "\n".join(diff)
            )

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        index = self._position
        item = self._next("run", " ".join(argv))
        self._check_argv(item, argv, index)
        return Completed(
            tuple(argv),
            int(item["exit_code"]),
            self._ph.expand(item.get("stdout", "")),
            self._ph.expand(item.get("stderr", "")),
        )

    def stream(self, argv: Sequence[str]) -> Stream:
        index = self._position
        item = self._next("stream", " ".join(argv))
        self._check_argv(item, argv, index)
        return _ReplayStream(self, tuple(argv), int(item["stream"]))

    def unique_token(self) -> str:
        return str(self._next("token", "a unique token")["value"])

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        """Checked like a command, started never: what it did live is not
        part of this recording."""
        index = self._position
        item = self._next("spawn", " ".join(argv))
        self._check_argv(item, argv, index)
        return None


class _ReplayStream(Stream):
    def __init__(self, owner: ReplayRunner, argv: tuple[str, ...], number: int) -> None:
        self._owner = owner
        self._number = number
        self.argv = argv

    def readline(self, timeout: float) -> str | None:
        owner = self._owner
        with owner._lock:
            position = owner._position
            item = owner.cassette.interactions[position] if position < len(owner.cassette.interactions) else None
        if item is None or item.get("kind") not in ("line", "closed") or item.get("stream") != self._number:
            raise ReplayMismatch(
                f"{owner.cassette.path}, interaction {position}: the code under test reads a line from "
                f"{' '.join(self.argv)}, the recording has "
                + (owner._describe(item) if item else "nothing more")
            )
        owner._position += 1
        if item["kind"] == "closed":
            raise StreamClosed(self.argv, item.get("exit_code"), owner._ph.expand(item.get("stderr", "")))
        if "timeout" in item:
            # Nothing came within the time asked for when this was recorded.
            # Let the time asked for now really pass, so deadline logic in the
            # code under test takes the branch it took then.
            time.sleep(max(timeout, 0.0))
            return None
        return owner._ph.expand(item["line"])

    def close(self) -> None:
        pass
