"""Jobs that do real work: data mounts, network, memory and CPU limits,
rlimits, user, OOM — through every backend, against the real runtime."""
from __future__ import annotations

import http.server
import os
import subprocess
import threading
from pathlib import Path

import pytest

from containerd_tracker_cli import InvalidArgumentError, JobState, UnsupportedAttributeError
from containerd_tracker_cli.backends import kernel_log

from ..support import until
from .helpers import output_of, run_to_end, submit, template


def test_a_job_writes_into_a_mounted_host_directory(tracker, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("42\n")
    job_id = run_to_end(tracker, "sh", "-c", "read x < /data/in.txt; echo $((x + 1)) > /data/out.txt",
                        stage_in_files={str(data): "/data"})
    assert tracker.job_info(job_id).exit_status == 0
    assert (data / "out.txt").read_text() == "43\n"


def test_a_read_only_mount_refuses_writes_and_stage_out_is_read_write(tracker, tmp_path):
    source, results = tmp_path / "source", tmp_path / "results"
    source.mkdir()
    results.mkdir()
    job_id = run_to_end(tracker, "sh", "-c", "touch /in/x; echo $? > /out/status; echo done > /out/log",
                        stage_in_files={str(source): "/in:ro"}, stage_out_files={"/out": str(results)})
    assert tracker.job_info(job_id).exit_status == 0
    assert int((results / "status").read_text()) != 0  # the write was refused
    assert (results / "log").read_text() == "done\n"
    assert list(source.iterdir()) == []


def test_the_task_index_picks_each_tasks_mount(tracker, tmp_path):
    for i in (1, 2):
        (tmp_path / f"in-{i}").mkdir()
    array = tracker.add_array_job(template("sh", "-c", "echo $TASK_ID > /work/seen",
                                           stage_in_files={str(tmp_path / "in-$DRMAA2_INDEX$"): "/work"}), 1, 2, 1, 0)
    for job_id in tracker.list_array_jobs(array):
        tracker.wait(job_id, 30)
    assert [(tmp_path / f"in-{i}" / "seen").read_text() for i in (1, 2)] == ["1\n", "2\n"]


def test_a_missing_host_path_is_refused_and_leaves_nothing(tracker, tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        tracker.add_job(template("true", stage_in_files={str(tmp_path / "nowhere"): "/data"}))
    assert tracker.list_jobs() == []


@pytest.fixture
def loopback_server():
    """An HTTP server on the host's loopback: what a host-network job can reach."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = b"hello from the host\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_host_network_reaches_the_hosts_loopback_and_none_does_not(tracker, loopback_server):
    host = run_to_end(tracker, "wget", "-q", "-O", "-", loopback_server, extension={"extension_list": {"network": "host"}})
    assert (tracker.job_info(host).exit_status, output_of(tracker, host)) == (0, "hello from the host\n")
    isolated = run_to_end(tracker, "wget", "-q", "-T", "5", "-O", "-", loopback_server)
    assert tracker.job_info(isolated).exit_status != 0


def test_a_job_beyond_its_memory_limit_ends_oom_killed(tracker):
    job_id = run_to_end(tracker, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1",
                        extension={"extension_list": {"memory": "16m"}})
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status) == (JobState.FAILED, 137)
    # ctr: the cgroup's own OOM-kill count, read before the task goes. docker:
    # the engine's mark, else (containerd's OOM event lost to the exit under
    # load, seen in CI on 1.6 and 1.7) the kernel's log of the kill.
    assert info.sub_state == "oom-killed" and info.extension.extension_list["oom_killed"] == "true"
    if tracker.backend.name == "docker":  # the kernel's record names the container as kernel_log reads it
        assert kernel_log.oom_killed(subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout,
                                     [job_id]) == {job_id}
    # The same job with room to spare is not.
    roomy = tracker.job_info(run_to_end(tracker, "dd", "if=/dev/zero", "of=/dev/null", "bs=1M", "count=1",
                                        extension={"extension_list": {"memory": "64m"}}))
    assert (roomy.state, "oom_killed" in roomy.extension.extension_list) == (JobState.DONE, False)


def _cpu_quota_of(pid: str) -> str:
    """The CFS quota of a process's cgroup, read on the host (ctr mounts no
    cgroup filesystem into the container): cgroup v1 ``cpu.cfs_quota_us``,
    v2 the first field of ``cpu.max``."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            return (Path("/sys/fs/cgroup") / path.lstrip("/") / "cpu.max").read_text().split()[0]
        if "cpu" in controllers.split(","):
            return (Path("/sys/fs/cgroup") / controllers / path.lstrip("/") / "cpu.cfs_quota_us").read_text().strip()
    raise AssertionError(f"no cpu cgroup for pid {pid}")


@pytest.mark.parametrize("fields, quota", [
    ({"extension": {"extension_list": {"cpus": "0.5"}}}, "50000"),
    ({"max_slots": 2}, "200000"),
])
def test_a_cpu_quota_is_in_the_jobs_cgroup(tracker, fields, quota):
    job_id = tracker.add_job(template("sleep", "30", **fields))
    tracker.wait(job_id, 30, JobState.RUNNING)
    assert _cpu_quota_of(tracker.job_info(job_id).extension.extension_list["pid"]) == quota
    tracker.job_control(job_id, "terminate")


def test_drmaa2_resource_limits_are_the_jobs_rlimits(tracker):
    job_id = run_to_end(tracker, "sh", "-c", "ulimit -n; ulimit -f; ulimit -v",
                        resource_limits={"OPEN_FILES": "64", "FILE_SIZE": "8", "VIRTUAL_MEMORY": "262144"})
    # FILE_SIZE is in KiB, the shell shows 512-byte blocks; VIRTUAL_MEMORY in KiB.
    assert output_of(tracker, job_id) == "64\n16\n262144\n"
    spinner = tracker.job_info(run_to_end(tracker, "sh", "-c", "while :; do :; done",
                                          resource_limits={"CPU_TIME": "1"}))
    assert spinner.state == JobState.FAILED and spinner.terminating_signal in ("SIGXCPU", "SIGKILL")


def test_what_cannot_be_honoured_is_refused_by_name(tracker):
    for fields, error, words in [
        ({"resource_limits": {"PROCESSES": "10"}}, UnsupportedAttributeError, "PROCESSES"),
        ({"resource_limits": {"OPEN_FILES": "many"}}, InvalidArgumentError, "OPEN_FILES"),
        ({"min_phys_memory": 2**50}, InvalidArgumentError, "min_phys_memory"),
        ({"min_slots": 10_000}, InvalidArgumentError, "min_slots"),
        ({"extension": {"extension_list": {"network": "bridge"}}}, InvalidArgumentError, "network"),
        ({"extension": {"extension_list": {"memory": "lots"}}}, InvalidArgumentError, "memory"),
    ]:
        with pytest.raises(error, match=words):
            tracker.add_job(template("true", **fields))
    assert tracker.list_jobs() == []


def test_a_job_runs_as_the_user_asked_and_its_output_file_is_given_to_it(tracker, tmp_path):
    out = tmp_path / "id.out"
    os.chmod(tmp_path, 0o755)
    job_id = run_to_end(tracker, "sh", "-c", "id -u; id -g", output_path=str(out),
                        extension={"extension_list": {"user": "1000:1000"}})
    assert out.read_text() == "1000\n1000\n"
    assert (out.stat().st_uid, out.stat().st_gid) == (1000, 1000)
    assert tracker.job_info(job_id).extension.extension_list["user"] == "1000:1000"


def test_a_user_is_resolved_in_the_image_as_ctr_resolves_it(tracker):
    """The image's /etc/passwd has root and nobody and there is no /etc/group:
    what ctr 1.7's --user prints for these (ctr 1.6 gets it from the
    tracker's own runtime), a held job's too."""
    seen = {}
    for user in ("nobody", "1000", "nobody:7"):
        job_id = run_to_end(tracker, "id", extension={"extension_list": {"user": user}})
        seen[user] = output_of(tracker, job_id)
    held = submit(tracker, "id", submit_as_hold=True, extension={"extension_list": {"user": "65534"}})
    tracker.job_control(held, "release")
    tracker.wait(held, 30, JobState.DONE, JobState.FAILED)
    seen["65534 (held)"] = output_of(tracker, held)
    uid = "uid=65534(nobody)"
    assert seen == {"nobody": f"{uid} gid=65534 groups=65534\n", "1000": "uid=1000 gid=0 groups=0\n",
                    "nobody:7": f"{uid} gid=7 groups=7\n", "65534 (held)": f"{uid} gid=65534 groups=65534\n"}


def test_an_unknown_user_name_is_refused_and_leaves_nothing(tracker):
    with pytest.raises(InvalidArgumentError, match="nosuch"):
        tracker.add_job(template("id", extension={"extension_list": {"user": "nosuch"}}))
    assert tracker.list_jobs() == []


def test_the_template_and_info_give_it_all_back(tracker, tmp_path):
    fields = {"stage_in_files": {str(tmp_path): "/data:ro"}, "resource_limits": {"OPEN_FILES": "64"},
              "extension": {"extension_list": {"memory": "64m", "cpus": "0.5", "network": "host"}}}
    job_id = run_to_end(tracker, "true", **fields)
    again = tracker.job_template(job_id)
    assert (again.stage_in_files, again.resource_limits, again.extension.extension_list) == (
        fields["stage_in_files"], fields["resource_limits"], fields["extension"]["extension_list"])
    extension = tracker.job_info(job_id).extension.extension_list
    assert {k: extension[k] for k in ("memory", "cpus", "network", "limit.OPEN_FILES", "mounts")} == {
        "memory": "64m", "cpus": "0.5", "network": "host", "limit.OPEN_FILES": "64",
        "mounts": f"{tmp_path}:/data:ro"}
    assert Path(tmp_path).exists()


def test_a_wallclock_limit_ends_the_job_with_nobody_watching(tracker, raw, containerd, state_dir):
    """Submitted by a CLI command that exits at once; nothing of this test
    reads the job until the runtime says it has stopped."""
    import json
    import shutil
    import subprocess

    connection = ["--address", tracker.address, "--namespace", tracker.namespace, "--backend", tracker.backend.name,
                  "--state-dir", str(state_dir), "--session", tracker.session_name]
    done = subprocess.run([shutil.which("containerd-tracker"), *connection, "--json", "run", "--image", "busybox",
                           "--wallclock", "2", "--", "sleep", "60"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    job_id = json.loads(done.stdout)["id"]
    until(lambda: not raw.running(job_id), "the job killed at its wallclock limit", timeout=30)
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status, info.sub_state) == (JobState.FAILED, 137, "WALLCLOCK_TIME-exceeded")
    assert info.extension.extension_list["limit_exceeded"] == "WALLCLOCK_TIME"
    assert 2 <= info.wallclock_time.total_seconds() < 20
    until(lambda: tracker.deadline_keeper() is None, "the keeper ending once nothing is left", timeout=30)
