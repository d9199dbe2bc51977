"""Side-by-side timings: containerd-tracker against the raw ctr calls that do
the same work. Run on demand (root): ``python3 benchmarks/bench.py``.

Starts its own private containerd, prints a Markdown table of medians and
ratios (tracker / raw ctr). Nothing here is asserted: speed is measured, not
tested.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from containerd_tracker_cli import ContainerdJobTracker, JobState, JobTemplate
from containerd_tracker_cli.testing import PrivateContainerd

IMAGE = "docker.io/library/busybox:latest"


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(argv, check=True, capture_output=True, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--jobs", type=int, default=20, help="jobs per submission round")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (it starts a private containerd)", file=sys.stderr)
        return 2
    rows: list[tuple[str, float, float, str]] = []
    with PrivateContainerd() as daemon, tempfile.TemporaryDirectory() as state:
        daemon.import_busybox()
        ctr = daemon.ctr_argv
        tracker = ContainerdJobTracker("bench", address=daemon.address, state_dir=state)
        env = {**os.environ, "CONTAINERD_ADDRESS": daemon.address, "CONTAINERD_TRACKER_STATE_DIR": state,
               "CONTAINERD_TRACKER_SESSION": "bench"}
        exe = shutil.which("containerd-tracker") or "containerd-tracker"
        job = tracker.add_job(JobTemplate(job_category=IMAGE, remote_command="sleep", args=["600"]))

        # Cold start of the command line: a whole new process per call.
        python = median_ms(lambda: run([sys.executable, "-c", "pass"]), args.repeat)
        cli = median_ms(lambda: run([exe, "state", job], env), args.repeat)
        raw = median_ms(lambda: (run(ctr("containers", "info", job)), run(ctr("tasks", "list"))), args.repeat)
        rows.append(("`containerd-tracker state ID` (new process)", cli, raw,
                     f"`ctr containers info` + `ctr tasks list`; `python3 -c pass` alone: {python:.0f} ms"))

        # Library calls in a warm process.
        rows.append(("`job_state(id)`", median_ms(lambda: tracker.job_state(job), args.repeat), raw,
                     "same two ctr calls"))
        flt = 'labels."drmaa2"=="true",labels."jobSessionName"=="bench"'
        rows.append(("`list_jobs()`", median_ms(tracker.list_jobs, args.repeat),
                     median_ms(lambda: run(ctr("containers", "list", "--quiet", flt)), args.repeat),
                     "`ctr containers list --quiet <label filter>`"))

        # Submission: N jobs through the tracker vs `ctr run -d` with a log file.
        template = JobTemplate(job_category=IMAGE, remote_command="true")
        counter = iter(range(10**6))

        def raw_submit() -> None:
            n = next(counter)
            run(ctr("run", "--detach", "--log-uri", f"file://{state}/raw-{n}.log", IMAGE, f"raw-{n}", "true"))

        submit = median_ms(lambda: tracker.add_job(template), args.jobs)
        raw_sub = median_ms(raw_submit, args.jobs)
        rows.append(("`add_job(template)`", submit, raw_sub, "`ctr run --detach --log-uri file://…` "
                     "(the tracker also checks the image and writes labels)"))

        # A job's end: wait + exit status through the tracker vs polling ctr.
        def tracked_end() -> None:
            j = tracker.add_job(JobTemplate(job_category=IMAGE, remote_command="true"))
            tracker.wait(j, 30, JobState.DONE, JobState.FAILED)
            tracker.job_info(j).exit_status

        def raw_end() -> None:
            n = next(counter)
            run(ctr("run", "--detach", "--null-io", IMAGE, f"raw-{n}", "true"))
            while b"STOPPED" not in subprocess.run(ctr("tasks", "list"), capture_output=True).stdout.split(
                    f"raw-{n}".encode(), 1)[1].split(b"\n", 1)[0]:
                time.sleep(0.01)
            run(ctr("tasks", "delete", f"raw-{n}"))

        rows.append(("submit, wait, read exit status", median_ms(tracked_end, args.repeat),
                     median_ms(raw_end, args.repeat),
                     "`ctr run -d`, poll `ctr tasks list` every 10 ms, `ctr tasks delete` (stderr has the status)"))
    version = subprocess.run(["ctr", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"\n{version}, {os.cpu_count()} cores, median of {args.repeat} (submissions: {args.jobs})\n")
    print("| operation | containerd-tracker | raw ctr | ratio | raw ctr equivalent |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, ours, theirs, what in rows:
        print(f"| {name} | {ours:.0f} ms | {theirs:.0f} ms | {ours / theirs:.1f}× | {what} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
