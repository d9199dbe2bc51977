"""Edge inputs (issue 10), offline: what must be refused before any CLI runs
(empty images, commands, IDs), and what must survive the trip into labels and
argv unchanged (unicode, 100 kB of arguments, newlines, awkward job names).
The trackers here get a runner that fails the test on any process."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containerd_tracker_cli import ContainerdJobTracker, InvalidArgumentError, JobNotFoundError, JobTemplate
from containerd_tracker_cli.backends import registry
from containerd_tracker_cli.backends.ctr.commands import CtrCommands
from containerd_tracker_cli.backends.dockercompat.commands import DockerCompatCommands
from containerd_tracker_cli.backends.dockercompat.flavours import FLAVOURS
from containerd_tracker_cli.backends.models import ContainerSpec
from containerd_tracker_cli.records import labels as L
from containerd_tracker_cli.records.statedir import StateDir
from containerd_tracker_cli.runner import Completed, Runner
from containerd_tracker_cli.tracker import submission
from containerd_tracker_cli.tracker.observation import JOB_ID


class NoProcesses(Runner):
    """Any process is a test failure: these inputs must be refused first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv, *, timeout, stdin=None) -> Completed:
        self.calls.append(tuple(argv))
        raise AssertionError(f"no process expected: {argv}")

    def stream(self, argv):
        self.calls.append(tuple(argv))
        raise AssertionError(f"no process expected: {argv}")


@pytest.fixture(params=["ctr", "docker"])
def offline(request, tmp_path):
    runner = NoProcesses()
    state = tmp_path / "state"
    tracker = ContainerdJobTracker("edge", address="/nowhere/daemon.sock", backend=request.param, runner=runner,
                                   state_dir=state)
    return tracker, runner, state


def _job_folders(state: Path) -> list[Path]:
    return sorted(state.glob("jobs/*/*"))


@pytest.mark.parametrize("fields", [
    {"job_category": ""},
    {"job_category": None},
    {"job_category": "   "},
    {"job_category": "\t\n"},
    {"job_category": "bus box"},
    {"remote_command": ""},
    {"remote_command": "   "},
    {"remote_command": "\n"},
    {"remote_command": "", "args": ["echo", "hello"]},
], ids=repr)
def test_empty_images_and_commands_are_refused_before_any_cli_runs(offline, fields):
    tracker, runner, state = offline
    given = {"job_category": "busybox", "remote_command": "true", **fields}
    with pytest.raises(InvalidArgumentError):
        tracker.add_job(JobTemplate(**given))
    with pytest.raises(InvalidArgumentError):
        tracker.add_array_job(JobTemplate(**given), 1, 3, 1, 0)
    assert runner.calls == []
    assert _job_folders(state) == []


@pytest.mark.parametrize("name", ["wait", "wait_all", "wait_any", "job_template", "delete_job", "job_state",
                                  "job_states", "job_infos", "job_info", "hold", "release", "terminate"])
def test_empty_ids_are_invalid_arguments_before_any_cli_runs(offline, name):
    tracker, runner, _ = offline
    calls = {
        "wait": lambda: tracker.wait("", 0),
        "wait_all": lambda: tracker.wait_all([], None),  # nothing to wait for: refused, never waits
        "wait_any": lambda: tracker.wait_any([], None),
        "job_template": lambda: tracker.job_template(""),
        "delete_job": lambda: tracker.delete_job(""),
        "job_state": lambda: tracker.job_state(""),
        "job_states": lambda: tracker.job_states(["job-1", ""]),
        "job_infos": lambda: tracker.job_infos([""]),
        "job_info": lambda: tracker.job_info(""),
        "hold": lambda: tracker.job_control("", "hold"),
        "release": lambda: tracker.job_control("", "release"),
        "terminate": lambda: tracker.job_control("", "terminate"),
    }
    with pytest.raises(InvalidArgumentError) as caught:
        calls[name]()
    assert not isinstance(caught.value, JobNotFoundError)
    assert runner.calls == []


@pytest.mark.parametrize("call", [
    lambda t: t.wait("job-1", 0, "sleeping"),
    lambda t: t.wait_all(["job-1", "job-2"], 0, "Done", "nearly-done"),
    lambda t: t.job_control("job-1", "explode"),
    lambda t: t.job_control("job-1", ""),
], ids=["unknown state", "one unknown state of two", "unknown action", "empty action"])
def test_unknown_states_and_actions_are_refused_before_any_cli_runs(offline, call):
    tracker, runner, _ = offline
    with pytest.raises(InvalidArgumentError):
        call(tracker)
    assert runner.calls == []


# ---------------------------------------------------------------- labels

BIG_ARGS = [f"{i:04d} Grüße ✓ 日本 🚀 \"q\" 'x' $HOME \\n --x=y\n" * 2 for i in range(900)] + ["", " ", "--", "\t"]
EDGE_TEMPLATES = {
    "100 kB unicode args": JobTemplate(job_category="busybox", remote_command="sh", args=BIG_ARGS),
    "env with newlines": JobTemplate(job_category="busybox", remote_command="env", job_environment={
        "MULTI": "a\nb\nc", "CRLF": "a\r\nb", "INJECT": "x\nOTHER=1", "ENDS": "v\n", "BIG": "zeile ü\n" * 3000}),
    "awkward name": JobTemplate(job_category="busybox", remote_command="true", job_name="../../a b/Grüße ✓ 日本 🚀"),
}


@pytest.mark.parametrize("name", list(EDGE_TEMPLATES))
def test_edge_templates_round_trip_through_labels_containerd_accepts(name):
    template = EDGE_TEMPLATES[name]
    labels = L.encode_template(template)
    for key, value in labels.items():
        assert len(key.encode()) + len(value.encode()) <= L.LABEL_LIMIT, key
    assert L.decode_template(labels) == template


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=st.lists(_TEXT, max_size=40), env=st.dictionaries(st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0="), min_size=1, max_size=20), _TEXT,
    max_size=10), name=_TEXT, repeat=st.integers(1, 60))
def test_any_text_template_round_trips_through_labels(args, env, name, repeat):
    template = JobTemplate(job_category="busybox", remote_command="sh", args=args * repeat, job_environment=env,
                           job_name=name or None)
    labels = L.encode_template(template)
    assert all(len(k.encode()) + len(v.encode()) <= L.LABEL_LIMIT for k, v in labels.items())
    assert L.decode_template(labels) == template


# ---------------------------------------------------------------- plans and argv

def _plan(template: JobTemplate, tmp_path: Path, key: str = "job-0123456789ab") -> submission.Plan:
    state = StateDir(tmp_path / "state", "default")
    backend = registry.connect("docker", "/nowhere/docker.sock", runner=NoProcesses())

    def no_image_config():
        raise AssertionError("the template names its command: the image's config is not needed")

    return submission.plan(template, key=key, image="docker.io/library/busybox:latest", session="edge",
                           owner="root", state=state, output=backend.output_delivery(state),
                           image_config=no_image_config)


def test_a_job_name_is_measured_in_bytes_against_containerds_label_limit(tmp_path):
    fits = "日" * 1363  # 4,089 bytes + the 7 of "jobName" = 4,096
    plan = _plan(JobTemplate(job_category="busybox", remote_command="true", job_name=fits), tmp_path)
    assert plan.spec.labels[L.JOB_NAME] == fits
    with pytest.raises(InvalidArgumentError, match="job_name is too long.*4097"):
        _plan(JobTemplate(job_category="busybox", remote_command="true", job_name=fits + "e"), tmp_path)


@pytest.mark.parametrize("name", ["../../escape", "a/b/c", "/abs/path", "..", "two words", "Grüße ✓ 日本 🚀", "-", "日本"])
def test_awkward_job_names_make_a_valid_id_and_files_inside_the_state_directory(tmp_path, name):
    key = submission.make_key(name, "0123456789ab")
    assert JOB_ID.fullmatch(key)
    plan = _plan(JobTemplate(job_category="busybox", remote_command="true", job_name=name), tmp_path, key=key)
    jobs = (tmp_path / "state" / "jobs").resolve()
    assert plan.files and all(path.resolve().is_relative_to(jobs) for path in plan.files)
    assert plan.spec.labels[L.JOB_NAME] == name


def test_newlines_unicode_and_100_kb_of_args_are_one_argv_element_each():
    env = {"MULTI": "a\nb", "INJECT": "x\n--env=OTHER=1", "UNICODE": "Grüße ✓ 日本 🚀"}
    spec = ContainerSpec(id="job-0123456789ab", image="docker.io/library/busybox:latest",
                         args=["sh", "-c", 'printf "[%s]" "$@"', "sh", *BIG_ARGS], env=env)
    ctr = CtrCommands("/run/containerd/containerd.sock", "default").create(spec)
    assert ctr[-len(spec.args):] == spec.args
    assert [arg for arg in ctr if arg.startswith("--env=")] == [f"--env={k}={v}" for k, v in env.items()]
    docker = DockerCompatCommands(FLAVOURS["docker"], "unix:///d.sock", "default", "docker").create(spec)
    assert docker[-len(spec.args):] == [spec.image, *spec.args[1:]]
    assert docker[docker.index("--entrypoint") + 1] == "sh"
    pairs = [docker[i + 1] for i, arg in enumerate(docker) if arg == "--env"]
    assert pairs == [f"{k}={v}" for k, v in env.items()]
