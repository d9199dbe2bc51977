"""The labels a job carries in containerd.

drmaa2os' keys (``drmaa2``, ``jobSessionName``, ``jobName``, ``jobTemplate``)
make jobs of either tracker visible to both. Everything only this project
needs lives under ``containerd-tracker/``. Labels are the durable record: any
process that can reach containerd sees them, whatever its state directory.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import zlib
import signal
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Mapping

from .timeparse import format_time, parse_go_time

if TYPE_CHECKING:
    from ..drmaa2.models import JobTemplate

DRMAA2 = "drmaa2"
SESSION = "jobSessionName"
JOB_NAME = "jobName"
TEMPLATE = "jobTemplate"

PREFIX = "containerd-tracker/"
TEMPLATE_CHUNK = PREFIX + "jobTemplate."
OWNER = PREFIX + "owner"
#: Names the job's folder in the state directory. It is the container ID with
#: ctr; nerdctl and docker choose their own IDs, known only after creation.
KEY = PREFIX + "key"
HOLD = PREFIX + "hold"
LOG_URI = PREFIX + "log-uri"
STDOUT = PREFIX + "stdout"
STDERR = PREFIX + "stderr"
ARRAY_INDEX = PREFIX + "array-index"
#: Names the throttled array (max_parallel) a task waits in; see tracker/throttle.py.
ARRAY = PREFIX + "array"
EXIT_STATUS = PREFIX + "exit-status"
FINISH_TIME = PREFIX + "finish-time"
CPU_NS = PREFIX + "cpu-ns"
TERMINATED_BY = PREFIX + "terminated-by"
#: The job's wallclock limit in seconds; with LIMITED "true", which the
#: deadline keeper lists (tracker/deadlines.py).
WALLCLOCK = PREFIX + "wallclock"
LIMITED = PREFIX + "limited"
#: "true": the kernel killed the job for exceeding its memory limit.
OOM_KILLED = PREFIX + "oom-killed"
#: The namespace a job was submitted in, where the CLI has none (docker: one
#: engine, one set of containers); a job without it belongs to "default".
NAMESPACE = PREFIX + "namespace"
#: Set by the ctr backend to see its own update come back (see CtrBackend.prove_subscribed).
PROBE = PREFIX + "probe"
STOP_SIGNAL = "io.containerd.image.config.stop-signal"

#: containerd refuses a label whose key plus value exceeds this many bytes.
LABEL_LIMIT = 4096


def folder_of(container_id: str, labels: Mapping[str, str]) -> str:
    """The job's folder in the state directory (jobs made before the key
    label existed, and drmaa2os' jobs, use the container ID)."""
    return labels.get(KEY) or container_id


def encode_template(template: JobTemplate) -> dict[str, str]:
    """Labels holding the template.

    drmaa2os' ``jobTemplate`` (base64 of Go's JSON) when it fits in one label;
    otherwise gzip+base64 split over ``containerd-tracker/jobTemplate.N`` so a
    large template (big environment, many args) never fails a submission.
    """
    raw = template.to_go_json().encode()
    single = base64.b64encode(raw).decode()
    if len(TEMPLATE) + len(single) <= LABEL_LIMIT:
        return {TEMPLATE: single}
    packed = base64.b64encode(gzip.compress(raw, mtime=0)).decode()
    size = LABEL_LIMIT - len(TEMPLATE_CHUNK) - 6
    return {f"{TEMPLATE_CHUNK}{i // size:04d}": packed[i : i + size] for i in range(0, len(packed), size)}


def decode_template(labels: Mapping[str, str]) -> JobTemplate | None:
    from ..drmaa2.models import JobTemplate

    if TEMPLATE in labels:
        return JobTemplate.model_validate_json(base64.b64decode(labels[TEMPLATE]))
    chunks = sorted((k, v) for k, v in labels.items() if k.startswith(TEMPLATE_CHUNK))
    if not chunks:
        return None
    packed = "".join(v for _, v in chunks)
    try:
        raw = gzip.decompress(base64.b64decode(packed))
    except (OSError, EOFError, zlib.error, binascii.Error) as exc:  # a damaged label set
        raise ValueError(f"template labels do not decode: {exc}") from exc
    return JobTemplate.model_validate_json(raw)


def oom_killed(exit_status: int, oom_kills: int) -> bool:
    """A job ended by the kernel's OOM killer: it died of SIGKILL (137, also
    a shell whose child was killed so) and its cgroup counted an OOM kill."""
    return exit_status == 128 + signal.SIGKILL and oom_kills > 0


@dataclass(frozen=True)
class ExitRecord:
    """How a job ended, as recorded in its labels."""

    exit_status: int
    finish_time: datetime | None
    cpu_ns: int | None = None
    terminated_by: str | None = None
    oom_killed: bool = False

    @property
    def terminating_signal(self) -> str | None:
        """The signal that ended the job: the one we sent, else 128+N."""
        if self.terminated_by:
            return self.terminated_by
        if 128 < self.exit_status < 128 + 65:
            try:
                return signal.Signals(self.exit_status - 128).name
            except ValueError:
                return None
        return None

    def to_labels(self) -> dict[str, str]:
        labels = {EXIT_STATUS: str(self.exit_status)}
        if self.finish_time:
            labels[FINISH_TIME] = format_time(self.finish_time)
        if self.cpu_ns is not None:
            labels[CPU_NS] = str(self.cpu_ns)
        if self.terminated_by:
            labels[TERMINATED_BY] = self.terminated_by
        if self.oom_killed:
            labels[OOM_KILLED] = "true"
        return labels

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> "ExitRecord | None":
        if EXIT_STATUS not in labels:
            return None
        try:
            cpu = labels.get(CPU_NS)
            return cls(
                exit_status=int(labels[EXIT_STATUS]),
                finish_time=parse_go_time(labels.get(FINISH_TIME)),
                cpu_ns=int(cpu) if cpu else None,
                terminated_by=labels.get(TERMINATED_BY) or None,
                oom_killed=labels.get(OOM_KILLED) == "true",
            )
        except ValueError:
            return None
