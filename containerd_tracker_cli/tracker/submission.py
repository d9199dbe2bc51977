"""From a JobTemplate to what the backend must create: validation, the
process's argv, output files, labels. Pure except for resolving paths."""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..backends.base import OutputDelivery
from ..backends.images import normalize_image_ref
from ..backends.models import ContainerSpec, ImageConfig, Mount
from ..drmaa2.errors import InvalidArgumentError, UnsupportedAttributeError
from ..drmaa2.models import JobTemplate
from ..records import labels as L
from ..records.statedir import StateDir
from .paths import expand_path
from .resources import host_owner, resources

STDIN_MOUNT = "/.containerd-tracker/stdin"
#: rlimit → (the POSIX sh ``ulimit`` option, bytes per unit of it): core and
#: fsize in 512-byte blocks, sizes in KiB (dash, busybox ash, bash as sh).
_ULIMIT = {"core": ("-c", 512), "cpu": ("-t", 1), "data": ("-d", 1024), "fsize": ("-f", 512),
           "nofile": ("-n", 1), "stack": ("-s", 1024), "as": ("-v", 1024)}


def shell_wrapper(rlimits: dict[str, int], stdin: bool) -> list[str]:
    """``/bin/sh -c '…; exec "$@"' sh`` + the job's argv: sets the limits
    (a limit the shell cannot set fails the job, never runs it unlimited) and
    redirects stdin; ``exec`` keeps the job's own program as PID 1, so
    signals reach it unchanged."""
    steps = [f"ulimit {_ULIMIT[name][0]} {value // _ULIMIT[name][1]}" for name, value in sorted(rlimits.items())]
    steps.append('exec "$@"' + (f" < {STDIN_MOUNT}" if stdin else ""))
    return ["/bin/sh", "-c", " && ".join(steps), "sh"]


STDIN_WRAPPER = shell_wrapper({}, stdin=True)
#: containerd's default spec: RLIMIT_NOFILE 1024 (soft and hard), and no CAP_SYS_RESOURCE to raise it.
SHELL_NOFILE_CEILING = 1024


def wrapped(args: list[str]) -> bool:
    """Whether a container's argv starts with the tracker's shell wrapper."""
    return len(args) > 3 and args[0] == "/bin/sh" and args[1] == "-c" and args[2].endswith(
        ('exec "$@"', f'exec "$@" < {STDIN_MOUNT}')) and args[3] == "sh"

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SEPARATORS = re.compile(r"[._-]{2,}")


def _unsupported(template: JobTemplate) -> list[str]:
    """Set attributes this tracker cannot honour (silently ignoring them
    would run a job other than the one asked for)."""
    found = []
    if template.email or template.email_on_started or template.email_on_terminated:
        found.append("email")
    if template.reservation_id:
        found.append("reservation_id")
    if template.queue_name:
        found.append("queue_name")
    if template.start_time or template.deadline_time:
        found.append("start_time/deadline_time")
    host = socket.gethostname()
    if template.candidate_machines and host not in template.candidate_machines:
        found.append(f"candidate_machines (this host is {host!r})")
    return found


def _nul_fields(template: JobTemplate) -> list[str]:
    """Fields holding a NUL byte, which no process argument, environment
    variable or label can carry."""
    found = []
    for name, value in template:
        values = value.items() if isinstance(value, dict) else value if isinstance(value, list) else [value]
        flat = [part for item in values for part in (item if isinstance(item, tuple) else (item,))]
        if any(isinstance(part, str) and "\0" in part for part in flat):
            found.append(name)
    return found


def validate(template: JobTemplate) -> str:
    """Check the template; return the normalised image reference."""
    if not isinstance(template, JobTemplate):
        raise InvalidArgumentError(f"expected a JobTemplate, got {type(template).__name__}")
    with_nul = _nul_fields(template)
    if with_nul:
        raise InvalidArgumentError("a NUL byte cannot be passed to a job: " + ", ".join(with_nul))
    if not template.job_category:
        raise InvalidArgumentError("job_category (the container image) is required")
    unsupported = _unsupported(template)
    if unsupported:
        raise UnsupportedAttributeError("the containerd tracker cannot honour: " + ", ".join(unsupported))
    if template.remote_command is not None and not template.remote_command.strip():
        raise InvalidArgumentError("remote_command is empty")
    for key in template.job_environment:
        if not key or "=" in key or "\0" in key:
            raise InvalidArgumentError(f"invalid environment variable name {key!r}")
    if template.working_directory is not None and not template.working_directory.startswith("/"):
        raise InvalidArgumentError(
            f"working_directory must be an absolute path inside the container, got {template.working_directory!r}"
        )
    try:
        return normalize_image_ref(template.job_category)
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from exc


def process_args(template: JobTemplate, image_config: Callable[[], ImageConfig],
                 rlimits: dict[str, int] | None = None) -> list[str] | None:
    """The job's argv; ``None`` leaves the image default to containerd.

    remote_command + args when a command is set; else args replace the
    image's Cmd with its Entrypoint kept; else the image's own default.
    ``rlimits`` (and an input file) wrap it in the image's shell.
    """
    if template.remote_command is not None:
        args: list[str] | None = [template.remote_command, *template.args]
    elif template.args:
        args = [*image_config().entrypoint, *template.args]
    else:
        args = None
    if template.input_path is not None or rlimits:
        if args is None:
            config = image_config()
            args = [*config.entrypoint, *config.cmd]
        if not args:
            raise InvalidArgumentError("the image defines no command and the template gives none")
        args = [*shell_wrapper(rlimits or {}, stdin=template.input_path is not None), *args]
    return args


_LABEL_SOURCES = {L.JOB_NAME: "job_name", L.SESSION: "the session name", L.STDOUT: "output_path",
                  L.STDERR: "error_path", L.LOG_URI: "output_path/error_path"}


def _check_label_sizes(labels: dict[str, str]) -> None:
    """A value containerd would refuse is the template's fault: say which field."""
    for key, value in labels.items():
        size = len(key.encode()) + len(value.encode())
        if size > L.LABEL_LIMIT:
            raise InvalidArgumentError(
                f"{_LABEL_SOURCES.get(key, key)} is too long: containerd keeps at most {L.LABEL_LIMIT} bytes "
                f"per label (key and value), this one needs {size}")


def make_key(job_name: str | None, token: str) -> str:
    """Readable, unique even when jobs share a name: ``<name>-<token>``.
    The container ID with ctr; the container name with nerdctl/docker."""
    # containerd IDs: alphanumeric runs joined by single '.', '_' or '-'.
    slug = _SEPARATORS.sub("-", _ID_UNSAFE.sub("-", job_name or "")).strip("-._")[:48].strip("-._")
    return f"{slug or 'job'}-{token}"


@dataclass
class Plan:
    spec: ContainerSpec
    stdin: Path | None
    #: How the backend is to deliver the output (``None``: the CLI keeps it).
    log_uri: str | None
    hold: bool
    #: Output files to create before the job starts.
    files: list[Path] = field(default_factory=list)
    #: (uid, gid) the job runs as on the host, if known: its files are given to it.
    owner: tuple[int, int] | None = None

    @property
    def wrapped(self) -> bool:
        return self.spec.args is not None and wrapped(self.spec.args)


def plan(
    template: JobTemplate,
    *,
    key: str,
    image: str,
    session: str,
    owner: str,
    state: StateDir,
    output: OutputDelivery,
    image_config: Callable[[], ImageConfig],
    index: int | None = None,
    array: str | None = None,
    native_rlimits: frozenset[str] = frozenset(),
) -> Plan:
    """Everything needed to create the job, nothing created yet."""
    res = resources(template, index)
    stdout = expand_path(template.output_path, index) if template.output_path else state.default_output(key)
    if template.join_files:
        stderr = stdout
    elif template.error_path:
        stderr = expand_path(template.error_path, index)
    elif template.output_path:
        stderr = state.default_error(key)  # keep stderr, apart, where the tracker keeps output
    else:
        stderr = stdout
    stdin = expand_path(template.input_path, index) if template.input_path else None
    if stdin is not None and not stdin.is_file():
        raise InvalidArgumentError(f"input_path {str(stdin)!r} is not a readable file")
    for target in {stdout, stderr}:
        parent = target.parent
        if not parent.is_dir() and not str(parent).startswith(str(state.root)):
            raise InvalidArgumentError(f"directory of output file {str(target)!r} does not exist")
    env = dict(template.job_environment)
    if index is not None:
        env["TASK_ID"] = str(index)
    labels = {
        L.DRMAA2: "true",
        L.SESSION: session,
        L.OWNER: owner,
        L.KEY: key,
        L.STDOUT: str(stdout),
        L.STDERR: str(stderr),
    }
    if template.job_name:
        labels[L.JOB_NAME] = template.job_name
    if index is not None:
        labels[L.ARRAY_INDEX] = str(index)
    if array is not None:
        labels[L.ARRAY] = array
    if template.submit_as_hold:
        labels[L.HOLD] = "true"
    if res.wallclock_seconds is not None:
        labels[L.WALLCLOCK] = str(res.wallclock_seconds)
        labels[L.LIMITED] = "true"
    log_uri = output.log_uri(key, stdout, stderr)
    if log_uri is not None:
        labels[L.LOG_URI] = log_uri
    _check_label_sizes(labels)
    labels.update(L.encode_template(template))
    mounts = [Mount(source=str(stdin), destination=STDIN_MOUNT, read_only=True)] if stdin else []
    if any(m.destination.startswith("/.containerd-tracker") for m in res.mounts):
        raise InvalidArgumentError("stage_in_files/stage_out_files: /.containerd-tracker is the tracker's own")
    shell_limits = {k: v for k, v in res.rlimits.items() if k not in native_rlimits}
    if shell_limits.get("nofile", 0) > SHELL_NOFILE_CEILING:
        raise InvalidArgumentError(
            f"resource_limits OPEN_FILES above {SHELL_NOFILE_CEILING}: containerd gives a task a hard limit of "
            f"{SHELL_NOFILE_CEILING} open files, which the job's shell cannot raise (use docker or nerdctl)")
    spec = ContainerSpec(
        id=key,
        image=image,
        args=process_args(template, image_config, shell_limits),
        env=env,
        cwd=template.working_directory,
        labels=labels,
        mounts=mounts + res.mounts,
        network=res.network,
        user=res.user,
        memory_bytes=res.memory_bytes,
        cpus=res.cpus,
        rlimits={k: v for k, v in res.rlimits.items() if k in native_rlimits},
    )
    return Plan(
        spec=spec,
        stdin=stdin,
        log_uri=log_uri,
        hold=template.submit_as_hold,
        files=sorted({stdout, stderr}),
        owner=host_owner(res.user) if res.user else None,
    )

