"""The command line through the docker backend (issue 10): ``python -m
containerd_tracker_cli --backend docker --address <engine>`` run as a user
would, against the suite's Docker engine, checked with docker itself."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEX_ID = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def docker_cli(dockerd, state_dir, request):
    session = "cli-docker-" + request.node.name[:40]
    env = {**os.environ, "CONTAINERD_TRACKER_STATE_DIR": str(state_dir), "CONTAINERD_TRACKER_SESSION": session,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    for name in ("CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "DOCKER_HOST", "CONTAINERD_TRACKER_BACKEND"):
        env.pop(name, None)

    def run(*args: str, check: bool = True, address: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "containerd_tracker_cli", "--backend", "docker",
                "--address", address or dockerd.host, *args]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{args}: exit {done.returncode}: {done.stderr}")
        return done

    run.session = session  # type: ignore[attr-defined]
    yield run
    dockerd.clean()


def _docker(dockerd, *args: str) -> str:
    return subprocess.run(dockerd.docker_argv(*args), capture_output=True, text=True, timeout=60,
                          check=True).stdout


def test_submit_state_wait_info_and_logs_through_docker(docker_cli, dockerd):
    job_id = docker_cli("run", "--image", "busybox", "--name", "edge cli ✓", "-e", "GREETING=hé\nllo", "--",
                        "sh", "-c", 'printf "%s\\n" "$GREETING"; exit 3').stdout.strip()
    assert HEX_ID.fullmatch(job_id), job_id  # the engine's own container ID
    labels = json.loads(_docker(dockerd, "inspect", "--format", "{{json .Config.Labels}}", job_id))
    assert (labels["drmaa2"], labels["jobSessionName"], labels["jobName"]) == ("true", docker_cli.session,
                                                                                 "edge cli ✓")

    waited = docker_cli("wait", job_id, check=False)
    assert waited.returncode == 3  # one job: the job's own exit status
    assert job_id in waited.stdout and "Failed" in waited.stdout
    assert docker_cli("state", job_id).stdout == "Failed\n"
    assert json.loads(docker_cli("--json", "state", job_id).stdout) == [
        {"id": job_id, "state": "Failed", "sub_state": "stopped"}]
    [info] = json.loads(docker_cli("--json", "info", job_id).stdout)
    assert (info["id"], info["state"], info["exit_status"]) == (job_id, "Failed", 3)
    assert info["annotation"] == "edge cli ✓"
    assert docker_cli("logs", job_id).stdout == "hé\nllo\n"
    template = json.loads(docker_cli("--json", "template", job_id).stdout)
    assert (template["job_name"], template["job_environment"]) == ("edge cli ✓", {"GREETING": "hé\nllo"})
    engine_exit = _docker(dockerd, "inspect", "--format", "{{.State.ExitCode}}", job_id).strip()
    assert engine_exit == "3"  # what docker itself says agrees

    bare = dockerd.host.removeprefix("unix://")  # a bare socket path is the same engine
    assert docker_cli("state", job_id, address=bare).stdout == "Failed\n"
    assert docker_cli("list").stdout.split() == [job_id]
    docker_cli("delete", job_id)
    assert docker_cli("list").stdout == ""
    assert job_id not in _docker(dockerd, "ps", "--all", "--quiet", "--no-trunc").split()


def test_controls_through_docker(docker_cli, dockerd):
    running = docker_cli("run", "--image", "busybox", "--", "sleep", "300").stdout.strip()
    assert docker_cli("state", running).stdout == "Running\n"
    docker_cli("suspend", running)
    assert docker_cli("wait", running, "--state", "suspended", "--timeout", "30").returncode == 0
    assert _docker(dockerd, "inspect", "--format", "{{.State.Status}}", running).strip() == "paused"
    docker_cli("resume", running)
    assert docker_cli("state", running).stdout == "Running\n"

    held = docker_cli("run", "--image", "busybox", "--hold", "--", "echo", "from held").stdout.strip()
    assert docker_cli("state", held).stdout == "QueuedHeld\n"
    refused = docker_cli("hold", held, check=False)  # held already: an invalid state, one line, exit 1
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1
    assert "Traceback" not in refused.stderr
    docker_cli("release", held)
    assert docker_cli("wait", held, "--timeout", "60").returncode == 0
    assert docker_cli("logs", held).stdout == "from held\n"

    busy = docker_cli("delete", running, check=False)
    assert busy.returncode == 1 and "Running" in busy.stderr
    unknown = docker_cli("state", "no-such-job", check=False)
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr.startswith("error: ") and "no-such-job" in unknown.stderr
    empty = docker_cli("wait", "", check=False)
    assert empty.returncode == 1 and "invalid job ID" in empty.stderr


def test_hold_of_a_queued_task_through_docker_is_refused_with_a_clear_error(docker_cli):
    first, second = docker_cli("array", "1", "2", "--max-parallel", "1", "--image", "busybox", "--",
                               "sh", "-c", 'if [ "$TASK_ID" = 1 ]; then trap "exit 0" TERM; while :; do sleep 0.1; done; fi; '
                               'echo "task $TASK_ID"').stdout.split()

    def states() -> dict[str, str]:
        return {row["id"]: row["state"] for row in json.loads(docker_cli("--json", "state", first, second).stdout)}

    assert states() == {first: "Running", second: "Queued"}
    refused = docker_cli("hold", second, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ") and "cannot hold a queued job" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert states() == {first: "Running", second: "Queued"}  # the refusal changed nothing
    docker_cli("terminate", first)
    assert docker_cli("wait", second, "--timeout", "60").returncode == 0  # not held: it ran once the slot freed
    assert docker_cli("logs", second).stdout == "task 2\n"
