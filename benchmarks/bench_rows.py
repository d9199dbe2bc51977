"""The measurements, one function per row of issue 11. Each returns a dict
(JSON-ready): medians in ms, the raw figure being the denominator."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench_kit import (IMAGE, Call, CountingRunner, Ctr, call_name, ctr_words, job_host_processes, med, ms, now, process_table, spread,
                       subtree, summarize)
from containerd_tracker_cli import ContainerdJobTracker, JobState, JobTemplate
from containerd_tracker_cli.records.timeparse import parse_go_time
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


# ---------------------------------------------------------------- 3. wait latency
_EXIT_CODE = re.compile(r"exit code (\d+)")


def _event_exit(line: str) -> tuple[float | None, int]:
    """exited_at (epoch seconds) and status of a ``/tasks/exit`` line."""
    payload = json.loads(line[line.index("{"):])
    exited = parse_go_time(payload.get("exited_at"))
    return (exited.timestamp() if exited else None), int(payload.get("exit_status", 0))


def _events(ctx: Ctx) -> subprocess.Popen[str]:
    return subprocess.Popen(ctx.ctr.argv("events"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True, bufsize=1)


def _read_exit(events: subprocess.Popen[str], cid: str, timeout: float = 60) -> tuple[float, str]:
    deadline = time.monotonic() + timeout
    assert events.stdout is not None
    while time.monotonic() < deadline:
        line = events.stdout.readline()
        arrived = time.time()
        if not line:
            raise RuntimeError("ctr events ended")
        if "/tasks/exit" in line and cid in line:
            return arrived, line
    raise RuntimeError(f"no exit event for {cid}")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_latency(ctx: Ctx, repeat: int) -> dict[str, object]:
    tracker = ctx.tracker("bench-wait")
    job = template("sh", "-c", "sleep 1")
    ours, raw, missing = [], [], 0
    # Raw ctr doing after the exit what the tracker must: the output complete
    # (`tasks delete`: containerd waits for the logger), and also the exit
    # kept first (shim and cgroup read side by side, the container labelled).
    raw_delete: list[float] = []
    raw_same_work: list[float] = []
    after: list[dict[str, float]] = []  # per sample: seconds spent in each ctr command after the exit
    for i in range(repeat):
        jid = tracker.add_job(job)
        with ctx.runner.counting() as calls:
            tracker.wait(jid, 60)
            returned = time.time()
        ctx.count("wait (job running 1 s)", calls)
        finish = tracker.job_info(jid).finish_time
        if finish is None:
            missing += 1
        else:
            exited = finish.timestamp()
            ours.append(returned - exited)
            spent: dict[str, float] = {}
            for call in calls:
                if call.kind == "run" and call.end > exited:
                    key = call_name(call.kind, call.argv)
                    spent[key] = spent.get(key, 0.0) + call.end - max(call.start, exited)
            after.append(spent)
        with ctx.runner.counting() as calls:
            tracker.delete_job(jid)
        ctx.count("delete_job (ended job)", calls)
        # raw: a live `ctr events` subscription, from the exit to its /tasks/exit
        # line; then the floor of the tracker's work, in ctr processes
        for same_work in (False, True):
            events = _events(ctx)
            try:
                time.sleep(0.05)
                cid = Ctr.new_id()
                _run(ctx.ctr.run_detached_argv(cid, "sh", "-c", "sleep 1"), check=True)
                arrived, line = _read_exit(events, cid)
                if same_work:
                    with ThreadPoolExecutor(2) as pool:
                        list(pool.map(_run, [ctx.ctr.argv("shim", "--id", cid, "state"),
                                             ctx.ctr.argv("tasks", "metrics", "--format", "json", cid)]))
                    _run(ctx.ctr.argv("containers", "label", cid, "bench/exit-status=0"), check=True)
                _run(ctx.ctr.argv("tasks", "delete", cid), check=True)
                deleted = time.time()
                exited, _ = _event_exit(line)
                if exited is not None:
                    if not same_work:
                        raw.append(arrived - exited)
                    (raw_same_work if same_work else raw_delete).append(deleted - exited)
            finally:
                _stop(events)
    ctx.ctr.wipe()
    keys = list(dict.fromkeys(k for spent in after for k in spent))
    return row("3", "`wait` latency: job's exit (containerd's time) → `wait` returns", med(ours), med(raw_same_work),
               "≤ 50 ms", "raw ctr doing the same after the exit event (shim ‖ metrics, label, delete)",
               goal_ms=50.0, reference_events_ms=ms(med(raw)),
               raw_event_then_delete_ms=ms(med(raw_delete)), raw_same_work_ms=ms(med(raw_same_work)),
               finish_time_missing=missing,
               after_exit_cli_ms_median=ms(med([sum(spent.values()) for spent in after])),
               after_exit_by_command_ms_median={k: ms(med([spent.get(k, 0.0) for spent in after])) for k in keys},
               samples={"tracker": spread(ours), "raw_events": spread(raw), "raw_event_then_delete": spread(raw_delete),
                        "raw_same_work": spread(raw_same_work)})


# ---------------------------------------------------------------- 4. submit + wait + exit status
#: Row 4's reference for the tracker's own overhead (see same_work).
SAME_WORK = "the tracker's ctr calls, run raw"


def submit_wait_status(ctx: Ctx, repeat: int) -> dict[str, object]:
    tracker = ctx.tracker("bench-end")
    job = template("sh", "-c", "exit 3")
    cmd = ("sh", "-c", "exit 3")
    wrong: list[str] = []

    def ours() -> float:
        with ctx.runner.counting() as calls:
            start = now()
            jid = tracker.add_job(job)
            tracker.wait(jid, 60)
            status = tracker.job_info(jid).exit_status
            took = now() - start
        ctx.count("add_job + wait + job_info (exit 3)", calls)
        if status != 3:
            wrong.append(f"tracker: {status}")
        return took

    def foreground() -> float:
        cid = Ctr.new_id()
        argv = ctx.ctr.argv("run", "--log-uri", ctx.ctr.log_uri(cid), IMAGE, cid, *cmd)
        start = now()
        code = _run(argv).returncode
        took = now() - start
        if code != 3:
            wrong.append(f"ctr run: {code}")
        return took

    def poll() -> float:
        cid = Ctr.new_id()
        listing = ctx.ctr.argv("tasks", "list")
        start = now()
        _run(ctx.ctr.run_detached_argv(cid, *cmd), check=True)
        while True:
            out = _run(listing).stdout
            if any(line.split()[:1] == [cid] and line.split()[-1] == "STOPPED" for line in out.splitlines()):
                break
            time.sleep(0.01)
        err = _run(ctx.ctr.argv("tasks", "delete", cid)).stderr
        took = now() - start
        code = int(m.group(1)) if (m := _EXIT_CODE.search(err)) else 0
        if code != 3:
            wrong.append(f"poll: {code}")
        return took

    def events() -> float:
        cid = Ctr.new_id()
        start = now()
        stream = _events(ctx)
        try:
            _run(ctx.ctr.run_detached_argv(cid, *cmd), check=True)
            _, line = _read_exit(stream, cid)
        finally:
            _stop(stream)
        _, code = _event_exit(line)
        _run(ctx.ctr.argv("tasks", "delete", cid))
        took = now() - start
        if code != 3:
            wrong.append(f"events: {code}")
        return took

    def same_work() -> float:
        """Not a way a user would do it: the ctr processes the tracker needs
        for its guarantees (the job's record read, its exit kept in containerd
        before the task goes, the output complete, then read back), run from
        this script one after another as the tracker runs them."""
        cid = Ctr.new_id()
        start = now()
        _run(ctx.ctr.run_detached_argv(cid, *cmd), check=True)
        _run(ctx.ctr.argv("tasks", "list"), check=True)
        _run(ctx.ctr.argv("containers", "info", cid), check=True)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(_run, [ctx.ctr.argv("shim", "--id", cid, "state"),
                                 ctx.ctr.argv("tasks", "metrics", "--format", "json", cid)]))
        _run(ctx.ctr.argv("containers", "label", cid, "bench/exit-status=3"), check=True)
        _run(ctx.ctr.argv("tasks", "delete", cid))
        _run(ctx.ctr.argv("tasks", "list"), check=True)
        _run(ctx.ctr.argv("containers", "info", cid), check=True)
        return now() - start

    sides = {"tracker": ours, "ctr run (foreground)": foreground, "ctr run -d + poll + delete": poll,
             "ctr events + ctr run -d + delete": events, SAME_WORK: same_work}
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for fn in sides.values():
        fn()  # warm-up
    for i in range(repeat):
        names = list(sides)
        if i % 2:
            names.reverse()
        for name in names:
            samples[name].append(sides[name]())
    ctx.ctr.wipe()
    raws = {name: med(s) for name, s in samples.items() if name not in ("tracker", SAME_WORK)}
    best = min(raws, key=lambda name: raws[name])  # type: ignore[arg-type,return-value]
    what = {
        "ctr run (foreground)": "`ctr run --log-uri file://… IMAGE ID sh -c 'exit 3'` (one process: waits, "
                                "deletes the task, exits with the job's status)",
        "ctr run -d + poll + delete": "`ctr run -d`, `ctr tasks list` every 10 ms, `ctr tasks delete` (status on stderr)",
        "ctr events + ctr run -d + delete": "`ctr events` started first, `ctr run -d`, its /tasks/exit line, "
                                            "`ctr tasks delete`",
    }[best]
    others = ", ".join(f"{name} {ms(v):.0f} ms" for name, v in raws.items() if name != best)  # type: ignore[arg-type]
    return row("4", "submit + wait + exit status (`sh -c 'exit 3'`)", med(samples["tracker"]), raws[best], "≤ 1.3×",
               f"{what}; other raw ways: {others}", goal_ratio=1.3, raw_chosen=best,
               raw_medians_ms={name: ms(v) for name, v in raws.items()}, wrong_status=wrong,
               raw_same_work_ms=ms(med(samples[SAME_WORK])),
               samples={name: spread(s) for name, s in samples.items()})


# ---------------------------------------------------------------- 5. the command line, cold
def import_times(argv: list[str]) -> dict[str, object]:
    """``python -X importtime``, one run: the total (top-level imports,
    cumulative), and per package the modules' own time summed (so pydantic
    counts wherever it is imported from)."""
    err = _run(argv).stderr
    total = 0.0
    by_package: dict[str, float] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        try:
            own, cumulative, name = line.split(":", 1)[1].split("|")
            own_s, cumulative_s = int(own) / 1e6, int(cumulative) / 1e6
        except ValueError:
            continue
        if name.startswith(" ") and not name.startswith("  "):  # one space: a top-level import
            total += cumulative_s
        package = name.strip().split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + own_s
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {"total_ms": ms(total), "top_ms": {name: ms(v) for name, v in ranked[:8]}}


def cli_state(ctx: Ctx, repeat: int) -> tuple[dict[str, object], dict[str, object]]:
    session = "bench-cli"
    tracker = ctx.tracker(session)
    jid = tracker.add_job(template("sleep", "600"))
    tracker.job_state(jid)  # its record is kept, as after any earlier read
    options = [f"--address={ctx.address}", f"--namespace={ctx.namespace}", "--backend=ctr",
               f"--state-dir={ctx.state_dir}", f"--session={session}", "state", jid]
    module = [sys.executable, "-m", "containerd_tracker_cli", *options]
    script = Path(sys.executable).parent / "containerd-tracker"
    entry = [str(script), *options] if script.exists() else None
    python = [sys.executable, "-c", "pass"]
    # The calls such a new process makes: a new tracker object, same state directory.
    fresh = CountingRunner()
    with fresh.counting() as calls:
        ctx.tracker(session, fresh).job_state(jid)
    ctx.count("job_state (new tracker, as the CLI)", calls)
    raw_argvs = [list(call.argv) for call in calls]
    check = _run(module)
    output = check.stdout.strip()

    def raw_calls() -> None:
        for argv in raw_argvs:
            _run(argv)

    def in_process() -> None:
        with ctx.runner.counting() as calls:
            tracker.job_state(jid)
        ctx.count("job_state", calls)

    sides: dict[str, Any] = {
        "cli": lambda: _run(module),
        "python": lambda: _run(python),
        "raw": raw_calls,
        "in_process": in_process,
    }
    if entry:
        sides["entry"] = lambda: _run(entry)
    samples = _interleave(sides, repeat)
    imports = import_times([sys.executable, "-X", "importtime", "-m", "containerd_tracker_cli", *options])
    ctx.ctr.wipe()
    m = {name: med(s) for name, s in samples.items()}
    raw_names = " + ".join(f"`ctr {' '.join(ctr_words(a)[:2])}`" for a in raw_argvs)
    cli = row("5", "`python -m containerd_tracker_cli state ID` (new process)", m["cli"], m["python"], "≤ 3×",
              f"`python3 -c pass` ({Path(sys.executable).name}); its ctr calls alone ({raw_names}): "
              f"{ms(m['raw']):.0f} ms" + (f"; the `containerd-tracker` script: {ms(m['entry']):.0f} ms" if entry else ""),
              goal_ratio=3.0, imports=imports, cli_output=output, cli_exit_code=check.returncode, raw_ctr_calls_ms=ms(m["raw"]),
              entry_script_ms=ms(m.get("entry")), samples={name: spread(s) for name, s in samples.items()})
    warm = row("5b", "`job_state(id)` in a running process", m["in_process"], m["raw"], "—",
               f"the same ctr calls ({raw_names})", samples={})
    return cli, warm


# ---------------------------------------------------------------- 6. an array of N
def _all_stopped(ctx: Ctx, ids: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    want = set(ids)
    while time.monotonic() < deadline:
        tasks = ctx.ctr.tasks()
        if all(tasks.get(cid, (0, ""))[1] == "STOPPED" for cid in want):
            return
        time.sleep(0.05)
    raise RuntimeError("raw jobs did not all stop")


def _raw_array(ctx: Ctx, n: int, parallel: int, list_repeat: int = 0) -> dict[str, Any]:
    ids = [Ctr.new_id(f"arr{parallel}") for _ in range(n)]
    argvs = [ctx.ctr.run_detached_argv(cid, "true") for cid in ids]
    start = now()
    if parallel == 1:
        for argv in argvs:
            _run(argv, check=True)
    else:
        with ThreadPoolExecutor(parallel) as pool:
            for done in pool.map(_run, argvs):
                done.check_returncode()
    submitted = now() - start
    _all_stopped(ctx, ids)
    stopped = now() - start
    listings = []
    for _ in range(list_repeat):  # the state of N ended jobs, raw: their STOPPED tasks listed
        begin = now()
        _run(ctx.ctr.argv("tasks", "list"), check=True)
        listings.append(now() - begin)
    start += sum(listings)
    for i in range(0, n, 50):  # statuses read: ctr prints non-zero ones on delete
        _run(ctx.ctr.argv("tasks", "delete", *ids[i:i + 50]))
    deleted = now() - start
    ctx.ctr.wipe(ids)
    return {"submitted": submitted, "stopped": stopped, "stopped_and_deleted": deleted, "listings": listings}


def array(ctx: Ctx, n: int, repeat: int) -> dict[str, object]:
    tracker = ctx.tracker("bench-array")
    start = now()
    with ctx.runner.counting() as sub_calls:
        ids = json.loads(tracker.add_array_job(template("true"), 1, n, 1, 0))
    submitted = now() - start
    with ctx.runner.counting() as wait_calls:
        tracker.wait_all(ids, 600)
    ended = now() - start
    ctx.count(f"add_array_job({n})", sub_calls)
    ctx.count(f"wait_all({n}) (all `true`)", wait_calls)
    with ctx.runner.counting() as calls_first:
        start = now()
        final = tracker.job_states(ids)
        ended_states = now() - start
    ctx.count(f"job_states({n}) of ended jobs, first read after wait_all", calls_first)
    done = sum(1 for s, _ in final.values() if s == JobState.DONE)
    warm: list[float] = []
    for _ in _counted_states(ctx, tracker, ids, repeat, warm, f"job_states({n}) of ended jobs"):
        pass
    ctx.ctr.wipe()
    ctx.log(f"   tracker: {submitted:.1f} s submitted, {ended:.1f} s all ended")
    raw = {1: _raw_array(ctx, n, 1, repeat)}
    ctx.log(f"   raw sequential: {raw[1]['submitted']:.1f} s submitted")
    for k in (4, 8):
        raw[k] = _raw_array(ctx, n, k)
        ctx.log(f"   raw {k} parallel: {raw[k]['submitted']:.1f} s submitted")
    listings = raw[1].pop("listings")
    floor = min((4, 8), key=lambda k: raw[k]["submitted"])
    result_submit = row("6", f"array of N={n} (`true`): all submitted (`add_array_job`)", submitted,
                        raw[1]["submitted"], "≤ 1.0× of sequential",
                        f"sequential `ctr run -d --log-uri file://…` loop; best parallel ({floor} ctr at once): "
                        f"{raw[floor]['submitted'] * 1000:.0f} ms = {submitted / raw[floor]['submitted']:.2f}× of it",
                        goal_ratio=1.0, done=done, raw={str(k): {a: ms(b) for a, b in v.items()} for k, v in raw.items()})
    result_end = row("6b", f"array of N={n}: all ended (`add_array_job` + `wait_all`)", ended,
                     raw[1]["stopped_and_deleted"], "—",
                     f"same loop, `ctr tasks list` every 50 ms until all STOPPED, then `ctr tasks delete` ×{-(-n // 50)} "
                     f"(statuses); all STOPPED alone: {raw[1]['stopped'] * 1000:.0f} ms; best parallel, "
                     f"ended+deleted: {min(raw[k]['stopped_and_deleted'] for k in (4, 8)) * 1000:.0f} ms",
                     job_states_of_ended_ms=ms(ended_states), job_states_of_ended_calls=len(calls_first))
    result_ended = row("2b", f"state of all N={n} ended jobs (of row 6): `job_states(ids)`", med(warm), med(listings),
                       "(≤ 3×)", f"one `ctr tasks list` listing the {n} STOPPED tasks of the raw loop of row 6; "
                       f"first read after `wait_all`: {ended_states * 1000:.0f} ms, {len(calls_first)} calls",
                       goal_ratio=3.0, samples={"tracker": spread(warm), "raw": spread(listings)})
    return {"submit": result_submit, "end": result_end, "ended_states": result_ended}


# ---------------------------------------------------------------- resident processes
def _role(proc: dict[str, object], shim_pid: int) -> str:
    cmd = str(proc["cmdline"])
    if proc["tracker_cmdline"]:
        if proc["ppid"] == shim_pid:
            return "sh containerd-tracker-logger (the logger)"
        return "sh containerd-tracker-logger (exit watcher subshell)"
    words = cmd.split()
    head = Path(words[0]).name if words else str(proc["name"])
    if head == "tail":
        return "tail --pid (exit watcher)"
    if head == "cat":
        return "cat (stdout/stderr copier)"
    if head == "sleep":
        return "sleep (exit watcher, before the pid file exists)"
    return head


def resident(ctx: Ctx, jobs: int = 10, settle: float = 1.5) -> dict[str, object]:
    tracker = ctx.tracker("bench-resident")
    ours = [tracker.add_job(template("sleep", "600")) for _ in range(jobs)]
    raw = [Ctr.new_id() for _ in range(jobs)]
    for cid in raw:
        _run(ctx.ctr.run_detached_argv(cid, "sleep", "600"), check=True)
    time.sleep(settle)  # the exit watcher waits for the pid file, then tails
    tasks = ctx.ctr.tasks()
    table = process_table()

    def gather(ids: list[str]) -> dict[str, object]:
        roles: dict[str, list[int]] = {}
        roles_pss: dict[str, list[int]] = {}
        shims, per_job, per_job_pss, counts, covered = [], [], [], [], set()
        for cid in ids:
            pid = tasks.get(cid, (0, ""))[0]
            found = job_host_processes(table, ctx.address, cid, pid)
            if found["shim"] is None:
                continue
            shim = found["shim"]
            shims.append(shim["rss_kb"])  # type: ignore[index]
            covered.update(p.pid for p in subtree(table[shim["pid"]]))  # type: ignore[index]
            for p in found["extra"]:  # type: ignore[union-attr]
                role = _role(p, shim["pid"])  # type: ignore[index]
                roles.setdefault(role, []).append(p["rss_kb"])
                roles_pss.setdefault(role, []).append(p["pss_kb"] or 0)
            per_job.append(sum(p["rss_kb"] for p in found["extra"]))  # type: ignore[union-attr]
            per_job_pss.append(sum((p["pss_kb"] or 0) for p in found["extra"]))  # type: ignore[union-attr]
            counts.append(len(found["extra"]))  # type: ignore[arg-type]
        return {
            "jobs_found": len(shims),
            "shim_rss_kb_median": med(shims),
            "extra_processes_per_job": med(counts),
            "extra_rss_kb_per_job_median": med(per_job),
            "extra_pss_kb_per_job_median": med(per_job_pss),
            "roles": {role: {"count": len(v), "per_job": len(v) / max(len(shims), 1), "rss_kb_median": med(v),
                             "pss_kb_median": med(roles_pss[role])} for role, v in roles.items()},
            "_covered": covered,
        }

    tracked, plain = gather(ours), gather(raw)
    covered = tracked.pop("_covered") | plain.pop("_covered")  # type: ignore[operator]
    # Anything else of ours (a driver, a keeper, a stray logger) outside the shims.
    def ours(p: Any) -> bool:
        words = p.cmdline.split()
        tracker_program = bool(words) and (Path(words[0]).name == "containerd-tracker" or "containerd_tracker_cli" in words
                                           or "containerd-tracker-logger" in p.cmdline)
        return ctx.state_dir in p.cmdline or (tracker_program and ctx.address in p.cmdline)

    stray = [{"pid": p.pid, "cmdline": p.cmdline[:160], "rss_kb": p.rss_kb} for p in table.values()
             if p.pid not in covered and ours(p)]
    ctx.ctr.wipe()
    return {"jobs": jobs, "tracker": tracked, "raw_file_log": plain, "other_processes_of_this_run": stray}
