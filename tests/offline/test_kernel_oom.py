"""An OOM kill the Docker engine missed (it can lose containerd's OOM event
to the exit under load) is read from the kernel's own log, one read for all
jobs; once told, it is written down, because neither the engine's event
buffer nor the kernel's ring buffer keeps it for ever."""
from __future__ import annotations

import json
import threading
from typing import Sequence

from hypothesis import given
from hypothesis import strategies as st

from containerd_tracker_cli import ContainerdJobTracker, JobState
from containerd_tracker_cli.backends import kernel_log
from containerd_tracker_cli.records import labels as L
from containerd_tracker_cli.runner import CommandNotFound, Completed, Runner, Stream

JOB = "oom-0123456789ab"
ENGINE_ID = "1486023a981cdd1cc3153ae14fdbe10274ce043006f892d355aac572e139e46e"
OTHER_ID = "9f" * 32

# As this machine's kernel (6.18, cgroup v1, docker's cgroupfs driver) logged it.
KILLED_LINE = (
    "[50712.957126] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset={id},mems_allowed=0,"
    "oom_memcg=/docker/{id},task_memcg=/docker/{id},task=dd,pid=3268,uid=0\n"
    "[50712.957135] Memory cgroup out of memory: Killed process 3268 (dd) total-vm:67804kB, anon-rss:16000kB, "
    "file-rss:1184kB, shmem-rss:0kB, UID:0 pgtables:72kB oom_score_adj:0\n")


def test_the_kernels_oom_kill_line_names_the_container():
    assert kernel_log.oom_killed(KILLED_LINE.format(id=ENGINE_ID), [ENGINE_ID, OTHER_ID]) == {ENGINE_ID}
    # Only the killed task's cgroup counts, not a cpuset or a limit's cgroup.
    other_task = KILLED_LINE.format(id=ENGINE_ID).replace(f"task_memcg=/docker/{ENGINE_ID}",
                                                          f"task_memcg=/docker/{OTHER_ID}")
    assert kernel_log.oom_killed(other_task, [ENGINE_ID]) == set()


def test_systemd_scopes_and_kernels_before_4_19_read_the_same():
    systemd = f"oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/system.slice/docker-{ENGINE_ID}.scope,task=dd\n"
    old = (f"[  12.5] Task in /docker/{ENGINE_ID} killed as a result of limit of /docker/{ENGINE_ID}\n"
           "[  12.5] memory: usage 16384kB, limit 16384kB, failcnt 120\n")
    assert kernel_log.oom_killed(systemd, [ENGINE_ID]) == kernel_log.oom_killed(old, [ENGINE_ID]) == {ENGINE_ID}


def test_a_short_or_foreign_id_is_never_taken_for_a_container():
    text = KILLED_LINE.format(id=ENGINE_ID)
    assert kernel_log.oom_killed(text, [ENGINE_ID[:12], "oom-job", ""]) == set()


@given(st.text(), st.lists(st.sampled_from([ENGINE_ID, OTHER_ID, "short", ""])))
def test_any_text_reads_as_a_subset_of_the_ids_asked(text, ids):
    assert kernel_log.oom_killed(text, ids) <= set(ids)


def _inspected(engine_id: str, name: str, exit_code: int, memory: int, oom: bool = False) -> dict:
    return {
        "Id": engine_id, "Name": f"/{name}", "Created": "2026-11-26T05:00:00.000000000Z",
        "Path": "dd", "Args": ["if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
        "State": {"Status": "exited", "Running": False, "Paused": False, "OOMKilled": oom, "Pid": 0,
                  "ExitCode": exit_code, "StartedAt": "2026-11-26T05:00:01.000000000Z",
                  "FinishedAt": "2026-11-26T05:00:02.000000000Z"},
        "HostConfig": {"Memory": memory},
        "Config": {"Image": "busybox", "Env": [], "Labels": {
            L.DRMAA2: "true", L.SESSION: "oom", L.OWNER: "someone", L.JOB_NAME: "oom",
            L.KEY: name}},
    }


class Engine(Runner):
    """A docker engine whose containers ended as given, whose event buffer
    holds no ``oom`` event, and a host whose kernel log is ``kernel``
    (``None``: no dmesg installed; a ``Completed``: dmesg's answer)."""

    concurrency = 4

    def __init__(self, containers: list[dict], kernel: str | Completed | None) -> None:
        self.containers = containers
        self.kernel = kernel
        self.asked: list[list[str]] = []
        self.lock = threading.Lock()

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        with self.lock:
            self.asked.append(list(argv))
        if argv[0] == "dmesg":
            if self.kernel is None:
                raise CommandNotFound("executable not found", argv)
            return self.kernel if isinstance(self.kernel, Completed) else Completed(tuple(argv), 0, self.kernel, "")
        if "inspect" in argv:
            return Completed(tuple(argv), 0, json.dumps([c for c in self.containers
                                                         if c["Name"][1:] in argv or c["Id"] in argv]), "")
        if "events" in argv or "logs" in argv:
            return Completed(tuple(argv), 0, "", "")
        raise AssertionError(f"not expected here: {' '.join(argv)}")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError(f"no stream expected: {' '.join(argv)}")

    def calls(self, word: str) -> int:
        return sum(1 for argv in self.asked if word in argv)


def _tracker(engine: Engine, tmp_path) -> ContainerdJobTracker:
    return ContainerdJobTracker("oom", backend="docker", address="unix:///run/docker.sock", runner=engine,
                                state_dir=tmp_path, job_owner="someone")


def test_a_kill_the_engine_missed_is_read_from_the_kernel_log_once_for_all(tmp_path):
    ended = [_inspected(ENGINE_ID, JOB, 137, 16 << 20), _inspected(OTHER_ID, "oom-ba9876543210", 137, 16 << 20),
             _inspected("ab" * 32, "plain-0123456789ab", 137, 0)]  # killed, with no memory limit: never asked
    engine = Engine(ended, KILLED_LINE.format(id=ENGINE_ID))
    infos = _tracker(engine, tmp_path).job_infos([JOB, "oom-ba9876543210", "plain-0123456789ab"])
    assert (infos[JOB].state, infos[JOB].exit_status, infos[JOB].sub_state) == (JobState.FAILED, 137, "oom-killed")
    assert infos[JOB].extension.extension_list["oom_killed"] == "true"
    assert "oom_killed" not in infos["oom-ba9876543210"].extension.extension_list  # killed, not for memory
    assert (engine.calls("dmesg"), engine.calls("events")) == (1, 1)
    events = next(argv for argv in engine.asked if "events" in argv)
    assert {ENGINE_ID, OTHER_ID} == {arg.split("=", 1)[1] for arg in events if arg.startswith("container=")}


def test_once_told_an_oom_kill_stays_after_the_kernel_log_has_rolled_over(tmp_path):
    engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], KILLED_LINE.format(id=ENGINE_ID))
    tracker = _tracker(engine, tmp_path)
    assert tracker.job_info(JOB).sub_state == "oom-killed"
    engine.kernel = "[99999.0] nothing about it any more\n"
    assert tracker.job_info(JOB).sub_state == "oom-killed"
    assert _tracker(engine, tmp_path).job_info(JOB).sub_state == "oom-killed"  # another process too
    assert engine.calls("dmesg") == 1


def test_an_unreadable_kernel_log_leaves_the_engines_view_without_an_error(tmp_path):
    for kernel in (None, Completed(("dmesg",), 1, "", "dmesg: read kernel buffer failed: Operation not permitted\n")):
        engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], kernel)
        info = _tracker(engine, tmp_path / str(kernel is None)).job_info(JOB)
        assert (info.state, info.exit_status, info.sub_state) == (JobState.FAILED, 137, "stopped")


def test_the_engines_own_mark_needs_no_kernel_log(tmp_path):
    engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20, oom=True)], None)
    assert _tracker(engine, tmp_path).job_info(JOB).sub_state == "oom-killed"
    assert engine.calls("dmesg") == engine.calls("events") == 0
