"""Helpers of the benchmark: timing, a counting runner, the raw ctr, clean-up,
the machine, and what processes a job leaves on the host."""
from __future__ import annotations

import hashlib
import os
import platform
import statistics
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from containerd_tracker_cli.runner import Completed, LiveRunner, Runner, Stream

IMAGE = "docker.io/library/busybox:latest"


# ---------------------------------------------------------------- timing
def now() -> float:
    return time.perf_counter()


def med(samples: Sequence[float]) -> float | None:
    return statistics.median(samples) if samples else None


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def spread(samples: Sequence[float]) -> dict[str, object]:
    """What the JSON keeps of a list of samples (seconds)."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": ms(med(ordered)),
        "min_ms": ms(ordered[0]) if ordered else None,
        "max_ms": ms(ordered[-1]) if ordered else None,
        "samples_ms": [round(s * 1000, 3) for s in samples],
    }


# ---------------------------------------------------------------- counting runner
@dataclass
class Call:
    """One process the tracker started: how, what, and when (wall clock;
    ``end`` is when ``run`` returned, or when a stream/spawn was started)."""

    kind: str
    argv: tuple[str, ...]
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class CountingRunner(Runner):
    """A live runner that records every process the tracker starts:
    ``run`` (to completion), ``stream`` (``ctr events``) and ``spawn``
    (a detached helper), with the time each ``run`` took."""

    def __init__(self, inner: Runner | None = None) -> None:
        self.inner = inner or LiveRunner()
        self.concurrency = self.inner.concurrency  # counted, not serialised
        self.calls: list[Call] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        start = time.time()
        try:
            return self.inner.run(argv, timeout=timeout, stdin=stdin)
        finally:
            self.calls.append(Call("run", tuple(argv), start, time.time()))

    def stream(self, argv: Sequence[str]) -> Stream:
        start = time.time()
        try:
            return self.inner.stream(argv)
        finally:
            self.calls.append(Call("stream", tuple(argv), start, time.time()))

    def spawn(self, argv: Sequence[str], *, log: str, keep_fd: int | None = None) -> int | None:
        start = time.time()
        try:
            return self.inner.spawn(argv, log=log, keep_fd=keep_fd)
        finally:
            self.calls.append(Call("spawn", tuple(argv), start, time.time()))

    def find(self, executable: str) -> str | None:
        return self.inner.find(executable)

    @contextmanager
    def counting(self) -> Iterator[list[Call]]:
        """The calls made inside the block (filled in when it ends)."""
        start = len(self.calls)
        box: list[Call] = []
        try:
            yield box
        finally:
            box.extend(self.calls[start:])


def ctr_words(argv: Sequence[str]) -> list[str]:
    """argv without ctr's global options (``--address X`` …)."""
    words, i = [], 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("--address", "-a", "--namespace", "-n", "--connect-timeout"):
            i += 2
            continue
        words = list(argv[i:])
        break
    return words


def call_name(kind: str, argv: Sequence[str]) -> str:
    """``ctr containers create`` — the subcommand, for the per-operation counts."""
    exe = os.path.basename(argv[0]) if argv else "?"
    words = ctr_words(argv) if exe == "ctr" else list(argv[1:])
    if words[:1] == ["shim"]:
        name = "shim state"
    else:
        name = " ".join(w for w in words[:2] if not w.startswith("-"))
    prefix = "" if kind == "run" else f"[{kind}] "
    return f"{prefix}{exe} {name}".strip()


def short_argv(kind: str, argv: Sequence[str], *, width: int = 48) -> str:
    """The call as a readable line: ctr's global options dropped, long
    values (labels, log URIs, templates) cut."""
    exe = os.path.basename(argv[0]) if argv else "?"
    words = ctr_words(argv) if exe == "ctr" else list(argv[1:])
    cut = [w if len(w) <= width else w[: width - 1] + "…" for w in words]
    prefix = "" if kind == "run" else f"[{kind}] "
    return prefix + " ".join([exe, *cut])


def summarize(samples: Sequence[Sequence[Call]]) -> dict[str, object]:
    """Counts and argv of the first sample; time spent in the calls
    (``run`` only), per command, as medians over all samples."""
    first = samples[0]
    names: dict[str, int] = {}
    for call in first:
        key = call_name(call.kind, call.argv)
        names[key] = names.get(key, 0) + 1
    per_sample: list[dict[str, float]] = []
    for calls in samples:
        spent: dict[str, float] = {}
        for call in calls:
            if call.kind == "run":
                key = call_name(call.kind, call.argv)
                spent[key] = spent.get(key, 0.0) + call.seconds
        per_sample.append(spent)
    keys = list(dict.fromkeys(k for spent in per_sample for k in spent))
    return {
        "processes": len(first),
        "samples": len(samples),
        "by_command": names,
        "cli_ms_median": ms(med([sum(spent.values()) for spent in per_sample])),
        "cli_ms_by_command_median": {k: ms(med([spent.get(k, 0.0) for spent in per_sample])) for k in keys},
        "argv": [short_argv(call.kind, call.argv) for call in first],
    }


# ---------------------------------------------------------------- raw ctr
@dataclass
class Ctr:
    """The raw ctr, as a user would run it."""

    executable: str
    address: str
    namespace: str
    log_dir: Path

    def argv(self, *args: str) -> list[str]:
        return [self.executable, "--address", self.address, "--namespace", self.namespace, *args]

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=120, check=check)

    @staticmethod
    def new_id(prefix: str = "raw") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def log_uri(self, cid: str) -> str:
        return f"file://{self.log_dir}/{cid}.log"

    def run_detached_argv(self, cid: str, *cmd: str) -> list[str]:
        return self.argv("run", "--detach", "--log-uri", self.log_uri(cid), IMAGE, cid, *cmd)

    def tasks(self) -> dict[str, tuple[int, str]]:
        """``ctr tasks list``: ID -> (pid, STATUS)."""
        out = self("tasks", "list").stdout.splitlines()[1:]
        found = {}
        for line in out:
            fields = line.split()
            if len(fields) == 3:
                found[fields[0]] = (int(fields[1]), fields[2])
        return found

    def containers(self) -> list[str]:
        return self("containers", "list", "--quiet").stdout.split()

    def wipe(self, only: Sequence[str] | None = None) -> None:
        """Kill and delete the tasks and containers of this namespace (or
        only those named), in batches."""
        keep = set(only) if only is not None else None
        tasks = {cid: t for cid, t in self.tasks().items() if keep is None or cid in keep}
        for cid, (_, status) in tasks.items():
            if status != "STOPPED":
                self("tasks", "kill", "--signal", "SIGKILL", cid, check=False)
        deadline = time.monotonic() + 30
        left = list(tasks)
        while left and time.monotonic() < deadline:
            for batch in _batches(left):
                self("tasks", "delete", *batch, check=False)
            still = self.tasks()
            left = [cid for cid in left if cid in still]
            if left:
                time.sleep(0.2)
        containers = [cid for cid in self.containers() if keep is None or cid in keep]
        for batch in _batches(containers):
            self("containers", "delete", *batch, check=False)


def _batches(ids: Sequence[str], size: int = 50) -> Iterator[list[str]]:
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# ---------------------------------------------------------------- the machine
def machine(ctr: str, daemon_version: str) -> dict[str, object]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    client = subprocess.run([ctr, "--version"], capture_output=True, text=True).stdout.strip().split()[-1]
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "containerd_version": daemon_version,
        "ctr": ctr,
        "ctr_version": client,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


# ---------------------------------------------------------------- the library measured
def library_state(root: Path) -> dict[str, object]:
    """Which library was measured: HEAD, whether containerd_tracker_cli/ differs
    from it (others may be editing the tree), and a hash of its sources.
    Read-only git calls (no index refresh)."""
    digest = hashlib.sha256()
    for path in sorted((root / "containerd_tracker_cli").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args], capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD").stdout.strip() or None
    changed = git("diff", "--name-only", "HEAD", "--", "containerd_tracker_cli").stdout.split()
    return {"head": head, "uncommitted_library_files": changed, "sources_sha256": digest.hexdigest()[:16]}


# ---------------------------------------------------------------- host processes
@dataclass
class Proc:
    pid: int
    ppid: int
    name: str
    cmdline: str
    rss_kb: int
    pss_kb: int | None
    children: list["Proc"] = field(default_factory=list)


def _read_proc(pid: int) -> Proc | None:
    base = Path(f"/proc/{pid}")
    try:
        status = (base / "status").read_text()
        cmdline = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    pss = None
    try:
        for line in (base / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
                break
    except OSError:
        pass
    return Proc(pid, int(fields["PPid"].strip()), fields["Name"].strip(), cmdline, rss, pss)


def process_table() -> dict[int, Proc]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (proc := _read_proc(int(entry))) is not None:
            table[proc.pid] = proc
    for proc in table.values():
        if proc.ppid in table:
            table[proc.ppid].children.append(proc)
    return table


def subtree(proc: Proc) -> list[Proc]:
    found, todo = [], [proc]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(p.children)
    return found


def shim_of(table: dict[int, Proc], address: str, cid: str) -> Proc | None:
    """The runc v2 shim of container ``cid`` of the daemon at ``address``."""
    for proc in table.values():
        words = proc.cmdline.split()
        if "containerd-shim" in proc.cmdline and address in words and cid in words:
            return proc
    return None


def job_host_processes(table: dict[int, Proc], address: str, cid: str, task_pid: int) -> dict[str, object]:
    """What the host runs for one job: its shim, and under the shim what is
    not the job's own process tree (the tracker's logger and its helpers)."""
    shim = shim_of(table, address, cid)
    if shim is None:
        return {"shim": None, "extra": []}
    container = {p.pid for p in subtree(table[task_pid])} if task_pid in table else {task_pid}
    extra = [p for p in subtree(shim) if p.pid != shim.pid and p.pid not in container]
    return {
        "shim": {"pid": shim.pid, "rss_kb": shim.rss_kb, "pss_kb": shim.pss_kb},
        "extra": [{"pid": p.pid, "ppid": p.ppid, "name": p.name, "cmdline": p.cmdline[:160], "rss_kb": p.rss_kb,
                   "pss_kb": p.pss_kb, "tracker_cmdline": "containerd-tracker" in p.cmdline} for p in extra],
    }

