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

Format 2 adds what each job's output files held when it was first seen ended
(``files``), written back on replay at the same point; a format 1 recording
still replays, without them. A wait that timed out when recorded is not slept
through on replay: the replay's clock (``Runner.monotonic``) moves on instead.
"""
from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from .base import Completed, Runner, Stream, StreamClosed
from .placeholders import Placeholders

FORMAT_VERSION = 2
#: Formats a replay reads (1: recordings made before output files were kept).
READABLE_FORMATS = (1, 2)
#: The largest output file a recording keeps (each file; stored in the JSON).
MAX_KEPT_FILE = 64 * 1024 * 1024


class ReplayMismatch(AssertionError):
    """The code under test asked for something the recording does not hold."""


class RecordingError(AssertionError):
    """Something happened live that a recording cannot keep."""


class Cassette:
    """An ordered list of interactions plus metadata, stored as JSON."""

    def __init__(
        self,
        path: Path,
        interactions: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        format: int = FORMAT_VERSION,
    ) -> None:
        self.path = Path(path)
        self.interactions = interactions or []
        self.meta = meta or {}
        self.format = format

    @classmethod
    def load(cls, path: Path) -> "Cassette":
        path = Path(path)
        if not path.exists():
            raise ReplayMismatch(f"no recording at {path}: record it first (see README, 'Recording fixtures')")
        try:
            data = json.loads(path.read_text())
            if data.get("format") not in READABLE_FORMATS:
                raise ValueError(f"format {data.get('format')!r}, expected one of {READABLE_FORMATS}")
            return cls(path, list(data["interactions"]), dict(data.get("meta", {})), data["format"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ReplayMismatch(f"recording {path} is unreadable: {exc}") from exc

    def expanded(self, placeholders: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The interactions as the CLI printed them (placeholders and readable
        base64 turned back), for tests that parse recorded output directly."""
        ph = Placeholders(placeholders)

        def expand(value: Any) -> Any:
            if isinstance(value, str):
                return ph.expand(value)
            if isinstance(value, list):
                return [expand(v) for v in value]
            return value

        return [{k: expand(v) for k, v in item.items()} for item in self.interactions]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": self.format, "meta": self.meta, "interactions": self.interactions}
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        tmp.replace(self.path)


def _kept_file(path: str, ph: Placeholders) -> dict[str, Any]:
    """What ``path`` holds, as a recording keeps it: text with placeholders
    hidden when that turns back into the very same bytes, else base64."""
    entry: dict[str, Any] = {"path": ph.hide(path)}
    try:
        size = os.path.getsize(path)
        if size > MAX_KEPT_FILE:
            raise RecordingError(f"{path} holds {size} bytes; a recording keeps output files of at most "
                                 f"{MAX_KEPT_FILE} bytes")
        data = Path(path).read_bytes()
    except FileNotFoundError:
        entry["missing"] = True
        return entry
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    hidden = ph.hide(text) if text is not None else None
    if hidden is not None and ph.expand(hidden) == text:
        entry["text"] = hidden
    else:
        entry["base64"] = base64.b64encode(data).decode()
    return entry


class RecordingRunner(Runner):
    """Runs everything through ``inner`` and writes what happened to ``cassette``.

    The cassette is saved after every interaction, so a test that dies half-way
    still leaves what it saw.
    """

    def __init__(self, inner: Runner, cassette: Cassette, placeholders: dict[str, str] | None = None) -> None:
        self.inner = inner
        self.cassette = cassette
        self._ph = Placeholders(placeholders)
        self._lock = threading.Lock()
        self._stream_count = 0
        self._settled: set[str] = set()

    def _append(self, item: dict[str, Any]) -> None:
        with self._lock:
            self.cassette.interactions.append(item)
            self.cassette.save()

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        return self._record(self.inner.run(argv, timeout=timeout, stdin=stdin), argv, stdin)

    def run_private(self, argv: Sequence[str], *, timeout: float, keep: Callable[[str], str]) -> Completed:
        """Only what the caller keeps of the output is stored (a replay hands
        back the same)."""
        done = self.inner.run(argv, timeout=timeout)
        return self._record(Completed(done.argv, done.exit_code, keep(done.stdout), done.stderr), argv, None)

    def _record(self, done: Completed, argv: Sequence[str], stdin: str | None) -> Completed:
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

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)

    def settled(self, job_id: str, files: Callable[[], Sequence[str]]) -> None:
        """Keep what the job's output files hold, the first time it is seen ended."""
        self.inner.settled(job_id, files)
        with self._lock:
            if job_id in self._settled:
                return
            self._settled.add(job_id)
        kept = [_kept_file(path, self._ph) for path in dict.fromkeys(files())]
        self._append({"kind": "files", "job": job_id, "files": kept})


class _RecordingStream(Stream):
    def __init__(self, owner: RecordingRunner, inner: Stream, number: int) -> None:
        self._owner = owner
        self._inner = inner
        self._number = number
        self.argv = inner.argv

    def readline(self, timeout: float) -> str | None:
        started = self._owner.monotonic()
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
            waited = round(self._owner.monotonic() - started, 3)
            self._owner._append({"kind": "line", "stream": self._number, "timeout": waited})
        else:
            self._owner._append({"kind": "line", "stream": self._number, "line": self._owner._ph.hide(line)})
        return line

    def close(self) -> None:
        self._inner.close()


class ReplayRunner(Runner):
    """Serves a cassette back, once each and in order; no process is started."""

    def __init__(self, cassette: Cassette, placeholders: dict[str, str] | None = None, *,
                 realtime: bool = False) -> None:
        """``realtime``: sleep through the waits that timed out when recorded
        (default: only the replay's clock moves on; see ``monotonic``)."""
        self.cassette = cassette
        self.realtime = realtime
        self._ph = Placeholders(placeholders)
        self._position = 0
        self._lock = threading.Lock()
        self._skipped = 0.0
        self._settled: set[str] = set()

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

    def monotonic(self) -> float:
        """The real clock plus every wait skipped so far."""
        return time.monotonic() + self._skipped

    def sleep(self, seconds: float) -> None:
        if self.realtime:
            time.sleep(max(seconds, 0.0))
        else:
            with self._lock:
                self._skipped += max(seconds, 0.0)

    def settled(self, job_id: str, files: Callable[[], Sequence[str]]) -> None:
        """Write back what the job's output files held when recorded."""
        if self.cassette.format < 2:
            return  # recorded before files were kept
        with self._lock:
            if job_id in self._settled:
                return
            self._settled.add(job_id)
        index = self._position
        item = self._next("files", f"the output files of job {job_id}")
        kept = {self._ph.expand(entry["path"]): entry for entry in item.get("files", [])}
        asked = set(files())
        if item.get("job") != job_id or set(kept) != asked:
            raise ReplayMismatch(
                f"{self.cassette.path}, interaction {index}: job {job_id} ended with output files "
                f"{sorted(asked)}; the recording has job {item.get('job')} with {sorted(kept)}")
        for path, entry in kept.items():
            if entry.get("missing"):
                continue
            data = (self._ph.expand(entry["text"]).encode("utf-8") if "text" in entry
                    else base64.b64decode(entry["base64"]))
            try:
                Path(path).write_bytes(data)
            except OSError as exc:
                raise ReplayMismatch(f"{self.cassette.path}, interaction {index}: cannot write the recorded "
                                     f"output of job {job_id} to {path}: {exc}") from exc


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
            # Let the time asked for now pass (on the replay's clock), so
            # deadline logic in the code under test takes the branch it took then.
            owner.sleep(timeout)
            return None
        return owner._ph.expand(item["line"])

    def close(self) -> None:
        pass
