"""The measurements, one function per row of issue 11 (rows 3–4:
bench_waits.py; 5, 6 and the resident processes: bench_scale.py), and what
they share. Each returns a dict (JSON-ready): medians in ms, the raw figure
being the denominator."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench_kit import IMAGE, Call, CountingRunner, Ctr, med, ms, now, spread, summarize
from containerd_tracker_cli import ContainerdJobTracker, JobState, JobTemplate
from containerd_tracker_cli.runner import LiveRunner


@dataclass
class Ctx:
    address: str
    namespace: str
    state_dir: str
    ctr: Ctr
    runner: CountingRunner = field(default_factory=CountingRunner)
    log: Any = print
    #: Per operation: the calls of each sample (see bench_kit.summarize).
    samples: dict[str, list[list[Call]]] = field(default_factory=dict)

    def tracker(self, session: str, runner: CountingRunner | None = None) -> ContainerdJobTracker:
        return ContainerdJobTracker(session, address=self.address, namespace=self.namespace, backend="ctr",
                                    runner=runner or self.runner, state_dir=self.state_dir)

    def count(self, op: str, calls: list[Call]) -> None:
        self.samples.setdefault(op, []).append(list(calls))

    def calls(self) -> dict[str, dict[str, object]]:
        return {op: summarize(samples) for op, samples in self.samples.items()}


def template(*cmd: str) -> JobTemplate:
    return JobTemplate(job_category=IMAGE, remote_command=cmd[0], args=list(cmd[1:]))


def row(key: str, operation: str, tracker_s: float | None, raw_s: float | None, goal: str, raw_what: str,
        **extra: object) -> dict[str, object]:
    ratio = tracker_s / raw_s if tracker_s is not None and raw_s else None
    return {"row": key, "operation": operation, "tracker_ms": ms(tracker_s), "raw_ms": ms(raw_s), "ratio": ratio,
            "goal": goal, "raw_equivalent": raw_what, **extra}


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, **kw)


# ---------------------------------------------------------------- 1. add_job
def add_job(ctx: Ctx, repeat: int) -> dict[str, object]:
    tracker = ctx.tracker("bench-add")
    job = template("true")
    with ctx.runner.counting() as first:  # writes the logger script, finds the image
        first_id = tracker.add_job(job)
    ctx.count("add_job (first in a process)", first)
    jobs_dir = Path(ctx.state_dir) / "jobs" / ctx.namespace

    def replay() -> None:
        """The tracker's own calls for add_job, argv for argv (a new ID), by
        subprocess: what ctr itself costs with the tracker's arguments."""
        cid = Ctr.new_id("job")
        (jobs_dir / cid).mkdir(mode=0o700)
        for call in first:
            if call.kind == "run":
                _run([arg.replace(first_id, cid) for arg in call.argv], check=True)
    logger = Path(ctx.state_dir) / "bin" / "containerd-tracker-logger"

    def ours() -> None:
        with ctx.runner.counting() as calls:
            tracker.add_job(job)
        ctx.count("add_job", calls)

    def raw() -> None:
        _run(ctx.ctr.run_detached_argv(Ctr.new_id(), "true"), check=True)

    # Where a difference goes: the logger, a create/start split, the image lookup, the runner.
    def binary_logger() -> None:
        """``ctr run -d`` with the tracker's own logger, given what the tracker gives it."""
        cid = Ctr.new_id()
        folder = ctx.ctr.log_dir / cid
        folder.mkdir()
        out = folder / "output"
        uri = "binary://" + quote(str(logger)) + "?" + urlencode(
            {"stdout": str(out), "stderr": str(out), "done": str(folder / "logging"), "address": ctx.address})
        _run(ctx.ctr.argv("run", "--detach", "--log-uri", uri, "--pid-file", str(folder / "pid"), IMAGE, cid, "true"),
             check=True)

    def split() -> None:
        cid = Ctr.new_id()
        _run(ctx.ctr.argv("containers", "create", IMAGE, cid, "true"), check=True)
        _run(ctx.ctr.argv("tasks", "start", "--detach", "--log-uri", ctx.ctr.log_uri(cid), cid), check=True)

    live = LiveRunner()  # the library's runner (the `sh` package) for the same call: its own cost per process
    sides = {"tracker": ours, "raw": raw, "tracker's argv replayed": replay,
             "ctr run -d, binary:// logger": binary_logger,
             "create + start, file://": split,
             "images list": lambda: _run(ctx.ctr.argv("images", "list"), check=True),
             "images list, LiveRunner": lambda: live.run(ctx.ctr.argv("images", "list"), timeout=30)}
    samples = _interleave(sides, repeat)
    ctx.ctr.wipe()
    m = {name: med(v) for name, v in samples.items()}
    replayed = ms(m["tracker's argv replayed"])
    diagnostics = (f"parts: the tracker's own {len([c for c in first if c.kind == 'run'])} ctr calls replayed "
                   f"by subprocess (same argv, new ID) {replayed:.0f} ms; "
                   f"`ctr run -d` with the tracker's binary:// logger and --pid-file "
                   f"{ms(m['ctr run -d, binary:// logger']):.0f} ms; `ctr containers create` + `ctr tasks start -d` "
                   f"(file://) {ms(m['create + start, file://']):.0f} ms; `ctr images list` "
                   f"{ms(m['images list']):.0f} ms by subprocess, {ms(m['images list, LiveRunner']):.0f} ms through "
                   f"the library's LiveRunner")
    return row("1", "`add_job(template)` (`true`)", m["tracker"], m["raw"], "≤ 1.15×",
               f"`ctr run -d --log-uri file://… IMAGE ID true`; {diagnostics}",
               medians_ms={name: ms(v) for name, v in m.items()},
               samples={name: spread(v) for name, v in samples.items()}, goal_ratio=1.15)


def _counted_states(ctx: Any, tracker: Any, ids: list[str], repeat: int, seconds: list[float], label: str):
    """``repeat`` timed ``job_states(ids)``, each one's CLI calls counted under
    ``label``; yields those calls."""
    for _ in range(repeat):
        with ctx.runner.counting() as calls:
            start = now()
            tracker.job_states(ids)
            seconds.append(now() - start)
        ctx.count(label, calls)
        yield calls


def _interleave(sides: dict[str, Any], repeat: int) -> dict[str, list[float]]:
    """One warm-up each, then ``repeat`` rounds, the order reversed every
    other round; seconds per call."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for fn in sides.values():
        fn()
    for i in range(repeat):
        names = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name in names:
            start = now()
            sides[name]()
            samples[name].append(now() - start)
    return samples


# ---------------------------------------------------------------- 2. states of N jobs
def states(ctx: Ctx, n: int, repeat: int) -> dict[str, object]:
    tracker = ctx.tracker("bench-states")
    start = now()
    ids = json.loads(tracker.add_array_job(template("sleep", "600"), 1, n, 1, 0))
    submitted = now() - start
    ctx.log(f"   {n} `sleep 600` jobs submitted in {submitted:.1f} s")
    with ctx.runner.counting() as cold_calls:
        start = now()
        first = tracker.job_states(ids)
        cold = now() - start
    running = sum(1 for s, _ in first.values() if s == JobState.RUNNING)
    small = ids[: min(50, n)]
    tracker.job_states(small)
    with ctx.runner.counting() as calls_small:
        start = now()
        tracker.job_states(small)
        warm_small = now() - start
    ours, ours_list, raw = [], [], []
    raw_argv = ctx.ctr.argv("tasks", "list")
    _run(raw_argv)
    for i, calls in enumerate(_counted_states(ctx, tracker, ids, repeat, ours, f"job_states({n})")):
        if i == 0:
            warm_calls = calls
        start = now()
        _run(raw_argv, check=True)
        raw.append(now() - start)
        with ctx.runner.counting() as list_calls:
            start = now()
            tracker.job_states(tracker.list_jobs())
            ours_list.append(now() - start)
        ctx.count(f"list_jobs() + job_states({n})", list_calls)
    ctx.count(f"job_states({n}) first read", cold_calls)
    ctx.count(f"job_states({len(small)})", calls_small)
    tasks = ctx.ctr.tasks()
    ctx.ctr.wipe()
    return row("2", f"state of all N={n} running jobs: `job_states(ids)`", med(ours), med(raw), "≤ 3×, calls constant in N",
               f"one `ctr tasks list` ({len(tasks)} tasks listed)",
               goal_ratio=3.0, running_seen=running, submit_s=submitted,
               first_read_ms=ms(cold), first_read_calls=len(cold_calls),
               calls_small_n={"n": len(small), "processes": len(calls_small), "ms": ms(warm_small)},
               calls_n={"n": n, "processes": len(warm_calls)},
               list_plus_states_ms=ms(med(ours_list)), list_plus_states_calls=len(list_calls),
               samples={"tracker": spread(ours), "raw": spread(raw), "list_plus_states": spread(ours_list)})
