"""The ``containerd-tracker`` command: parse, run one tracker call, print."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .parser import JOB_COMMANDS, build_parser, split_command

if TYPE_CHECKING:
    from ..drmaa2.errors import DrmaaError
    from ..tracker import ContainerdJobTracker

EXIT_OK, EXIT_DRMAA, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    head, command = split_command(list(sys.argv[1:] if argv is None else argv))
    args, extra = parser.parse_known_args(head)
    if args.action in JOB_COMMANDS:
        if extra:
            # Without "--", a job's own options would be read as ours (-o, -e …).
            parser.error(f"put the job's command after '--': {' '.join(extra)}")
        args.command = command
    elif extra or command:
        parser.error(f"unrecognized arguments: {' '.join(extra + command)}")
    from ..drmaa2.errors import DrmaaError

    try:
        return COMMANDS[args.action](args)
    except DrmaaError as exc:
        _report(exc, args.verbose)
        return EXIT_DRMAA
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK


def run() -> None:
    """The console script: :func:`main`, then an exit that skips collecting
    every object this short process made (``gc.freeze``: about a tenth of a
    ``state`` command's time). Exit hooks still run; ``main`` itself stays
    callable in-process."""
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)


def _report(exc: "DrmaaError", verbose: bool) -> None:
    from .output import error

    if verbose:
        error(str(exc))
        return
    message = exc.message
    last = (exc.stderr or "").strip().splitlines()
    if last:
        detail = last[-1].removeprefix("ctr: ")
        if detail not in message:
            message = f"{message}: {detail}"
    error(message)


def _tracker(args: argparse.Namespace) -> "ContainerdJobTracker":
    from ..tracker import ContainerdJobTracker

    return ContainerdJobTracker(args.session, address=args.address, namespace=args.namespace,
                                backend=args.backend, state_dir=args.state_dir)


def _each(args: argparse.Namespace, ids: Sequence[str], apply: Callable[[str], Any]) -> tuple[list[Any], int]:
    """Apply to every ID; report failures one line each and go on."""
    from ..drmaa2.errors import DrmaaError

    results, status = [], EXIT_OK
    for job_id in ids:
        try:
            results.append(apply(job_id))
        except DrmaaError as exc:
            _report(exc, args.verbose)
            status = EXIT_DRMAA
    return results, status


def _template(args: argparse.Namespace) -> Any:
    from ..drmaa2.models import JobTemplate

    fields: dict[str, Any] = {
        "job_category": args.image,
        "job_name": args.name,
        "job_environment": dict(args.env),
        "working_directory": args.workdir,
        "output_path": args.output,
        "error_path": args.error,
        "join_files": args.join,
        "input_path": args.input,
        "submit_as_hold": args.hold,
        "stage_in_files": dict(args.mount),
        "resource_limits": dict(args.limit),
        "extension": {"extension_list": {key: value for key, value in (
            ("network", args.network), ("memory", args.memory), ("cpus", args.cpus), ("user", args.user))
            if value}},
    }
    if args.wallclock:
        fields["resource_limits"]["WALLCLOCK_TIME"] = args.wallclock
    if args.command:
        if args.keep_entrypoint:
            fields["args"] = list(args.command)
        else:
            fields["remote_command"] = args.command[0]
            fields["args"] = list(args.command[1:])
    return JobTemplate(**fields)


# ---------------------------------------------------------------- commands

def cmd_run(args: argparse.Namespace) -> int:
    job_id = _tracker(args).add_job(_template(args))
    if args.json:
        from .output import emit_json

        emit_json({"id": job_id})
    else:
        print(job_id)
    return EXIT_OK


def cmd_array(args: argparse.Namespace) -> int:
    import json

    from .output import Progress, emit_json

    progress = Progress("submitting")
    try:
        array_id = _tracker(args).add_array_job(_template(args), args.begin, args.end, args.step,
                                                args.max_parallel, on_submitted=progress)
    finally:
        progress.finish()
    ids = json.loads(array_id)
    if args.json:
        emit_json({"array_id": array_id, "jobs": ids})
    else:
        print("\n".join(ids))
    return EXIT_OK


def _settings(args: argparse.Namespace) -> Any:
    from ..session.settings import Settings

    return Settings(args.address, args.namespace, args.backend, args.state_dir)


def cmd_session(args: argparse.Namespace) -> int:
    from ..session import SessionManager

    manager = SessionManager(args.address, args.namespace, args.backend, state_dir=args.state_dir)
    if args.session_action == "list":
        _emit_lines(args, manager.get_job_session_names())
    elif args.session_action == "create":
        manager.create_job_session(args.name, args.contact)
    else:
        manager.destroy_job_session(args.name)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """This session's jobs; with --all every session's (DRMAA2's monitoring
    session: read-only), with -l their states (and sessions)."""
    from .output import emit_json, table

    tracker = _settings(args).monitor() if args.all else _tracker(args)
    ids = tracker.list_jobs()
    if not args.long:
        _emit_lines(args, ids)
        return EXIT_OK
    columns = ["session", "state", "sub_state"] if args.all else ["state", "sub_state"]
    rows = tracker.overview(ids) if args.all else tracker.job_states(ids)
    found = [i for i in ids if i in rows]
    if args.json:
        emit_json([{"id": i, **{key: str(value) for key, value in zip(columns, rows[i])}} for i in found])
    else:
        print(table(["JOB ID", *(c.upper().replace("_", "-") for c in columns)], [(i, *rows[i]) for i in found]))
    return EXIT_OK


def cmd_state(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    rows, status = _each(args, args.ids, lambda i: (i, *tracker.job_state(i)))
    if args.json:
        from .output import emit_json

        emit_json([{"id": i, "state": str(s), "sub_state": sub} for i, s, sub in rows])
    elif len(args.ids) == 1 and rows:
        print(rows[0][1])
    elif rows:
        from .output import table

        print(table(["JOB ID", "STATE", "SUB-STATE"], rows))
    return status


def _info_pairs(info: Any) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [
        ("id", info.id), ("state", info.state), ("sub_state", info.sub_state),
        ("exit_status", info.exit_status), ("terminating_signal", info.terminating_signal),
        ("job_owner", info.job_owner), ("allocated_machines", ",".join(info.allocated_machines)),
        ("submission_time", info.submission_time), ("dispatch_time", info.dispatch_time),
        ("finish_time", info.finish_time),
        ("wallclock_time", None if info.wallclock_time is None else f"{info.wallclock_time.total_seconds():.3f}s"),
        ("cpu_time", None if info.cpu_time is None else f"{info.cpu_time}s"),
        ("annotation", info.annotation),
    ]
    pairs += sorted(info.extension.extension_list.items())
    return pairs


def cmd_info(args: argparse.Namespace) -> int:
    tracker = _tracker(args)
    infos, status = _each(args, args.ids, tracker.job_info)
    if args.json:
        import json

        from .output import emit_json

        emit_json([json.loads(info.model_dump_json()) for info in infos])
    else:
        from .output import key_values

        print("\n\n".join(key_values(_info_pairs(info)) for info in infos))
    return status


def cmd_template(args: argparse.Namespace) -> int:
    template = _tracker(args).job_template(args.id)
    if args.json:
        import json

        from .output import emit_json

        emit_json(json.loads(template.model_dump_json()))
    else:
        from .output import key_values

        data = template.model_dump(exclude_defaults=True)
        print(key_values(sorted(data.items())))
    return EXIT_OK


def _emit_lines(args: argparse.Namespace, items: Sequence[str]) -> None:
    """A JSON list with --json, else one item per line."""
    if args.json:
        from .output import emit_json

        emit_json(list(items))
    elif items:
        print("\n".join(items))


def _per_job(act: Callable[["ContainerdJobTracker", str], None]) -> Callable[[argparse.Namespace], int]:
    """A command applying ``act`` to each ID; prints the IDs it worked for."""

    def run(args: argparse.Namespace) -> int:
        tracker = _tracker(args)
        done, status = _each(args, args.ids, lambda job_id: (act(tracker, job_id), job_id)[1])
        _emit_lines(args, done)
        return status

    return run


def cmd_wait(args: argparse.Namespace) -> int:
    from ..drmaa2.states import TERMINAL_STATES, JobState
    from ..drmaa2.errors import DrmaaTimeoutError
    from .output import Progress, emit_json, table

    import time

    tracker = _tracker(args)
    states = [JobState.parse(s) for s in args.state]
    progress = Progress("waiting: reached")
    reached = 0
    # --timeout bounds the whole command, not each job in turn.
    deadline = None if args.timeout is None else time.monotonic() + args.timeout

    def wait_one(job_id: str) -> tuple[str, JobState, int | None]:
        nonlocal reached
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            tracker.wait(job_id, left, *states)
        except DrmaaTimeoutError as exc:  # say the --timeout given, not what was left of it
            raise DrmaaTimeoutError(f"{exc.message.rsplit(' within ', 1)[0]} within {args.timeout:g} s") from exc
        info = tracker.job_info(job_id)
        reached += 1
        progress(reached, len(args.ids))
        return job_id, info.state, info.exit_status

    try:
        rows, status = _each(args, args.ids, wait_one)
    finally:
        progress.finish()
    if args.json:
        emit_json([{"id": i, "state": str(s), "exit_status": e} for i, s, e in rows])
    elif rows:
        print(table(["JOB ID", "STATE", "EXIT STATUS"], rows))
    if status == EXIT_OK and len(rows) == 1 and rows[0][1] in TERMINAL_STATES and rows[0][2] is not None:
        return rows[0][2]  # like `docker wait`: the job's own exit status
    return status


def cmd_categories(args: argparse.Namespace) -> int:
    _emit_lines(args, _tracker(args).list_job_categories())
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    from .logs import show_logs

    return show_logs(_tracker(args), args.id, follow=args.follow)


def cmd_arrays(args: argparse.Namespace) -> int:
    rows = _tracker(args).array_drivers()
    if args.json:
        from .output import emit_json

        emit_json(rows)
        return EXIT_OK
    from .output import table

    print(table(["ARRAY", "SESSION", "MAX", "TASKS", "STARTED", "DRIVER"],
                [[str(r["array"]), str(r["session"]), str(r["max_parallel"]), str(r["tasks"]), str(r["started"]),
                  "-" if r["driver_pid"] is None else str(r["driver_pid"])] for r in rows]))
    return EXIT_OK


def cmd_drive_array(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("sh").setLevel(logging.WARNING)  # a line per CLI call would drown the driver's own
    _tracker(args).drive_array(args.key, lock_fd=args.lock_fd)
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from .watch import watch

    return watch(_settings(args).monitor(), as_json=args.json)


def cmd_keep_deadlines(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("sh").setLevel(logging.WARNING)
    _tracker(args).keep_deadlines(lock_fd=args.lock_fd)
    return EXIT_OK


def cmd_keeper(args: argparse.Namespace) -> int:
    pid = _tracker(args).deadline_keeper()
    if args.json:
        from .output import emit_json

        emit_json({"pid": pid})
    else:
        print("-" if pid is None else pid)
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "keep-deadlines": cmd_keep_deadlines,
    "keeper": cmd_keeper,
    "arrays": cmd_arrays,
    "watch": cmd_watch,
    "session": cmd_session,
    "drive-array": cmd_drive_array,
    "run": cmd_run,
    "array": cmd_array,
    "list": cmd_list,
    "state": cmd_state,
    "info": cmd_info,
    "template": cmd_template,
    "wait": cmd_wait,
    "delete": _per_job(lambda tracker, job_id: tracker.delete_job(job_id)),
    "categories": cmd_categories,
    "logs": cmd_logs,
    **{action: _per_job(lambda tracker, job_id, action=action: tracker.job_control(job_id, action))
       for action in ("suspend", "resume", "terminate", "hold", "release")},
}
