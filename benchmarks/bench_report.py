"""The Markdown the benchmark prints."""
from __future__ import annotations

from typing import Any


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def met(row: dict[str, Any]) -> str:
    ok = None
    if row.get("goal_ratio") is not None and row.get("ratio") is not None:
        ok = row["ratio"] <= row["goal_ratio"]
    if row.get("goal_ms") is not None and row.get("tracker_ms") is not None:
        ok = row["tracker_ms"] <= row["goal_ms"]
    if "calls_n" in row and ok is not None:
        ok = ok and row["calls_n"]["processes"] == row["calls_small_n"]["processes"]
    return "—" if ok is None else ("yes" if ok else "**no**")


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lib = result["library"]
    lines = [
        f"## containerd-tracker vs raw ctr — containerd {m['containerd_version']}",
        "",
        f"Machine: {m['nproc']} × {m['cpu_model']}, Linux {m['kernel']}, Python {m['python']}; "
        f"ctr {m['ctr_version']} ({m['ctr']}). Load average {m['loadavg_start'][0]:.2f} at the start, "
        f"{m['loadavg_end'][0]:.2f} at the end: {result['noise']}",
        f"Library: HEAD {lib['head']}" + (f" + uncommitted changes in {len(lib['uncommitted_library_files'])} files of containerd_tracker_cli/"
                                          if lib["uncommitted_library_files"] else "")
        + f" (sources sha256 {lib['sources_sha256']}" + ("; **changed during the run**" if lib.get("changed_during_run") else "")
        + ").",
        f"Medians of {result['repeat']} samples (row 3: of {result['repeat']} jobs); row 6 is one run. "
        f"Ratio = tracker / raw. Whole run: {result['seconds']:.0f} s.",
        "",
        "| # | operation | containerd-tracker | raw ctr | ratio | goal | met | raw ctr equivalent / notes |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in result["rows"]:
        ratio = f"{r['ratio']:.2f}×" if r.get("ratio") is not None else "—"
        notes = r["raw_equivalent"]
        if r["row"] == "2":
            notes += (f"; CLI calls at N={r['calls_small_n']['n']}: {r['calls_small_n']['processes']}, "
                      f"at N={r['calls_n']['n']}: {r['calls_n']['processes']}; first read of the {r['calls_n']['n']} "
                      f"(records not kept yet): {_ms(r['first_read_ms'])}, {r['first_read_calls']} calls; "
                      f"`list_jobs()` + `job_states`: {_ms(r['list_plus_states_ms'])}")
        if r["row"] == "3":
            spent = ", ".join(f"{name.removeprefix('ctr ')} {_ms(v)}"
                              for name, v in r["after_exit_by_command_ms_median"].items())
            notes = (f"{r['raw_equivalent']}; after the exit, {_ms(r['after_exit_cli_ms_median'])} inside ctr calls ({spent}); "
                     f"reference: a live `ctr events` subscription gets the /tasks/exit line "
                     f"{_ms(r['reference_events_ms'])} after the exit; raw ctr doing what the tracker does "
                     f"after the event (shim ‖ metrics, label, delete: the exit kept before the task goes): "
                     f"{_ms(r['raw_same_work_ms'])}")
        if r["row"] == "4" and r.get("raw_same_work_ms") is not None:
            notes += (f"; the ctr processes the tracker needs (run -d, tasks list, info, shim ‖ metrics, label, "
                      f"delete, tasks list, info), run raw one after another: {_ms(r['raw_same_work_ms'])}")
        if r["row"] == "5":
            top = ", ".join(f"{name} {_ms(v)}" for name, v in list(r["imports"]["top_ms"].items())[:5])
            notes += f"; imports (`-X importtime`, one run): {_ms(r['imports']['total_ms'])} — {top}"
        lines.append(f"| {r['row']} | {r['operation']} | {_ms(r['tracker_ms'])} | {_ms(r['raw_ms'])} | {ratio} | "
                     f"{r['goal']} | {met(r)} | {notes} |")
    lines += ["", "### CLI processes per operation (counted through the runner: run + stream + spawn)", "",
              "| operation | processes | which | time inside them (median) |", "| --- | ---: | --- | --- |"]
    for op, summary in result["calls"].items():
        which = ", ".join(f"{n}× {name}" if n > 1 else name for name, n in summary["by_command"].items())
        spent = ", ".join(f"{name.removeprefix('ctr ')} {_ms(v)}" for name, v in summary["cli_ms_by_command_median"].items())
        lines.append(f"| {op} | {summary['processes']} | {which} | {_ms(summary['cli_ms_median'])}"
                     f"{f' ({spent})' if len(summary['cli_ms_by_command_median']) > 1 else ''}, n={summary['samples']} |")
    res = result.get("resident")
    if res:
        t, p = res["tracker"], res["raw_file_log"]
        lines += ["", f"### Host processes per running job, beyond containerd's shim ({res['jobs']} jobs `sleep 600`)", "",
                  "| process | per job | RSS (median) | PSS (median) |", "| --- | ---: | ---: | ---: |"]
        for role, v in t["roles"].items():
            lines.append(f"| {role} | {v['per_job']:g} | {v['rss_kb_median']:.0f} kB | {v['pss_kb_median']:.0f} kB |")
        lines.append(f"| **tracker job, total** | {t['extra_processes_per_job']} | "
                     f"{t['extra_rss_kb_per_job_median'] or 0:.0f} kB | {t['extra_pss_kb_per_job_median'] or 0:.0f} kB |")
        lines.append(f"| **raw `ctr run -d --log-uri file://`, total** | {p['extra_processes_per_job']} | "
                     f"{p['extra_rss_kb_per_job_median'] or 0:.0f} kB | {p['extra_pss_kb_per_job_median'] or 0:.0f} kB |")
        lines.append(f"| (for scale: the shim itself, either way) | 1 | {t['shim_rss_kb_median'] or 0:.0f} kB | |")
        if res["other_processes_of_this_run"]:
            lines.append("")
            lines.append("Other processes of this run outside the shims: " + "; ".join(
                f"{o['pid']} `{o['cmdline']}` {o['rss_kb']} kB" for o in res["other_processes_of_this_run"]))
    lines += ["", "### argv of the calls (ctr's --address/--namespace/--connect-timeout left out; long values cut)", ""]
    for op, summary in result["calls"].items():
        lines.append(f"* {op}:")
        lines += [f"  * `{argv}`" for argv in summary["argv"][:12]]
        if len(summary["argv"]) > 12:
            lines.append(f"  * … {len(summary['argv']) - 12} more")
    return "\n".join(lines)
