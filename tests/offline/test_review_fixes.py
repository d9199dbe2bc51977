"""Defects found in review, pinned: each test fails on the old code."""
from __future__ import annotations

import pytest

from containerd_tracker_cli import ContainerdJobTracker, InvalidArgumentError
from containerd_tracker_cli.backends.ctr.commands import CtrCommands, filter_value
from containerd_tracker_cli.backends.dockercompat import parsers
from containerd_tracker_cli.backends.dockercompat.commands import DockerCompatCommands
from containerd_tracker_cli.backends.dockercompat.flavours import FLAVOURS
from containerd_tracker_cli.backends.models import ContainerSpec, Mount
from containerd_tracker_cli.tracker.submission import make_key


def test_local_docker_images_do_not_share_one_digest():
    out = ('{"Digest":"<none>","ID":"3b851e09c617","Repository":"busybox","Tag":"latest"}\n'
           '{"Digest":"<none>","ID":"aa11bb22cc33","Repository":"example.com/entrypoint","Tag":"1"}\n')
    first, second = parsers.parse_images(("docker",), out)
    assert first.digest != second.digest and "<none>" not in first.digest + second.digest


@pytest.mark.parametrize("name", ["test__1", "foo--bar", "a - b", "v1.2 -- final", "..x..", "ünïcode", "", None])
def test_job_keys_are_valid_containerd_ids(name):
    import re

    key = make_key(name, "0123456789ab")
    assert re.fullmatch(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*", key), key


@pytest.mark.parametrize("session", ["", " padded ", "two\nlines", "x" * 300])
def test_unusable_session_names_are_invalid_arguments(session):
    with pytest.raises(InvalidArgumentError):
        ContainerdJobTracker(session, address="/nowhere.sock")


def test_filter_values_escape_what_containerd_cannot_scan():
    assert filter_value('a"b\\c\nd\te') == '"a\\"b\\\\c\\nd\\te"'


def test_mount_paths_with_commas_are_quoted():
    spec = ContainerSpec(id="j", image="i", mounts=[Mount(source="/data/a,b:1.txt", destination="/in")])
    ctr = CtrCommands("/s", "ns").create(spec)
    mount = next(arg for arg in ctr if arg.startswith("--mount="))
    assert '"src=/data/a,b:1.txt"' in mount
    docker = DockerCompatCommands(FLAVOURS["docker"], "unix:///d", "ns", "docker").create(spec)
    assert '"source=/data/a,b:1.txt"' in docker[docker.index("--mount") + 1]


def test_nerdctl_label_filters_survive_its_csv_splitting():
    argv = DockerCompatCommands(FLAVOURS["nerdctl"], "/s", "ns", "nerdctl").list_ids({"jobSessionName": "a,b"})
    assert argv[argv.index("--filter") + 1] == '"label=jobSessionName=a,b"'
    docker = DockerCompatCommands(FLAVOURS["docker"], "unix:///d", "ns", "docker").list_ids({"jobSessionName": "a,b"})
    assert docker[docker.index("--filter") + 1] == "label=jobSessionName=a,b"
