"""Rows 5 and 6 of issue 11 — the command line started cold, an array of N
tasks — and what a running job leaves resident on the host."""
from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_kit import CountingRunner, Ctr, ctr_words, job_host_processes, med, ms, now, process_table, spread, subtree
from bench_rows import Ctx, _counted_states, _interleave, _run, row, template
from containerd_tracker_cli import JobState


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
