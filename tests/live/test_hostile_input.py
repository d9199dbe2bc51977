"""Hostile and malformed input: template values that could break an argv, a
label or a parser; job IDs that could become CLI options or paths; files
other users must not read; addresses given in either form."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from containerd_tracker_cli import ContainerdJobTracker, InvalidArgumentError, JobState, JobTemplate

from ..support import BUSYBOX, ENTRYPOINT_IMAGE
from .helpers import output_of, run_to_end, submit

AWKWARD = {
    "newline": "a\nb",
    "equals": "k=v=w",
    "commas": "a,b,,c",
    "quotes": "it's \"quoted\" `x` $HOME \\n",
    "unicode": "Grüße ✓ 日本 🚀",
    "dashes": "--label=x -e --",
    "csv": '"a","b"\r\n',
}


def _trims_option_values(backend_name: str, containerd) -> bool:
    """ctr 2.x trims trailing whitespace from option values (--env, --label, --cwd)."""
    import subprocess

    version = subprocess.run([containerd.ctr, "--version"], capture_output=True, text=True).stdout.split()[-1]
    return backend_name == "ctr" and int(version.lstrip("v").split(".")[0]) >= 2


@pytest.mark.parametrize("kind", list(AWKWARD))
def test_awkward_values_reach_the_job_unchanged(tracker, kind, tmp_path, backend_name, containerd):
    value = AWKWARD[kind]
    if value != value.rstrip() and _trims_option_values(backend_name, containerd):
        with pytest.raises(InvalidArgumentError, match=r"trims trailing whitespace.*job_environment\['V'\]"):
            submit(tracker, "true", job_environment={"V": value})
        assert tracker.list_jobs() == []
        return
    job_id = run_to_end(tracker, "sh", "-c", 'printf "%s|%s|" "$V" "$1"; pwd', "sh", value,
                        job_environment={"V": value}, job_name=value, working_directory="/tmp/" + value.replace("/", "_"))
    assert tracker.job_state(job_id)[0] == JobState.DONE
    out = Path(tracker.job_info(job_id).extension.extension_list["stdout"]).read_bytes().decode()  # keeps \r
    assert out == f"{value}|{value}|/tmp/{value.replace('/', '_')}\n"
    submitted = tracker.job_template(job_id)
    assert (submitted.job_name, submitted.job_environment["V"], submitted.args[-1]) == (value, value, value)
    assert tracker.job_info(job_id).annotation == value


def test_a_first_argument_that_looks_like_an_option_runs_as_given(tracker):
    """ctr 1.6 read such words as its own flags unless guarded; 1.7+ kept a guarding '--'."""
    echo = run_to_end(tracker, "echo", "-n", "no newline")
    assert output_of(tracker, echo) == "no newline"
    dashes = run_to_end(tracker, "sh", "-c", 'printf "%s," "$@"', "sh", "--", "--label", "a=b", "-t")
    assert output_of(tracker, dashes) == "--,--label,a=b,-t,"
    entrypoint = tracker.add_job(JobTemplate(job_category=ENTRYPOINT_IMAGE, args=["--env", "X=1", "--"]))
    tracker.wait(entrypoint, 30)
    assert output_of(tracker, entrypoint) == "EP --env X=1 --\n"
    assert tracker.job_info(dashes).extension.extension_list["command_line"] == \
        "sh -c 'printf \"%s,\" \"$@\"' sh -- --label a=b -t"


def test_100_kb_values_in_the_environment_and_arguments(tracker):
    big = "x" * 100_000
    job_id = run_to_end(tracker, "sh", "-c", 'printf "%s %s" "${#V}" "${#1}"', "sh", big,
                        job_environment={"V": big})
    assert output_of(tracker, job_id) == "100000 100000"
    assert tracker.job_template(job_id).job_environment["V"] == big


def _nothing_left(tracker: ContainerdJobTracker, raw, state_dir: Path, containers_before: list[str]) -> None:
    assert tracker.list_jobs() == []
    assert raw.containers() == containers_before
    assert not list(state_dir.glob("jobs/*/*"))


@pytest.mark.parametrize("fields, message", [
    ({"job_name": "n" * 100_000}, "job_name is too long"),
    ({"job_environment": {"V": "a\0b"}}, "NUL byte.*job_environment"),
    ({"args": ["ok", "a\0b"]}, "NUL byte.*args"),
    ({"job_name": "x\0"}, "NUL byte.*job_name"),
    ({"args": ["y" * 200_000]}, "could not be started with these arguments.*Argument list too long"),
])
def test_values_no_container_can_take_are_invalid_arguments_that_leave_nothing(tracker, raw, state_dir, fields,
                                                                               message):
    before = raw.containers()
    fields = {"remote_command": "true", **fields}
    with pytest.raises(InvalidArgumentError, match=message):
        tracker.add_job(JobTemplate(job_category=BUSYBOX, **fields))
    _nothing_left(tracker, raw, state_dir, before)


BAD_IDS = ["", "-a", "--help", "a/b", "../etc", "..", "*", "job-*", "a b", "x" * 77, "job\n", "é"]


@pytest.mark.parametrize("job_id", BAD_IDS, ids=repr)
def test_job_ids_that_are_no_container_id_are_refused_before_any_cli_runs(make_tracker, job_id):
    from ..support import CountingRunner

    runner = CountingRunner()
    tracker = make_tracker(runner=runner)
    calls = [
        lambda: tracker.job_state(job_id), lambda: tracker.job_info(job_id), lambda: tracker.job_template(job_id),
        lambda: tracker.job_control(job_id, "suspend"), lambda: tracker.wait(job_id, 0),
        lambda: tracker.delete_job(job_id), lambda: tracker.list_array_jobs(json.dumps([job_id])),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError, match="invalid job ID"):
            call()
    assert [argv for argv in runner.calls if job_id and job_id in argv] == []


def test_output_the_tracker_writes_is_its_owners_alone(tracker, state_dir, tmp_path):
    named = tmp_path / "named.out"
    default = run_to_end(tracker, "sh", "-c", "echo secret; echo err >&2")
    chosen = run_to_end(tracker, "sh", "-c", "echo secret", output_path=str(named))
    paths = [Path(output_of_path) for output_of_path in (
        tracker.job_info(default).extension.extension_list["stdout"], str(named),
        tracker.job_info(chosen).extension.extension_list["stderr"])]
    # stdout and stderr share the default file, in either order (two streams, two copiers)
    assert sorted(paths[0].read_text().splitlines(keepends=True)) == ["err\n", "secret\n"]
    assert [path.read_text() for path in paths[1:]] == ["secret\n", ""]  # the chosen job wrote no stderr
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    job_dir = paths[0].parent
    assert stat.S_IMODE(job_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((state_dir / "jobs").stat().st_mode) & 0o044 == 0  # others cannot list job folders


def test_an_existing_output_file_keeps_its_mode(tracker, tmp_path):
    shared = tmp_path / "shared.out"
    shared.write_text("")
    shared.chmod(0o644)
    run_to_end(tracker, "echo", "hi", output_path=str(shared))
    assert (shared.read_text(), stat.S_IMODE(shared.stat().st_mode)) == ("hi\n", 0o644)


@pytest.mark.backends("docker")
def test_the_docker_backend_takes_a_bare_socket_path(make_tracker, dockerd):
    assert dockerd.host.startswith("unix://")
    bare = dockerd.host.removeprefix("unix://")
    tracker = make_tracker(address=bare)
    assert tracker.backend.address == dockerd.host
    job_id = run_to_end(tracker, "echo", "bare path")
    assert output_of(tracker, job_id) == "bare path\n"
    relative = os.path.relpath(bare)
    assert make_tracker(address=relative).backend.address == dockerd.host
    tcp = make_tracker(address="tcp://127.0.0.1:1")
    assert tcp.backend.address == "tcp://127.0.0.1:1"


def test_a_template_with_every_awkward_value_at_once_round_trips(tracker, backend_name, containerd):
    value = "".join(AWKWARD.values())
    environment = {k: v.rstrip() if _trims_option_values(backend_name, containerd) else v for k, v in AWKWARD.items()}
    job_id = submit(tracker, "sh", "-c", "exit 0", job_environment=environment, job_name=value.rstrip()[:200])
    submitted = tracker.job_template(job_id)
    assert submitted.job_environment == environment
    assert submitted.job_name == value.rstrip()[:200]
    tracker.wait(job_id, 30)
    assert tracker.job_info(job_id).exit_status == 0
