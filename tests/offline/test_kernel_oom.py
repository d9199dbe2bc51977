"""An OOM kill the Docker engine missed (it can lose containerd's OOM event
to the exit under load) is read from the kernel's own log, one read for all
jobs; once told, the answer is kept in the job's folder, because neither the
engine's event buffer nor the kernel's ring buffer keeps it for ever."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hypothesis import given
from hypothesis import strategies as st

from containerd_tracker_cli import ContainerdJobTracker, JobNotFoundError, JobState
from containerd_tracker_cli.backends import kernel_log
from containerd_tracker_cli.runner import Completed, Runner
from containerd_tracker_cli.runner.cassette import Cassette, RecordingRunner

from .docker_engine import Engine, inspected as _inspected

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


def test_every_docker_kill_in_a_real_kernel_log_is_found_and_nothing_else():
    """fixtures/kernel: the oom-kill lines of the CI machine's log, ctr jobs
    (/default/<job ID>) and docker ones (/docker/<64-hex ID>) mixed."""
    text = (Path(__file__).resolve().parents[2] / "fixtures" / "kernel" / "oom-kill-linux-6.18-cgroup-v1.txt").read_text()
    docker_ids = set(re.findall(r"task_memcg=/docker/([0-9a-f]{64}),", text))
    assert docker_ids and kernel_log.relevant(text) == text
    assert kernel_log.oom_killed(text, docker_ids | {OTHER_ID}) == docker_ids


def test_systemd_scopes_and_kernels_before_4_19_read_the_same():
    systemd = f"oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/system.slice/docker-{ENGINE_ID}.scope,task=dd\n"
    old = (f"[  12.5] Task in /docker/{ENGINE_ID} killed as a result of limit of /docker/{ENGINE_ID}\n"
           "[  12.5] memory: usage 16384kB, limit 16384kB, failcnt 120\n")
    assert kernel_log.oom_killed(systemd, [ENGINE_ID]) == kernel_log.oom_killed(old, [ENGINE_ID]) == {ENGINE_ID}


def test_a_short_or_foreign_id_is_never_taken_for_a_container():
    text = KILLED_LINE.format(id=ENGINE_ID)
    assert kernel_log.oom_killed(text, [ENGINE_ID[:12], "oom-job", ""]) == set()


def test_a_kernel_logging_its_callers_reads_the_same():
    with_caller = KILLED_LINE.format(id=ENGINE_ID).replace("] oom-kill:", "] [ T3268] oom-kill:")
    assert kernel_log.oom_killed(with_caller, [ENGINE_ID]) == {ENGINE_ID}


def test_a_message_quoting_the_kernels_words_is_not_taken_for_them():
    forged = (f'[  99.1] audit: type=1400 name="x oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/docker/{ENGINE_ID}"\n'
              f'[  99.2] sh[77]: segfault in Task in /docker/{ENGINE_ID} killed as a result of limit of /\n'
              # a process named "oom-kill:xxxxxx" crashing in a binary named after the cgroup
              f'[  99.3] oom-kill:xxxxxx[78]: segfault at 0 ip 1 sp 2 error 4 in task_memcg=/docker/{ENGINE_ID}\n'
              f'[  99.4]\n   oom-kill:constraint=X,task_memcg=/docker/{ENGINE_ID},task=dd\n')  # not one line
    longer = KILLED_LINE.format(id=ENGINE_ID + "ab")  # a longer hex run holds no 64-hex ID
    assert kernel_log.oom_killed(forged + longer, [ENGINE_ID]) == set()


@given(st.lists(st.one_of(st.text(), st.sampled_from(KILLED_LINE.format(id=ENGINE_ID).splitlines()),
                          st.sampled_from(KILLED_LINE.format(id=OTHER_ID).splitlines()))),
       st.lists(st.sampled_from([ENGINE_ID, OTHER_ID, "short", ""])))
def test_a_recording_keeps_all_that_is_read_of_the_log_and_only_that(lines, ids):
    text = "\n".join(lines)
    kept = kernel_log.relevant(text)
    assert kernel_log.oom_killed(kept, ids) == kernel_log.oom_killed(text, ids)
    assert all("task_memcg=" in line or "Task in " in line for line in kept.splitlines())


def _tracker(runner: Runner, state: Path) -> ContainerdJobTracker:
    """A tracker whose state directory has the job's folder, as the one
    that submitted it has."""
    (state / "jobs" / "default" / JOB).mkdir(parents=True, exist_ok=True)
    return ContainerdJobTracker("oom", backend="docker", address="unix:///run/docker.sock", runner=runner,
                                state_dir=state, job_owner="someone")


def _kept(state: Path) -> str | None:
    path = state / "jobs" / "default" / JOB / "oom-killed"
    return path.read_text() if path.exists() else None


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


def test_a_kill_the_engine_logged_needs_no_kernel_log(tmp_path):
    oom = json.dumps({"status": "oom", "id": ENGINE_ID, "Type": "container", "Action": "oom",
                      "Actor": {"ID": ENGINE_ID, "Attributes": {"name": JOB}}, "time": 1795582801})
    engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], None, events=f"WARNING: not an event\n{oom}\n")
    assert _tracker(engine, tmp_path).job_info(JOB).sub_state == "oom-killed"  # an odd line is no error
    assert engine.calls("dmesg") == 0 and _kept(tmp_path) == "true"


def test_once_told_an_answer_stays_after_the_kernel_log_has_rolled_over(tmp_path):
    for line, answer, sub_state in ((KILLED_LINE.format(id=ENGINE_ID), "true", "oom-killed"), ("", "false", "stopped")):
        state = tmp_path / answer
        engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], line)
        tracker = _tracker(engine, state)
        assert tracker.job_info(JOB).sub_state == sub_state
        engine.kernel = KILLED_LINE.format(id=ENGINE_ID) if answer == "false" else "[99999.0] nothing of it\n"
        assert tracker.job_info(JOB).sub_state == sub_state
        assert _tracker(engine, state).job_info(JOB).sub_state == sub_state  # another process too
        assert (engine.calls("dmesg"), _kept(state)) == (1, answer)


def test_the_kept_answer_goes_with_the_job(tmp_path):
    engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], KILLED_LINE.format(id=ENGINE_ID))
    tracker = _tracker(engine, tmp_path)
    assert tracker.job_info(JOB).sub_state == "oom-killed" and _kept(tmp_path) == "true"
    tracker.delete_job(JOB)
    assert not (tmp_path / "jobs" / "default" / JOB).exists()


def test_a_container_not_ours_gets_no_folder_and_no_question(tmp_path):
    engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20, drmaa2=False)], KILLED_LINE.format(id=ENGINE_ID))
    tracker = _tracker(engine, tmp_path)
    (tmp_path / "jobs" / "default" / JOB).rmdir()
    with pytest.raises(JobNotFoundError):
        tracker.job_info(JOB)
    assert (engine.calls("dmesg"), engine.calls("events")) == (0, 0)
    assert not (tmp_path / "jobs" / "default" / JOB).exists()


def test_an_unreadable_kernel_log_leaves_the_engines_view_and_is_not_asked_again(tmp_path):
    for kernel in (None, Completed(("dmesg",), 1, "", "dmesg: read kernel buffer failed: Operation not permitted\n")):
        engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], kernel)
        state = tmp_path / str(kernel is None)
        tracker = _tracker(engine, state)
        (state / "jobs" / "default" / JOB).rmdir()  # made elsewhere: nothing is kept here, so only
        for _ in range(2):                           # this process's memory spares a second dmesg
            info = tracker.job_info(JOB)
            assert (info.state, info.exit_status, info.sub_state) == (JobState.FAILED, 137, "stopped")
        assert engine.calls("dmesg") == 1


def test_the_engines_own_mark_needs_no_other_witness(tmp_path):
    engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20, oom=True)], None)
    assert _tracker(engine, tmp_path).job_info(JOB).sub_state == "oom-killed"
    assert engine.calls("dmesg") == engine.calls("events") == 0


def test_a_recording_stores_only_the_kernel_logs_oom_lines(tmp_path):
    noise = "[  1.0] secret host detail: eth0 up\n"
    engine = Engine([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], noise + KILLED_LINE.format(id=ENGINE_ID) + noise)
    cassette = Cassette(tmp_path / "rec.json")
    assert _tracker(RecordingRunner(engine, cassette), tmp_path / "state").job_info(JOB).sub_state == "oom-killed"
    stored = [i for i in cassette.interactions if i.get("argv") == ["dmesg"]]
    assert len(stored) == 1 and "secret" not in stored[0]["stdout"]
    assert kernel_log.oom_killed(stored[0]["stdout"], [ENGINE_ID]) == {ENGINE_ID}


def test_a_dmesg_that_hangs_once_is_asked_again_and_nothing_is_kept(tmp_path):
    from containerd_tracker_cli.runner import CommandTimeout

    class HangsOnce(Engine):
        def run(self, argv, *, timeout, stdin=None):
            if argv[0] == "dmesg" and self.calls("dmesg") == 0:
                self.asked.append(list(argv))
                raise CommandTimeout(argv, timeout)
            return super().run(argv, timeout=timeout, stdin=stdin)

    engine = HangsOnce([_inspected(ENGINE_ID, JOB, 137, 16 << 20)], KILLED_LINE.format(id=ENGINE_ID))
    tracker = _tracker(engine, tmp_path)
    assert tracker.job_info(JOB).sub_state == "stopped" and _kept(tmp_path) is None  # not known yet
    assert tracker.job_info(JOB).sub_state == "oom-killed" and _kept(tmp_path) == "true"
