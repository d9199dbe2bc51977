"""Every file of the nerdctl corpus (output real nerdctl versions printed,
gathered from public sources: ../shared/corpus/nerdctl/SOURCES.md) parses
through the Docker-compatible parsers, with the fields the tracker uses."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from containerd_tracker_cli.backends.dockercompat import parsers
from containerd_tracker_cli.backends.models import TaskStatus

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "nerdctl"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARGV = ("nerdctl", "--namespace", "default")


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not CORPUS.is_dir():
        if IN_CI:
            pytest.fail(f"the nerdctl corpus is missing at {CORPUS}; in CI this is a failure")
        pytest.skip(f"the nerdctl corpus is not beside this checkout ({CORPUS})")
    return CORPUS


def test_every_corpus_file_is_covered_by_a_parser(corpus):
    files = {p.name for p in corpus.iterdir() if p.name != "SOURCES.md"}
    prefixes = ("ps-", "inspect-", "images-", "events-", "version-")
    assert files and all(name.startswith(prefixes) for name in files), files


def _ps_labels(path: Path) -> dict[str, str]:
    """The labels of a ``ps`` line: the tracker no longer parses ``ps``, but its
    label strings are the real shapes :func:`parsers.parse_labels` must read."""
    [line] = path.read_text().splitlines()
    return parsers.parse_labels(json.loads(line)["Labels"])


def test_ps_label_strings_of_the_corpus(corpus):
    labels = _ps_labels(corpus / "ps-up-labels-string-1.jsonl")
    # A 2.x label string whose values hold ',', '=' and JSON.
    assert labels["nerdctl/ports"] == '[{"HostPort":80,"ContainerPort":80,"Protocol":"tcp","HostIP":"0.0.0.0"}]'
    assert labels["maintainer"] == "NGINX Docker Maintainers <docker-maint@nginx.com>"
    assert labels["nerdctl/log-uri"].startswith("binary:///usr/local/bin/nerdctl?")
    assert labels["nerdctl/name"] == "test-nginx_1-1"
    exited = _ps_labels(corpus / "ps-exited-labels-string-devbuild-2.jsonl")
    assert exited == {"key1": "value1", "key2": "value2", "io.containerd.image.config.stop-signal": "SIGTERM"}


def test_labels_as_a_map_in_nerdctl_1x():
    assert parsers.parse_labels({"drmaa2": "true", "a": "x,y=z"}) == {"drmaa2": "true", "a": "x,y=z"}


@pytest.mark.parametrize("name", ["inspect-running-1.json", "inspect-running-kata-2.json",
                                  "inspect-running-netsettings-null-3.json"])
def test_inspect_of_running_containers(corpus, name):
    [found] = parsers.parse_inspect(ARGV, (corpus / name).read_text())
    assert found.task is not None and found.task.status == TaskStatus.RUNNING and found.task.pid > 0
    assert found.task.exit_status is None and found.task.exited_at is None
    assert found.info.id and found.info.args and found.info.created_at is not None
    assert isinstance(found.started_at, (datetime, type(None)))


def test_inspect_of_a_running_and_a_taskless_container(corpus):
    running, notask = parsers.parse_inspect(ARGV, (corpus / "inspect-running-and-notask-4.json").read_text())
    assert running.task.status == TaskStatus.RUNNING
    assert running.info.args == ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
    assert notask.info.id == "nginx" and notask.task is None  # Status "": a queued job
    assert notask.info.labels["nerdctl/error"].startswith("cannot determine")
    assert notask.error.startswith("cannot determine")


def test_inspect_state_null_and_exited():
    text = ('[{"Id":"a","State":null,"Config":{"Labels":{"drmaa2":"true"}}},'
            '{"Id":"b","Created":"2026-01-01T00:00:00Z","State":{"Status":"exited","ExitCode":3,'
            '"StartedAt":"2026-01-01T00:00:01Z","FinishedAt":"2026-01-01T00:00:02.5Z"}}]')
    a, b = parsers.parse_inspect(ARGV, text)
    assert a.task is None and a.info.labels == {"drmaa2": "true"}
    assert (b.task.status, b.task.exit_status) == (TaskStatus.STOPPED, 3)
    assert b.task.exited_at.isoformat() == "2026-01-01T00:00:02.500000+00:00"


def test_images(corpus):
    [image] = parsers.parse_images(ARGV, (corpus / "images-json-1.jsonl").read_text())
    assert image.name == "docker.io/library/nginx:latest" and image.digest.startswith("sha256:")


@pytest.mark.parametrize("name", ["events-task-start-1.jsonl", "events-task-start-devbuild-2.jsonl"])
def test_events(corpus, name):
    event = parsers.parse_event(ARGV, (corpus / name).read_text())
    assert event.topic == "/tasks/start"
    assert event.container_id and len(event.container_id) == 64
    assert event.payload["pid"] > 0 and event.timestamp.year == 2024


def test_version(corpus):
    versions = parsers.parse_version(ARGV, (corpus / "version-json-1.json").read_text())
    assert versions["client"] == "v1.0.0" and versions["containerd"] == "v1.6.8"


@pytest.mark.parametrize("text", ["not json", "[1]", '{"x": 1}', "[{\"Id\": 5}]"])
def test_unknown_output_is_a_parse_error_naming_the_command(text):
    for parse in (parsers.parse_inspect, parsers.parse_event, parsers.parse_version):
        with pytest.raises(parsers.CliParseError) as caught:
            parse(("nerdctl", "inspect", "x"), text)
        assert "nerdctl inspect x" in str(caught.value)
