"""A job's DRMAA2 JobInfo, built from one snapshot."""
from __future__ import annotations

import shlex
import socket
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..backends.base import ContainerBackend
from ..backends.models import TaskStatus
from ..drmaa2.states import TERMINAL_STATES
from ..records import labels as L
from ..records.statedir import StateDir
from .observation import Snapshot

if TYPE_CHECKING:
    from ..drmaa2.models import JobInfo


def _resources(labels: dict[str, str]) -> dict[str, str]:
    """What the job was given beyond the defaults, from its template (only
    when the template asked for any: decoding it costs a little per job)."""
    try:
        template = L.decode_template(labels)
    except ValueError:
        return {}
    if template is None:
        return {}
    found = {key: value for key, value in template.extension.extension_list.items()
             if key in ("network", "net", "user", "memory", "cpus") and value}
    found.update({f"limit.{key.upper()}": value for key, value in template.resource_limits.items()})
    mounts = [f"{host}:{inner}" for host, inner in template.stage_in_files.items()]
    mounts += [f"{host}:{inner}" for inner, host in template.stage_out_files.items()]
    if mounts:
        found["mounts"] = ",".join(mounts)
    return found


def job_info(job: Snapshot, backend: ContainerBackend, state: StateDir, *, cpu_time: bool = True) -> "JobInfo":
    """``cpu_time=False`` leaves a running job's CPU time out: reading it is
    one CLI call per running job (ctr: ``tasks metrics``)."""
    from ..drmaa2.models import Extension, JobInfo

    info, labels = job.info, job.info.labels
    pid_file = state.pid_file(job.folder)
    dispatch = job.started_at
    if pid_file.exists():
        dispatch = datetime.fromtimestamp(pid_file.stat().st_mtime, tz=timezone.utc)
    finish = job.exit.finish_time if job.exit else None
    cpu_ns = job.exit.cpu_ns if job.exit else None
    if job.task is not None and job.task.status in (TaskStatus.RUNNING, TaskStatus.PAUSED, TaskStatus.PAUSING):
        cpu_ns = backend.task_cpu_ns(job.id) if cpu_time else None
    wallclock = None
    if dispatch is not None:
        end = finish or (None if job.state in TERMINAL_STATES else datetime.now(timezone.utc))
        if end is not None:
            wallclock = max(end - dispatch, timedelta(0))
    extension = {
        "image": info.image,
        "command_line": shlex.join(info.args),
        "working_directory": info.cwd,
        "namespace": backend.namespace,
        "stdout": labels.get(L.STDOUT, ""),
        "stderr": labels.get(L.STDERR, ""),
    }
    if job.task is not None:
        extension["pid"] = str(job.task.pid)
    if job.exit is not None and job.exit.oom_killed:
        extension["oom_killed"] = "true"
    extension.update(_resources(labels))
    if job.exit is not None and job.exit.exit_status == 137 and (limit := state.limit_hit(job.folder)):
        extension["limit_exceeded"] = limit
    if L.ARRAY_INDEX in labels:
        extension["task_id"] = labels[L.ARRAY_INDEX]
    host = socket.gethostname()
    return JobInfo(
        id=job.id,
        exit_status=job.exit.exit_status if job.exit else None,
        terminating_signal=job.exit.terminating_signal if job.exit else None,
        annotation=labels.get(L.JOB_NAME),
        state=job.state,
        sub_state=job.sub_state,
        allocated_machines=[host],
        submission_machine=host,
        job_owner=labels.get(L.OWNER),
        slots=1,
        wallclock_time=wallclock,
        cpu_time=None if cpu_ns is None else round(cpu_ns / 1e9),
        submission_time=info.created_at,
        dispatch_time=dispatch,
        finish_time=finish,
        extension=Extension(extension_list=extension),
    )
