"""Choosing a backend: defaults, environment, ``auto``; and the typed
errors the backends raise instead of leaving stderr to the tracker."""
from __future__ import annotations

import pytest

from containerd_tracker_cli import ContainerdJobTracker, InvalidArgumentError
from containerd_tracker_cli.backends import registry
from containerd_tracker_cli.backends.ctr import CtrBackend
from containerd_tracker_cli.backends.dockercompat.backend import DockerCompatBackend
from containerd_tracker_cli.backends.errors import ContainerNotFound, ExecutableNotFound
from containerd_tracker_cli.runner import Completed, Runner


class NoProcesses(Runner):
    """Backends are built, never run: every CLI 'exists', no command may run."""

    def run(self, argv, *, timeout, stdin=None) -> Completed:
        raise AssertionError(f"no process expected: {argv}")

    def stream(self, argv):
        raise AssertionError(f"no process expected: {argv}")


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("CONTAINERD_ADDRESS", "DOCKER_HOST", "CONTAINERD_NAMESPACE", "CONTAINERD_TRACKER_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("name, address", [
    ("ctr", "/run/containerd/containerd.sock"),
    ("nerdctl", "/run/containerd/containerd.sock"),
    ("docker", "unix:///var/run/docker.sock"),
])
def test_each_backend_has_its_own_default_address(clean_env, name, address):
    backend = registry.connect(name, runner=NoProcesses())
    assert (backend.name, backend.address, backend.namespace) == (name, address, "default")


def test_the_environment_names_address_and_namespace_per_backend(clean_env):
    clean_env.setenv("CONTAINERD_ADDRESS", "/tmp/c.sock")
    clean_env.setenv("DOCKER_HOST", "/tmp/d.sock")
    clean_env.setenv("CONTAINERD_NAMESPACE", "jobs")
    assert registry.connect("ctr", runner=NoProcesses()).address == "/tmp/c.sock"
    docker = registry.connect("docker", runner=NoProcesses())
    assert (docker.address, docker.namespace) == ("unix:///tmp/d.sock", "jobs")  # a bare path is a unix socket
    assert registry.connect("ctr", "/given.sock", "ns", runner=NoProcesses()).address == "/given.sock"


def test_auto_is_nerdctl_only_where_it_is_installed(clean_env, tmp_path):
    clean_env.setenv("PATH", str(tmp_path))
    assert registry.kind_of("auto").name == "ctr"
    nerdctl = tmp_path / "nerdctl"
    nerdctl.write_text("#!/bin/sh\n")
    nerdctl.chmod(0o755)
    assert registry.kind_of("auto").name == "nerdctl"


def test_auto_is_the_backend_the_environment_names_for_library_and_cli_alike(clean_env, tmp_path):
    clean_env.setenv("PATH", str(tmp_path))
    nerdctl = tmp_path / "nerdctl"
    nerdctl.write_text("#!/bin/sh\n")
    nerdctl.chmod(0o755)
    clean_env.setenv("CONTAINERD_TRACKER_BACKEND", "ctr")  # pinned, though nerdctl is installed
    assert registry.kind_of("auto").name == "ctr"
    assert ContainerdJobTracker("s", runner=NoProcesses(), state_dir=tmp_path).backend.name == "ctr"
    clean_env.setenv("CONTAINERD_TRACKER_BACKEND", "auto")
    assert registry.kind_of("auto").name == "nerdctl"
    clean_env.setenv("CONTAINERD_TRACKER_BACKEND", "podman")
    with pytest.raises(InvalidArgumentError, match="CONTAINERD_TRACKER_BACKEND='podman'"):
        registry.kind_of("auto")


@pytest.mark.parametrize("name", ["podman", "", None, ["ctr"]])
def test_an_unknown_backend_is_a_typed_error(name):
    with pytest.raises(InvalidArgumentError, match="unknown backend"):
        registry.kind_of(name)


def test_a_backend_instance_brings_its_address_namespace_and_runner(tmp_path):
    runner = NoProcesses()
    docker = DockerCompatBackend(runner, "docker", "/var/run/docker.sock", "jobs")
    tracker = ContainerdJobTracker("s", address="/var/run/docker.sock", backend=docker, state_dir=tmp_path)
    assert (tracker.address, tracker.namespace, tracker.runner) == ("unix:///var/run/docker.sock", "jobs", runner)
    with pytest.raises(InvalidArgumentError, match="namespace 'other' differs"):
        ContainerdJobTracker("s", namespace="other", backend=docker, state_dir=tmp_path)


@pytest.mark.parametrize("stderr, program", [
    ('ctr: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container '
     'process: exec: "no-such-program": executable file not found in $PATH: unknown', "no-such-program"),
    ('Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: '
     'unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown\n'
     'Error: failed to start containers: 8bbdfd6052ed', "/bin/sh"),
    ('ctr: OCI runtime create failed: executable file `/bin/sh` not found in $PATH: No such file or directory',
     "/bin/sh"),
])
def test_a_missing_program_is_named_not_mistaken_for_a_missing_container(stderr, program):
    for backend in (CtrBackend(NoProcesses(), "/c.sock", "default"),
                    DockerCompatBackend(NoProcesses(), "docker", "/d.sock", "default")):
        with pytest.raises(ExecutableNotFound) as caught:
            backend._raise(Completed(("x",), 1, "", stderr), "job-1")
        assert caught.value.program == program
        assert not isinstance(caught.value, ContainerNotFound)
