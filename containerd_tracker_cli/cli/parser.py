"""The command line's grammar (argparse only: cheap to import)."""
from __future__ import annotations

import argparse
import os

from ..backends import registry
from ..drmaa2.states import JobState  # pure enum: no pydantic, cheap

ENV_SESSION = "CONTAINERD_TRACKER_SESSION"
DEFAULT_SESSION = "default"
#: Go's names of the states a job can be in (Unset is no state to ask for).
STATE_NAMES = tuple(state.go_name for state in JobState if state is not JobState.UNSET)


JOB_USAGE = "containerd-tracker {} --image IMAGE [job options] [-- CMD ARGS...]"
JOB_COMMANDS = ("run", "array")


def split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """Options before the first ``--``, the job's own argv after it.

    Done by hand: argparse's REMAINDER would swallow options that follow a
    positional (``array 1 3 --image busybox``) and would eat ``--``-looking
    words of the job itself.
    """
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def _state(text: str) -> str:
    key = text.replace("_", "").replace("-", "").lower()
    for name in STATE_NAMES:
        if name.lower() == key:
            return name
    raise argparse.ArgumentTypeError(f"unknown state {text!r} (one of: {', '.join(STATE_NAMES)})")


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not key:
        raise argparse.ArgumentTypeError(f"expected K=V, got {text!r}")
    if not sep:  # -e NAME: take it from this environment, as docker does
        if key not in os.environ:
            raise argparse.ArgumentTypeError(f"{key} is not set here; use {key}=VALUE")
        value = os.environ[key]
    return key, value


def _mount(text: str) -> tuple[str, str]:
    """``HOST:CONTAINER[:ro|:rw]`` → (host path, container path with its mode),
    as ``stage_in_files`` holds them. Split from the right: a host path may hold ':'."""
    rest, mode = text, ""
    if text.endswith((":ro", ":rw")):
        rest, mode = text[:-3], text[-3:]
    host, sep, inner = rest.rpartition(":")
    if not sep or not host or not inner.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected HOST:/CONTAINER[:ro], got {text!r}")
    return host, inner + mode


def _limit(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected LIMIT=VALUE (e.g. OPEN_FILES=64), got {text!r}")
    return key, value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, help="container image (the DRMAA2 job category)")
    parser.add_argument("--name", help="job name (a label; IDs stay unique)")
    parser.add_argument("-e", "--env", action="append", type=_env_pair, default=[], metavar="K=V",
                        help="environment variable (repeatable); -e NAME copies it from here")
    parser.add_argument("-w", "--workdir", help="working directory inside the container")
    parser.add_argument("-o", "--output", metavar="FILE", help="host file for stdout (appended)")
    parser.add_argument("--error", metavar="FILE", help="host file for stderr (appended)")
    parser.add_argument("--join", action="store_true", help="stderr into the output file too")
    parser.add_argument("--input", metavar="FILE", help="host file to feed the job as stdin")
    parser.add_argument("--hold", action="store_true", help="submit held (QueuedHeld) until released")
    parser.add_argument("--mount", action="append", type=_mount, default=[], metavar="HOST:CONTAINER[:ro]",
                        help="bind-mount a host path (repeatable; read-write unless :ro)")
    parser.add_argument("--network", choices=("none", "host"), default=None,
                        help="none (default: loopback only) or host (the host's network)")
    parser.add_argument("--memory", metavar="SIZE", help="memory limit, e.g. 512m, 2g")
    parser.add_argument("--cpus", metavar="N", help="CPU quota in CPUs, e.g. 0.5")
    parser.add_argument("--user", metavar="USER[:GROUP]", help="run as this user (name or uid)")
    parser.add_argument("--wallclock", metavar="SEC", help="terminate the job SEC seconds after it started")
    parser.add_argument("--limit", action="append", type=_limit, default=[], metavar="NAME=VALUE",
                        help="DRMAA2 resource limit (repeatable): OPEN_FILES=64, CPU_TIME=60 (s), "
                             "FILE_SIZE/VIRTUAL_MEMORY/DATA_SIZE/STACK_SIZE/CORE_FILE_SIZE=KiB")
    parser.add_argument("--keep-entrypoint", action="store_true",
                        help="pass CMD ARGS to the image's entrypoint instead of replacing it")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="containerd-tracker",
        description="Run containers on containerd as DRMAA2 jobs.",
        epilog="Exit codes: 0 success, 1 DRMAA2 error, 2 usage error; 'wait' on one job that ended "
               "exits with the job's own exit status.",
    )
    parser.add_argument("--address", default=None,
                        help="daemon socket (env CONTAINERD_ADDRESS, DOCKER_HOST for docker; default "
                             "/run/containerd/containerd.sock, docker's own for docker)")
    parser.add_argument("--namespace", default=os.environ.get("CONTAINERD_NAMESPACE"),
                        help="containerd namespace (env CONTAINERD_NAMESPACE; default 'default')")
    parser.add_argument("--session", default=os.environ.get(ENV_SESSION) or DEFAULT_SESSION,
                        help=f"DRMAA2 job session (env {ENV_SESSION}; default '{DEFAULT_SESSION}')")
    parser.add_argument("--backend", default=os.environ.get(registry.ENV_BACKEND, registry.AUTO),
                        choices=registry.CHOICES,
                        help="which CLI drives containerd (env CONTAINERD_TRACKER_BACKEND; auto: nerdctl when "
                             "installed, else ctr)")
    parser.add_argument("--state-dir", default=None,
                        help="tracker state directory (env CONTAINERD_TRACKER_STATE_DIR)")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout, nothing else")
    parser.add_argument("-v", "--verbose", action="store_true", help="errors with the failing command and stderr")
    sub = parser.add_subparsers(dest="action", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="submit a job, print its ID", usage=JOB_USAGE.format("run"))
    _job_options(run)

    array = sub.add_parser("array", help="submit a job array (TASK_ID=index), print the job IDs",
                           usage=JOB_USAGE.format("array BEGIN END [--step N] [--max-parallel N]"))
    array.add_argument("begin", type=int)
    array.add_argument("end", type=int)
    array.add_argument("--step", type=int, default=1)
    array.add_argument("--max-parallel", type=int, default=0,
                       help="at most N tasks run at once; the rest wait as Queued and a driver process "
                            "starts them as others end, also after this command exits (0: no limit)")
    _job_options(array)

    lst = sub.add_parser("list", help="this session's job IDs")
    lst.add_argument("-l", "--long", action="store_true", help="with state and name (one more call per job)")
    lst.add_argument("-a", "--all", action="store_true",
                     help="every session's jobs (the monitoring view: read-only), with -l their sessions")

    for name, text in (("state", "DRMAA2 state of jobs"), ("info", "everything known about jobs"),
                       ("delete", "remove ended jobs")):
        sub.add_parser(name, help=text).add_argument("ids", nargs="+", metavar="ID")
    sub.add_parser("template", help="the template a job was submitted with").add_argument("id", metavar="ID")
    for action in ("suspend", "resume", "terminate", "hold", "release"):
        sub.add_parser(action, help=f"{action} jobs").add_argument("ids", nargs="+", metavar="ID")

    wait = sub.add_parser("wait", help="wait until jobs reach a state (default: Done or Failed)")
    wait.add_argument("ids", nargs="+", metavar="ID")
    wait.add_argument("--state", action="append", type=_state, default=[], metavar="S",
                      help="state to wait for (repeatable, any case)")
    wait.add_argument("--timeout", type=_non_negative, default=None, metavar="SEC",
                      help="give up after SEC seconds (0: check once; default: for ever)")

    sub.add_parser("categories", help="images jobs can run (DRMAA2 job categories)")

    sub.add_parser("arrays", help="throttled arrays (--max-parallel) and their driver processes")

    sub.add_parser("watch", help="print each state change of any session's job as it happens "
                                 "(ID, session, state), until interrupted")

    session = sub.add_parser("session", help="DRMAA2 job sessions: create, list, destroy")
    session_sub = session.add_subparsers(dest="session_action", metavar="ACTION", required=True)
    create = session_sub.add_parser("create", help="a new job session (an error if it exists)")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--contact", default=None, help="a contact string kept with the name")
    session_sub.add_parser("list", help="the job sessions' names")
    session_sub.add_parser("destroy", help="forget a job session's name (its jobs stay)").add_argument(
        "name", metavar="NAME")
    drive = sub.add_parser("drive-array", help="(started by the tracker) start a throttled array's queued "
                                               "tasks as slots free, until none is left")
    drive.add_argument("key", metavar="ARRAY")
    drive.add_argument("--lock-fd", type=int, default=None, help="the driver lock, handed over by the spawner")

    keep = sub.add_parser("keep-deadlines", help="(started by the tracker) terminate jobs at their wallclock "
                                                 "limit, until no limited job is left")
    keep.add_argument("--lock-fd", type=int, default=None, help="the keeper lock, handed over by the spawner")
    sub.add_parser("keeper", help="the deadline keeper's pid (wallclock limits), '-' when none runs")

    logs = sub.add_parser("logs", help="print a job's output")
    logs.add_argument("id", metavar="ID")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    return parser
