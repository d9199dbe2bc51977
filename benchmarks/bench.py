"""containerd-tracker against the raw ``ctr`` doing the same work, side by
side in one script (issue 11's figures). Run as root:

    python3 benchmarks/bench.py [--containerd-version 1.6|1.7|2.1] [--jobs 200] [--repeat N] [--json out.json]

Starts its own private containerd (and removes it, with every job, at the
end), prints a Markdown table of medians and writes everything measured,
samples included, as JSON. Not a test: it asserts nothing. Rows:

1. ``add_job`` vs ``ctr run -d --log-uri file://…`` of the same container;
2. the state of all N jobs of a session vs one ``ctr tasks list`` (and the
   CLI calls that takes at N=50 and N);
3. ``wait`` latency: the task's exit time (containerd's) to ``wait`` returning;
4. submit + wait + exit status vs the fastest faithful raw sequence;
5. ``containerd-tracker state ID`` as a new process vs ``python3 -c pass``;
6. an array of N ``true`` tasks: all submitted / all ended, vs a sequential
   ``ctr run -d`` loop (and 4 or 8 of them in parallel, the floor);

plus the CLI processes each operation starts (through a counting runner)
and the host processes a running job leaves beside its shim.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

ROWS = ("resident", "1", "5", "3", "4", "2", "6")


def use_containerd_version(version: str) -> str:
    """That version's binaries first on PATH for the whole run (as the
    tests' --containerd-version does); returns the folder."""
    done = subprocess.run(["sh", str(ROOT / "scripts" / "containerd-versions.sh"), version],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"--containerd-version {version}: {done.stderr.strip()}")
    bindir = done.stdout.split()[-1]
    current = shutil.which("ctr")
    if not (current and Path(current).parent == Path(bindir)):  # /usr/bin first would shadow e.g. python3
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    return bindir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containerd-version", choices=("1.6", "1.7", "2.1"),
                        help="run on that containerd (scripts/containerd-versions.sh); default: the one on PATH")
    parser.add_argument("--jobs", type=int, default=200, help="N of rows 2 and 6 (default 200)")
    parser.add_argument("--repeat", type=int, default=15, help="samples per median (default 15)")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default build/bench-containerd-<version>.json)")
    parser.add_argument("--only", default=",".join(ROWS),
                        help=f"comma-separated parts to run (default all: {','.join(ROWS)})")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (it starts a private containerd)", file=sys.stderr)
        return 2
    if args.repeat < 1 or args.jobs < 1:
        parser.error("--repeat and --jobs must be at least 1")
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    if unknown := [p for p in only if p not in ROWS]:
        parser.error(f"unknown parts {unknown}: choose from {','.join(ROWS)}")
    if args.containerd_version:
        use_containerd_version(args.containerd_version)

    # Imported once PATH is final: the runner and the daemon look ctr up then.
    import bench_report
    import bench_rows
    import bench_scale
    import bench_waits
    from bench_kit import Ctr, library_state, machine
    from containerd_tracker_cli.testing import PrivateContainerd

    def log(text: str) -> None:
        print(f"[{time.monotonic() - began:6.1f} s] {text}", file=sys.stderr, flush=True)

    began = time.monotonic()
    namespace = f"bench-{os.getpid()}"  # runc keeps state by namespace and ID for every containerd of the host
    result: dict[str, object] = {"repeat": args.repeat, "jobs": args.jobs, "namespace": namespace}
    rows: list[dict[str, object]] = []
    with PrivateContainerd() as daemon, tempfile.TemporaryDirectory(prefix="bench-state-") as state:
        ctr = Ctr(daemon.ctr, daemon.address, namespace, Path(state) / "raw-logs")
        ctr.log_dir.mkdir()
        try:
            version = daemon.version()
            result["machine"] = machine(daemon.ctr, version)
            result["library"] = library_state(ROOT)
            log(f"containerd {version} at {daemon.address} ({daemon.containerd}), namespace {namespace}")
            daemon.import_busybox(namespace=namespace)
            ctx = bench_rows.Ctx(daemon.address, namespace, state, ctr, log=log)
            for part in ROWS:
                if part not in only:
                    continue
                log(f"part {part}")
                if part == "resident":
                    result["resident"] = bench_scale.resident(ctx)
                elif part == "1":
                    rows.append(bench_rows.add_job(ctx, args.repeat))
                elif part == "2":
                    rows.append(bench_rows.states(ctx, args.jobs, args.repeat))
                elif part == "3":
                    rows.append(bench_waits.wait_latency(ctx, args.repeat))
                elif part == "4":
                    rows.append(bench_waits.submit_wait_status(ctx, args.repeat))
                elif part == "5":
                    rows.extend(bench_scale.cli_state(ctx, args.repeat))
                elif part == "6":
                    rows.extend(bench_scale.array(ctx, args.jobs, args.repeat).values())
        finally:
            log("cleaning up")
            ctr.wipe()
    try:  # runc's per-namespace folder (empty once every container of ours is gone)
        os.rmdir(f"/run/containerd/runc/{namespace}")
    except OSError:
        pass
    order = {key: i for i, key in enumerate(("1", "2", "2b", "3", "4", "5", "5b", "6", "6b"))}
    rows.sort(key=lambda r: order.get(str(r["row"]), 99))
    result["rows"] = rows
    result["calls"] = ctx.calls()
    result["machine"]["loadavg_end"] = os.getloadavg()  # type: ignore[index]
    result["noise"] = (f"{result['machine']['nproc']} cores shared with whatever else runs "  # type: ignore[index]
                       "(here: other test suites), so every figure is noisy.")
    result["seconds"] = time.monotonic() - began
    if library_state(ROOT)["sources_sha256"] != result["library"]["sources_sha256"]:  # type: ignore[index]
        result["library"]["changed_during_run"] = True  # type: ignore[index]
        log("warning: containerd_tracker_cli/ changed while this ran (someone edits the tree)")
    print(bench_report.render(result))
    out = args.json or ROOT / "build" / f"bench-containerd-{'.'.join(version.split('.')[:2])}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
