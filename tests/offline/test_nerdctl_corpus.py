"""The nerdctl corpus: output real nerdctl versions printed, gathered from
public sources (fixtures/nerdctl/corpus/public/, where each file comes from:
its SOURCES.md), read by the project's parsers. Each file is checked against
the values it holds (IDs, states, pids, exit codes, times, labels, image
names, versions, event topics), read from the file by hand.

Every file of fixtures/nerdctl/corpus/ must be read by some test (here, or
the docker outputs by test_fake_nerdctl_shapes.py): a file added without a
test fails :func:`test_every_corpus_file_is_covered_by_a_test`.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import pytest

from containerd_tracker_cli.backends.dockercompat import parsers
from containerd_tracker_cli.backends.dockercompat.backend import DockerCompatBackend
from containerd_tracker_cli.backends.models import ImageRecord, TaskStatus
from containerd_tracker_cli.records.timeparse import parse_go_time
from containerd_tracker_cli.runner import Completed, Runner, Stream

from . import test_fake_nerdctl_shapes as shim_shapes

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "nerdctl" / "corpus"
PUBLIC = CORPUS / "public"
ARGV = ("nerdctl", "--namespace", "default")
UTC = timezone.utc

#: Each public sample and the test that checks it.
PUBLIC_FILES = {
    "ps-up-labels-string-1.jsonl": "test_ps_up_with_a_2x_label_string",
    "ps-exited-labels-string-devbuild-2.jsonl": "test_ps_exited_with_a_label_string",
    "images-json-1.jsonl": "test_images",
    "inspect-running-1.json": "test_inspect_running",
    "inspect-running-kata-2.json": "test_inspect_running_kata",
    "inspect-running-netsettings-null-3.json": "test_inspect_running_old_0x_shape",
    "inspect-running-and-notask-4.json": "test_inspect_running_and_taskless",
    "version-json-1.json": "test_version",
    "events-task-start-1.jsonl": "test_event_task_start_1x_shape",
    "events-task-start-devbuild-2.jsonl": "test_event_task_start_with_id_and_status",
}
#: Where the files of the corpus are described (checked to name each file).
DOCS = {"README.md", "public/SOURCES.md", "docker-inputs/README.md"}


def read(name: str) -> str:
    assert name in PUBLIC_FILES, f"{name}: add it to PUBLIC_FILES with the test that checks it"
    return (PUBLIC / name).read_text()


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- the corpus is complete and every file is used ------------------------------------------------

def test_every_corpus_file_is_covered_by_a_test():
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()}
    covered = {f"public/{name}" for name in PUBLIC_FILES} | set(shim_shapes.COVERED_FILES) | DOCS
    assert on_disk - covered == set(), "corpus files no test reads: give each a test (see PUBLIC_FILES)"
    assert covered - on_disk == set(), "tests name corpus files that are not there"
    for test in set(PUBLIC_FILES.values()):
        assert callable(globals().get(test)), f"PUBLIC_FILES names {test}, which does not exist"
    assert any(name.startswith("docker-inputs/docker-") for name in shim_shapes.COVERED_FILES)


def test_the_docs_name_every_file():
    sources = (PUBLIC / "SOURCES.md").read_text()
    named = set(re.findall(r"^\| `([^`]+)` \|", sources, re.MULTILINE))
    assert named == set(PUBLIC_FILES)
    inputs = (CORPUS / "docker-inputs" / "README.md").read_text()
    for path in (CORPUS / "docker-inputs").glob("*.json"):
        assert f"`{path.name}`" in inputs, f"docker-inputs/README.md does not describe {path.name}"
    readme = (CORPUS / "README.md").read_text()
    assert "public/" in readme and "docker-inputs/" in readme


# -- ps (the tracker reads only IDs from ps; its label strings are the real shapes parse_labels reads)

def _ps(name: str) -> dict:
    [line] = read(name).splitlines()
    return json.loads(line)


def test_ps_up_with_a_2x_label_string():
    row = _ps("ps-up-labels-string-1.jsonl")
    # A 2.x label string whose values hold ',', '=' and JSON.
    assert parsers.parse_labels(row["Labels"]) == {
        "nerdctl/namespace": "finch",
        "com.docker.compose.service": "nginx_1",
        "nerdctl/extraHosts": "[]",
        "maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>",
        "io.containerd.image.config.stop-signal": "SIGQUIT",
        "nerdctl/ports": '[{"HostPort":80,"ContainerPort":80,"Protocol":"tcp","HostIP":"0.0.0.0"}]',
        "nerdctl/hostname": "nginx_1",
        "nerdctl/networks": '["test_default"]',
        "nerdctl/platform": "linux/arm64/v8",
        "nerdctl/state-dir": "/var/lib/nerdctl/1935db59/containers/finch/"
                             "250762bf59ebcffbd33f58421130e43a6adeaf6ea4b59b50185498fdc28571c4",
        "com.docker.compose.project": "test",
        "nerdctl/ipc": '{"mode":"private"}',
        "nerdctl/log-uri": "binary:///usr/local/bin/nerdctl"
                           "?_NERDCTL_INTERNAL_LOGGING=%2Fvar%2Flib%2Fnerdctl%2F1935db59",
        "nerdctl/name": "test-nginx_1-1",
        "nerdctl/auto-remove": "false",
    }
    assert (row["ID"], row["Status"], row["Image"]) == ("250762bf59eb", "Up", "docker.io/library/nginx:latest")
    assert parse_go_time(row["CreatedAt"]) == at(2025, 4, 11, 17, 14, 21, 496755)


def test_ps_exited_with_a_label_string():
    row = _ps("ps-exited-labels-string-devbuild-2.jsonl")
    assert parsers.parse_labels(row["Labels"]) == {"key1": "value1", "key2": "value2",
                                                   "io.containerd.image.config.stop-signal": "SIGTERM"}
    assert (row["ID"], row["Status"], row["Names"]) == ("bf6dda95ce71", "Exited (0) 35 seconds ago",
                                                         "hello-world-bf6dd")
    assert parse_go_time(row["CreatedAt"]) == at(2022, 7, 23, 18, 56, 54)  # Go's time.String() form


def test_labels_as_a_map_in_nerdctl_1x():
    assert parsers.parse_labels({"drmaa2": "true", "a": "x,y=z"}) == {"drmaa2": "true", "a": "x,y=z"}


# -- inspect ---------------------------------------------------------------------------------------

def _inspect(name: str) -> list[parsers.Inspected]:
    return parsers.parse_inspect(ARGV, read(name))


def test_inspect_running():
    [found] = _inspect("inspect-running-1.json")
    cid = "22a611624245e35fee8a15126f23f2b226d8ea3800a213823605303f4988183b"
    assert found.info.id == cid and found.name == "lab-nature-localnet-nyxdab"
    assert (found.task.status, found.task.pid, found.task.exit_status, found.task.exited_at) == \
        (TaskStatus.RUNNING, 101647, None, None)
    assert found.started_at == at(2025, 12, 4, 17, 18, 57, 806684)  # "FinishedAt": "" is no finish
    assert found.info.created_at == at(2025, 12, 4, 17, 18, 57, 561222)
    assert found.info.args == ["sleep", "1000"] and found.info.image == "docker.io/library/localnet-nyxd:v0.60.1"
    assert found.info.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "HOSTNAME=22a611624245"]
    assert (found.info.cwd, found.info.user, found.error, found.memory_limit) == ("", "", "", 0)
    labels = found.info.labels
    assert len(labels) == 15 and labels["nerdctl/networks"] == '["nym-localnet"]'
    assert labels["nerdctl/state-dir"] == f"/var/lib/nerdctl/1935db59/containers/default/{cid}"
    assert json.loads(labels["nerdctl/mounts"]) == [{
        "Type": "bind", "Source": "/root/.nym/localnet-orchestrator/lab-nature/nyxd", "Destination": "/root/.nyxd",
        "Mode": "", "RW": True, "Propagation": ""}]


def test_inspect_running_kata():
    [found] = _inspect("inspect-running-kata-2.json")
    assert found.info.id == "1de89e6c7815894e74155922cb4c4fd0524b0809000bb84e0ef5e0d98a8d7ed1"
    assert found.name == "minimum-fatal-localnet-nyxd"
    assert (found.task.status, found.task.pid, found.task.exit_status) == (TaskStatus.RUNNING, 80138, None)
    assert found.started_at == at(2025, 12, 5, 21, 53, 9, 212670)
    assert found.info.created_at == at(2025, 12, 5, 21, 53, 8, 721912)
    assert found.info.args == ["nyxd", "start"]
    assert found.info.labels["nerdctl/name"] == "minimum-fatal-localnet-nyxd"
    assert found.info.labels["io.containerd.image.config.stop-signal"] == "SIGTERM"


def test_inspect_running_old_0x_shape():
    """No StartedAt/Restarting/Error, FinishedAt Go's zero time, no Config, Name ""."""
    [found] = _inspect("inspect-running-netsettings-null-3.json")
    assert found.info.id == "e65cdcbc3de9c1f9faa98b12bd3196e5ae91e2ba30591a7b40616b8d41cfc3bf" and found.name == ""
    assert (found.task.status, found.task.pid, found.task.exited_at) == (TaskStatus.RUNNING, 19279, None)
    assert found.started_at is None
    assert found.info.created_at == at(2022, 1, 21, 0, 59, 37, 273474)
    assert found.info.args == ["docker-entrypoint.sh", "mongod"]
    assert found.info.image == "docker.io/library/mongo:latest"  # no Config: the top-level Image
    assert (found.info.labels, found.info.env) == ({}, [])


def test_inspect_running_and_taskless():
    running, notask = _inspect("inspect-running-and-notask-4.json")
    assert running.info.id == "be4addd26f056028b1b5144be20da489c0d356bc1517fe70dd388524df684b3e"
    assert running.name == "nginx"
    # "Restarting": true while running (restart policy always): still running.
    assert (running.task.status, running.task.pid) == (TaskStatus.RUNNING, 204491)
    assert running.started_at == at(2025, 10, 11, 9, 10, 34, 638537)
    assert running.info.args == ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
    assert running.info.labels["containerd.io/restart.policy"] == "always"
    assert running.info.env[-1] == "HOSTNAME=be4addd26f05" and len(running.info.env) == 7
    # Status "": no task (a queued job); made with ctr, so no nerdctl labels but the error.
    assert notask.info.id == "nginx" and notask.name == "" and notask.task is None
    assert notask.started_at is None and notask.info.created_at == at(2025, 10, 11, 8, 26, 57, 288011)
    assert notask.info.labels == {
        "io.containerd.image.config.stop-signal": "SIGQUIT",
        "maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>",
        "nerdctl/error": "cannot determine networking options from nil spec.Annotations"}
    assert notask.error == "cannot determine networking options from nil spec.Annotations"
    assert notask.info.image == "docker.io/library/nginx:alpine"


def test_inspect_state_null_and_exited():
    text = ('[{"Id":"a","State":null,"Config":{"Labels":{"drmaa2":"true"}}},'
            '{"Id":"b","Created":"2026-01-01T00:00:00Z","State":{"Status":"exited","ExitCode":3,'
            '"StartedAt":"2026-01-01T00:00:01Z","FinishedAt":"2026-01-01T00:00:02.5Z"}}]')
    a, b = parsers.parse_inspect(ARGV, text)
    assert a.task is None and a.info.labels == {"drmaa2": "true"}
    assert (b.task.status, b.task.exit_status) == (TaskStatus.STOPPED, 3)
    assert b.task.exited_at.isoformat() == "2026-01-01T00:00:02.500000+00:00"


# -- images, version, events -----------------------------------------------------------------------

def test_images():
    assert parsers.parse_images(ARGV, read("images-json-1.jsonl")) == [ImageRecord(
        name="docker.io/library/nginx:latest",
        digest="sha256:09369da6b10306312cd908661320086bf87fbae1b6b0c49a1f50ba531fef2eab")]
    [row] = [json.loads(line) for line in read("images-json-1.jsonl").splitlines()]
    assert parse_go_time(row["CreatedAt"]) == at(2025, 4, 11, 15, 33, 33)  # "+0900 JST"
    assert (row["Repository"], row["ID"]) == ("nginx", row["Digest"][7:19])


class _Answers(Runner):
    """Answers each argv with one canned output."""

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        return Completed(tuple(argv), 0, self.stdout, "")

    def stream(self, argv: Sequence[str]) -> Stream:
        raise AssertionError("no streams here")


def test_version():
    text = read("version-json-1.json")
    assert parsers.parse_version(ARGV, text) == {"client": "v1.0.0", "containerd": "v1.6.8", "runc": "1.1.4"}
    backend = DockerCompatBackend(_Answers(text), "nerdctl", "/run/containerd/containerd.sock", "default")
    assert backend.server_version() == "v1.6.8"  # nerdctl's Server has components, no Version


def test_event_task_start_1x_shape():
    event = parsers.parse_event(ARGV, read("events-task-start-1.jsonl"))
    assert (event.topic, event.namespace) == ("/tasks/start", "default")
    assert event.container_id == "51885cadba61b9640f0ea80eb716b2f2e2bc60b42595db07bd8759e06b270fdb"
    assert event.payload == {"container_id": event.container_id, "pid": 49760}
    assert event.timestamp == at(2024, 3, 5, 18, 21, 13, 926302)
    assert event.exit_status == 0 and event.exited_at is None


def test_event_task_start_with_id_and_status():
    event = parsers.parse_event(ARGV, read("events-task-start-devbuild-2.jsonl"))
    assert (event.topic, event.namespace) == ("/tasks/start", "finch")
    assert event.container_id == "ea3b75d7c5cf7e81b13f151dc7b4875e13c4f19776ca4c74f213866f0b016971"
    assert event.payload == {"container_id": event.container_id, "pid": 39443}
    assert event.timestamp == at(2024, 7, 18, 19, 10, 40, 489404)


@pytest.mark.parametrize("text", ["not json", "[1]", '{"x": 1}', "[{\"Id\": 5}]"])
def test_unknown_output_is_a_parse_error_naming_the_command(text):
    for parse in (parsers.parse_inspect, parsers.parse_event, parsers.parse_version):
        with pytest.raises(parsers.CliParseError) as caught:
            parse(("nerdctl", "inspect", "x"), text)
        assert "nerdctl inspect x" in str(caught.value)
