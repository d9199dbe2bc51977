"""The containerd-tracker command, run as a user would: the installed console
script in a subprocess, against the live test daemon."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading

import pytest

#: A thin edge over the tracker, whose behaviour on each containerd version the
#: rest of the suite checks; about 3 minutes of subprocesses under CI load.
pytestmark = pytest.mark.once

#: A nerdctl that only says it was run: first on PATH in these tests, so a
#: command that fell back to ``--backend auto`` (nerdctl when installed) fails
#: loudly instead of silently testing another backend.
FAKE_NERDCTL = '#!/bin/sh\necho "nerdctl was run ($*), but these tests pin the ctr backend" >&2\nexit 99\n'


@pytest.fixture
def pinned(tmp_path):
    """The environment that pins the command to ctr: ``$CONTAINERD_TRACKER_BACKEND``
    (what ``--backend`` defaults to), with a decoy nerdctl first on PATH."""
    decoy = tmp_path / "decoy-bin"
    decoy.mkdir()
    (decoy / "nerdctl").write_text(FAKE_NERDCTL)
    (decoy / "nerdctl").chmod(0o755)
    return {"CONTAINERD_TRACKER_BACKEND": "ctr", "PATH": f"{decoy}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture
def cli(containerd, state_dir, request, pinned):
    exe = shutil.which("containerd-tracker")
    assert exe, "the console script is not installed (pip install -e .)"
    env = {**os.environ, "CONTAINERD_ADDRESS": containerd.address, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir),
           "CONTAINERD_TRACKER_SESSION": "cli-" + request.node.name[:40], **pinned}
    env.pop("CONTAINERD_NAMESPACE", None)

    def run(*args: str, check: bool = True, timeout: float = 120, unpinned: bool = False) \
            -> subprocess.CompletedProcess[str]:
        used = {k: v for k, v in env.items() if k != "CONTAINERD_TRACKER_BACKEND"} if unpinned else env
        done = subprocess.run([exe, *args], capture_output=True, text=True, env=used, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"exit {done.returncode}: {done.stderr}")
        return done

    yield run
    containerd.clean_namespace("default")


def test_the_decoy_nerdctl_is_what_auto_would_run(cli):
    """Guards the pin: were a command not pinned to ctr, it would run the decoy and fail."""
    done = cli("--backend", "auto", "list", check=False, unpinned=True)
    assert done.returncode == 1 and "these tests pin the ctr backend" in done.stderr, done.stderr
    assert cli("list").returncode == 0  # pinned by the environment


def test_run_prints_the_job_id_and_list_shows_it(cli):
    job_id = cli("run", "--image", "busybox", "--name", "web", "--", "sleep", "30").stdout.strip()
    assert job_id.startswith("web-")
    assert cli("list").stdout.split() == [job_id]
    assert cli("state", job_id).stdout == "Running\n"


def test_wait_on_one_job_exits_with_its_exit_status(cli):
    job_id = cli("run", "--image", "busybox", "--", "sh", "-c", "sleep 0.5; exit 7").stdout.strip()
    done = cli("wait", job_id, check=False)
    assert done.returncode == 7
    assert "Failed" in done.stdout and "7" in done.stdout


def test_wait_for_a_state_case_insensitively(cli):
    job_id = cli("run", "--image", "busybox", "--", "sleep", "30").stdout.strip()
    cli("suspend", job_id)
    assert cli("wait", job_id, "--state", "suspended", "--timeout", "10").returncode == 0
    cli("resume", job_id)
    assert cli("state", job_id).stdout == "Running\n"


def test_wait_timeout_is_a_drmaa_error(cli):
    job_id = cli("run", "--image", "busybox", "--", "sleep", "30").stdout.strip()
    done = cli("wait", job_id, "--timeout", "1", check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "within 1" in done.stderr


def test_a_wait_for_several_jobs_names_the_timeout_given_when_the_last_one_misses_it(cli):
    """--timeout bounds the whole command; the first job's wait used part of it."""
    quick = cli("run", "--image", "busybox", "--", "sleep", "1").stdout.strip()
    slow = cli("run", "--image", "busybox", "--", "sleep", "30").stdout.strip()
    done = cli("wait", quick, slow, "--timeout", "3", check=False)
    assert done.returncode == 1
    assert f"job '{slow}' did not reach Done or Failed within 3 s" in done.stderr


def test_json_output_is_only_json(cli, tmp_path):
    out = tmp_path / "out.txt"
    job = json.loads(cli("--json", "run", "--image", "busybox", "-e", "A=1", "-w", "/tmp", "-o", str(out),
                         "--", "sh", "-c", "echo $A; pwd").stdout)
    job_id = job["id"]
    waited = json.loads(cli("--json", "wait", job_id).stdout)
    assert waited == [{"id": job_id, "state": "Done", "exit_status": 0}]
    [info] = json.loads(cli("--json", "info", job_id).stdout)
    assert info["id"] == job_id and info["state"] == "Done" and info["exit_status"] == 0
    assert info["extension"]["extension_list"]["working_directory"] == "/tmp"
    template = json.loads(cli("--json", "template", job_id).stdout)
    assert template["job_environment"] == {"A": "1"} and template["remote_command"] == "sh"
    states = json.loads(cli("--json", "state", job_id).stdout)
    assert states == [{"id": job_id, "state": "Done", "sub_state": "stopped"}]
    assert json.loads(cli("--json", "list").stdout) == [job_id]
    assert "docker.io/library/busybox:latest" in json.loads(cli("--json", "categories").stdout)
    assert out.read_text() == "1\n/tmp\n"


def test_resource_options_reach_the_job_and_its_info(cli, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    job_id = cli("run", "--image", "busybox", "--mount", f"{data}:/data", "--network", "host", "--memory", "64m",
                 "--cpus", "0.5", "--limit", "OPEN_FILES=64", "--wallclock", "60",
                 "--", "sh", "-c", "ulimit -n > /data/n").stdout.strip()
    assert cli("wait", job_id, check=False).returncode == 0
    assert (data / "n").read_text() == "64\n"
    [info] = json.loads(cli("--json", "info", job_id).stdout)
    extension = info["extension"]["extension_list"]
    assert {k: extension[k] for k in ("network", "memory", "cpus", "limit.OPEN_FILES", "limit.WALLCLOCK_TIME",
                                      "mounts")} == {"network": "host", "memory": "64m", "cpus": "0.5",
                                                     "limit.OPEN_FILES": "64", "limit.WALLCLOCK_TIME": "60",
                                                     "mounts": f"{data}:/data"}
    bad = cli("run", "--image", "busybox", "--mount", f"{tmp_path}/gone:/data", "--", "true", check=False)
    assert bad.returncode == 1 and "does not exist" in bad.stderr
    assert cli("list").stdout.split() == [job_id]


def test_errors_are_one_line_on_stderr_with_exit_1(cli):
    done = cli("state", "no-such-job", check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "error: job 'no-such-job' not found in namespace 'default'\n"


def test_usage_errors_exit_2(cli):
    for args in (["bogus"], ["run"], ["wait", "x", "--state", "sleeping"], ["run", "--image", "b", "-e", "=x"],
                 ["run", "--image", "busybox", "echo", "-o", "/tmp/x"]):  # the job's -o is not ours
        done = cli(*args, check=False)
        assert done.returncode == 2, args
        assert "Traceback" not in done.stderr


def test_controls_and_delete(cli):
    job_id = cli("run", "--image", "busybox", "--hold", "--", "sh", "-c", "echo from-held").stdout.strip()
    assert cli("state", job_id).stdout == "QueuedHeld\n"
    assert cli("release", job_id).stdout == f"{job_id}\n"
    cli("wait", job_id)
    assert cli("logs", job_id).stdout == "from-held\n"
    other = cli("run", "--image", "busybox", "--", "sleep", "300").stdout.strip()
    done = cli("delete", other, check=False)
    assert done.returncode == 1 and "Running" in done.stderr
    cli("terminate", other)
    cli("delete", job_id, other)
    assert cli("list").stdout == ""


def test_array_prints_one_id_per_task(cli):
    ids = cli("array", "1", "3", "--image", "busybox", "--", "sh", "-c", "exit $TASK_ID").stdout.split()
    assert len(ids) == 3
    done = cli("--json", "wait", *ids, check=False)
    assert done.returncode == 0  # several jobs: exit statuses are in the output, not the exit code
    assert [row["exit_status"] for row in json.loads(done.stdout)] == [1, 2, 3]


def test_logs_keeps_streams_apart_and_follows(cli, tmp_path):
    job_id = cli("run", "--image", "busybox", "-o", str(tmp_path / "o"), "--error", str(tmp_path / "e"), "--",
                 "sh", "-c", "echo out; echo err >&2; sleep 1; echo late").stdout.strip()
    done = cli("logs", "--follow", job_id)
    assert done.stdout == "out\nlate\n"
    assert done.stderr == "err\n"


def test_input_file_is_stdin(cli, tmp_path):
    source = tmp_path / "in"
    source.write_text("a\nb\nc\n")
    job_id = cli("run", "--image", "busybox", "--input", str(source), "--", "wc", "-l").stdout.strip()
    cli("wait", job_id)
    assert cli("logs", job_id).stdout.strip() == "3"


def test_python_dash_m_is_the_same_command(cli, containerd, state_dir, pinned):
    env = {**os.environ, "CONTAINERD_ADDRESS": containerd.address, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir),
           **pinned}
    done = subprocess.run([sys.executable, "-m", "containerd_tracker_cli", "categories"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0 and "docker.io/library/busybox:latest" in done.stdout


def test_state_does_not_import_what_it_does_not_use(containerd, state_dir, pinned):
    code = (
        "import sys; from containerd_tracker_cli.cli import main\n"
        "try:\n    main(['state', 'no-such-job'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('containerd_tracker_cli.runner.cassette', 'containerd_tracker_cli.testing',"
        " 'containerd_tracker_cli.cli.logs', 'containerd_tracker_cli.tracker.submission',"
        " 'containerd_tracker_cli.drmaa2.models') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    env = {**os.environ, "CONTAINERD_ADDRESS": containerd.address, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir),
           **pinned}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_progress_shows_on_a_terminal_only(cli, containerd, state_dir, pinned):
    import pty

    exe = shutil.which("containerd-tracker")
    env = {**os.environ, "CONTAINERD_ADDRESS": containerd.address, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir),
           "CONTAINERD_TRACKER_SESSION": "cli-progress", **pinned}
    master, slave = pty.openpty()
    try:
        done = subprocess.run([exe, "array", "1", "3", "--image", "busybox", "--", "true"], stdout=subprocess.PIPE,
                              stderr=slave, env=env, timeout=120)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert done.returncode == 0
    assert b"submitting 3/3" in shown
    assert len(done.stdout.split()) == 3  # stdout stays clean for scripts
    # Not a terminal: no progress at all.
    quiet = cli("array", "1", "2", "--image", "busybox", "--", "true")
    assert quiet.stderr == ""


def test_sessions_and_the_monitoring_view_from_the_command_line(cli):
    cli("session", "create", "cli-a", "--contact", "ops")
    assert "cli-a" in cli("session", "list").stdout.split("\n")
    failed = cli("session", "create", "cli-a", check=False)
    assert failed.returncode == 1 and "exists already" in failed.stderr
    mine = cli("run", "--image", "busybox", "--", "sleep", "30").stdout.strip()
    theirs = cli("--session", "cli-b", "run", "--image", "busybox", "--", "sleep", "30").stdout.strip()
    assert cli("list").stdout.split() == [mine]  # this session only
    rows = json.loads(cli("--json", "list", "--all", "-l").stdout)
    sessions = {row["id"]: row["session"] for row in rows}
    assert sessions[mine].startswith("cli-") and sessions[theirs] == "cli-b"
    assert {row["state"] for row in rows if row["id"] in (mine, theirs)} <= {"Queued", "Running"}
    table = cli("list", "--all", "-l").stdout.splitlines()
    assert table[0].split() == ["JOB", "ID", "SESSION", "STATE", "SUB-STATE"]
    cli("session", "destroy", "cli-a")
    assert "cli-a" not in cli("session", "list").stdout.split("\n")
    cli("terminate", mine)
    cli("--session", "cli-b", "terminate", theirs)


def test_a_throttled_array_from_the_command_line_shows_its_driver(cli, tmp_path):
    ids = cli("array", "1", "4", "--max-parallel", "1", "--image", "busybox", "--", "sleep", "30").stdout.split()
    [row] = json.loads(cli("--json", "arrays").stdout)
    assert (row["tasks"], row["max_parallel"], row["started"]) == (4, 1, 1)
    states = cli("state", *ids).stdout
    assert states.count("Running") == 1 and states.count("Queued") == 3
    for job_id in reversed(ids):  # queued ones first: none of them starts
        cli("terminate", job_id)
    assert cli("state", *ids).stdout.count("Failed") == 4


def test_watch_prints_each_state_change_as_it_happens(cli, containerd, state_dir, pinned):
    env = {**os.environ, "CONTAINERD_ADDRESS": containerd.address, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir),
           **pinned}
    env.pop("CONTAINERD_NAMESPACE", None)
    watch = subprocess.Popen([shutil.which("containerd-tracker"), "--json", "watch"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watch.stdout], daemon=True).start()
    try:
        assert "watching the jobs of namespace 'default'" in watch.stderr.readline()  # subscribed
        job_id = cli("--session", "watched", "run", "--image", "busybox", "--", "sh", "-c", "exit 2").stdout.strip()
        states = []
        while "Failed" not in states:
            row = json.loads(lines.get(timeout=60))  # raises Empty: a change never printed
            if row["id"] == job_id:
                assert row["session"] == "watched"
                states.append(row["state"])
        assert len(set(states)) == len(states), states
        watch.terminate()
        assert watch.wait(30) == 0
    finally:
        watch.kill()
        watch.wait()
