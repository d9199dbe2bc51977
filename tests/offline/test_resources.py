"""Limits, mounts, network and user from a template: the checks and the
argv each CLI gets (the live tests run them)."""
from __future__ import annotations

import argparse

import pytest

from containerd_tracker_cli import InvalidArgumentError, JobTemplate, UnsupportedAttributeError
from containerd_tracker_cli.backends.ctr.commands import CtrCommands
from containerd_tracker_cli.backends.dockercompat.commands import DockerCompatCommands
from containerd_tracker_cli.backends.dockercompat.flavours import FLAVOURS
from containerd_tracker_cli.backends.models import ContainerSpec, Mount
from containerd_tracker_cli.cli.parser import _mount
from containerd_tracker_cli.tracker.resources import parse_size, resources
from containerd_tracker_cli.tracker.submission import shell_wrapper, wrapped


@pytest.mark.parametrize("text, size", [("512m", 512 * 2**20), ("2g", 2 * 2**30), ("1.5G", 3 * 2**29),
                                        ("1048576", 2**20), ("64MiB", 64 * 2**20), ("10k", 10240)])
def test_sizes_read_as_docker_reads_them(text, size):
    assert parse_size(text, "memory") == size


@pytest.mark.parametrize("text", ["", "lots", "-1m", "0", "5x"])
def test_a_bad_size_is_refused_by_name(text):
    with pytest.raises(InvalidArgumentError, match="memory"):
        parse_size(text, "memory")


def test_drmaa2_limits_become_rlimits_in_their_own_units(tmp_path):
    res = resources(JobTemplate(resource_limits={"OPEN_FILES": "64", "file_size": "8", "CPU_TIME": "30",
                                                 "WALLCLOCK_TIME": "60"}))
    assert res.rlimits == {"nofile": 64, "fsize": 8 * 1024, "cpu": 30}
    assert res.wallclock_seconds == 60
    with pytest.raises(UnsupportedAttributeError, match="PROCESSES"):
        resources(JobTemplate(resource_limits={"PROCESSES": "1"}))


def test_the_shell_sets_each_limit_in_its_own_unit_then_execs_the_program():
    argv = shell_wrapper({"fsize": 8192, "nofile": 64, "as": 2**28}, stdin=True)
    assert argv == ["/bin/sh", "-c", 'ulimit -v 262144 && ulimit -f 16 && ulimit -n 64 && '
                    'exec "$@" < /.containerd-tracker/stdin', "sh"]
    assert wrapped([*argv, "true"]) and not wrapped(["/bin/sh", "-c", "echo", "sh"])


def test_stage_files_are_bind_mounts_with_their_modes(tmp_path):
    (tmp_path / "in-3").mkdir()
    res = resources(JobTemplate(stage_in_files={str(tmp_path / "in-$DRMAA2_INDEX$"): "/data/$DRMAA2_INDEX$:ro"},
                                stage_out_files={"/out": str(tmp_path)}), index=3)
    assert res.mounts == [Mount(source=str(tmp_path / "in-3"), destination="/data/3", read_only=True),
                          Mount(source=str(tmp_path), destination="/out", read_only=False)]
    for bad in ({"stage_in_files": {str(tmp_path / "gone"): "/x"}}, {"stage_in_files": {str(tmp_path): "x"}},
                {"stage_in_files": {str(tmp_path): "/x"}, "stage_out_files": {"/x": str(tmp_path)}}):
        with pytest.raises(InvalidArgumentError, match="stage_"):
            resources(JobTemplate(**bad))


def test_network_and_user_are_checked():
    assert resources(JobTemplate(extension={"extension_list": {"net": "host"}})).network == "host"
    for ext in ({"network": "bridge"}, {"user": "root; rm -rf /"}, {"cpus": "0"}, {"cpus": "x"}):
        with pytest.raises(InvalidArgumentError):
            resources(JobTemplate(extension={"extension_list": ext}))


def test_each_cli_gets_its_own_flags():
    spec = ContainerSpec(id="j", image="busybox", args=["true"], network="host", user="1000:1000",
                         memory_bytes=2**24, cpus=0.5, rlimits={"nofile": 64})
    ctr = CtrCommands("/s", "default").create(spec)
    assert {"--net-host", "--user=1000:1000", "--memory-limit=16777216", "--cpu-quota=50000",
            "--cpu-period=100000"} <= set(ctr)
    docker = DockerCompatCommands(FLAVOURS["docker"], "unix:///d.sock", "default", "docker").create(spec)
    text = " ".join(docker)
    for part in ("--network host", "--user 1000:1000", "--memory 16777216", "--cpus 0.5", "--ulimit nofile=64:64"):
        assert part in text


@pytest.mark.parametrize("text, pair", [("/data:/in", ("/data", "/in")), ("/a:b:/in:ro", ("/a:b", "/in:ro"))])
def test_the_cli_mount_option(text, pair):
    assert _mount(text) == pair
    with pytest.raises(argparse.ArgumentTypeError):
        _mount("/data")
