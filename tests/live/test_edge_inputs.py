"""Edge inputs and edge moments (issue 10): hold of queued jobs, a release
whose start fails, unknown and empty IDs, empty images and commands, large
and unicode arguments, newlines in the environment, awkward job names, a
terminate racing the job's own exit, another namespace, and the batch state
call. Each runs through every backend (``backend_name``)."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from containerd_tracker_cli import (
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    JobState,
    JobTemplate,
    UnsupportedOperationError,
)
from containerd_tracker_cli.tracker.observation import JOB_ID

from ..support import BUSYBOX, until
from .helpers import output_of, run_to_end, submit, template

HOLD_LABEL = "containerd-tracker/hold"
OTHER_NAMESPACE = "other-ns"


def _nothing_left(tracker, raw, state_dir: Path, before: tuple) -> None:
    assert tracker.list_jobs() == []
    assert raw.leftovers(state_dir) == before


def _never_ran(raw, job_id: str) -> bool:
    """No task was ever left for the job (ctr), or the engine never ran it (docker)."""
    if raw.backend == "ctr":
        return job_id not in raw("tasks", "list", "--quiet").stdout.split()
    return raw("inspect", "--format", "{{.State.Status}}", job_id).stdout.strip() == "created"


def _raises(kind: type[Exception], call, what: str) -> Exception:
    """``call()`` raises ``kind``; else the test fails naming ``what``."""
    try:
        call()
    except kind as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - reported with what raised it
        pytest.fail(f"{what}: expected {kind.__name__}, got {type(exc).__name__}: {exc}")
    pytest.fail(f"{what}: expected {kind.__name__}, nothing raised")


def _ctr_trims_option_values(backend_name: str, containerd) -> bool:
    """ctr 2.x trims trailing whitespace from option values (--env, --label)."""
    if backend_name != "ctr":
        return False
    version = subprocess.run([containerd.ctr, "--version"], capture_output=True, text=True).stdout.split()[-1]
    return int(version.lstrip("v").split(".")[0]) >= 2


# ---------------------------------------------------------------- hold / release

def test_hold_of_a_job_held_since_submission_is_an_invalid_state(tracker, raw):
    job_id = submit(tracker, "sh", "-c", "echo released", submit_as_hold=True)
    with pytest.raises(InvalidStateError, match="cannot hold"):
        tracker.job_control(job_id, "hold")
    assert tracker.job_state(job_id) == (JobState.QUEUED_HELD, "held")
    assert _never_ran(raw, job_id)
    tracker.job_control(job_id, "release")  # still releasable: the refused hold changed nothing
    tracker.wait(job_id, 30)
    assert tracker.job_state(job_id) == (JobState.DONE, "stopped")
    assert output_of(tracker, job_id) == "released\n"


def _queued_array(tracker) -> tuple[str, str]:
    """A throttled array of two: task 1 runs (until terminated), task 2 waits Queued, not held."""
    ids = json.loads(tracker.add_array_job(
        template("sh", "-c", 'if [ "$TASK_ID" = 1 ]; then exec sleep 300; fi; echo "task $TASK_ID"'), 1, 2, 1, 1))
    first, second = ids
    states = tracker.job_states(ids)
    assert states[first][0] == JobState.RUNNING
    assert states[second] == (JobState.QUEUED, "no task")
    return first, second


@pytest.mark.backends("ctr")
def test_hold_of_a_queued_job_keeps_it_from_starting_until_released(tracker, raw):
    first, second = _queued_array(tracker)
    tracker.job_control(second, "hold")
    assert tracker.job_state(second) == (JobState.QUEUED_HELD, "held")
    assert raw.labels(second).get(HOLD_LABEL) == "true"
    tracker.job_control(first, "terminate")  # its slot frees: only a held task is left
    until(lambda: all(row["driver_pid"] is None for row in tracker.array_drivers()),
          "the array's driver ended once only its held task was left", timeout=60)
    assert tracker.job_state(second) == (JobState.QUEUED_HELD, "held")
    assert _never_ran(raw, second)
    tracker.job_control(second, "release")
    tracker.wait(second, 60)
    assert tracker.job_state(second) == (JobState.DONE, "stopped")
    assert output_of(tracker, second) == "task 2\n"


@pytest.mark.backends("docker")
def test_docker_refuses_to_hold_a_queued_job_and_changes_nothing(tracker, raw):
    first, second = _queued_array(tracker)
    with pytest.raises(UnsupportedOperationError, match="labels are fixed.*submit_as_hold"):
        tracker.job_control(second, "hold")
    assert tracker.job_state(second) == (JobState.QUEUED, "no task")
    assert HOLD_LABEL not in raw.labels(second)
    tracker.job_control(first, "terminate")
    tracker.wait(second, 60)  # not held: it starts once the slot is free
    assert tracker.job_state(second) == (JobState.DONE, "stopped")
    assert output_of(tracker, second) == "task 2\n"


def test_release_of_a_held_job_whose_program_is_missing(tracker, raw, state_dir):
    before = raw.leftovers(state_dir)
    job_id = submit(tracker, "no-such-program", submit_as_hold=True)
    for _ in range(2):  # the same typed refusal each time, not a job half started
        with pytest.raises(InvalidArgumentError) as caught:
            tracker.job_control(job_id, "release")
        assert not isinstance(caught.value, JobNotFoundError)
        assert "no-such-program" in str(caught.value)
        assert tracker.job_state(job_id) == (JobState.QUEUED_HELD, "held")  # a failed start stays held
        assert _never_ran(raw, job_id)
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status, info.finish_time) == (JobState.QUEUED_HELD, None, None)
    tracker.job_control(job_id, "terminate")
    info = tracker.job_info(job_id)
    assert (info.state, info.exit_status, info.terminating_signal) == (JobState.FAILED, 143, "SIGTERM")
    tracker.delete_job(job_id)
    _nothing_left(tracker, raw, state_dir, before)


# ---------------------------------------------------------------- unknown and empty IDs

def test_wait_template_delete_of_unknown_ids_are_job_not_found(tracker, make_tracker):
    running = submit(tracker, "sleep", "300")
    deleted = run_to_end(tracker, "true")
    tracker.delete_job(deleted)
    other = make_tracker(session="edge-another-session")
    theirs = submit(other, "sleep", "300")
    for job_id in ("no-such-job", deleted, theirs):
        calls = {
            "wait 0": lambda: tracker.wait(job_id, 0),
            "wait 30": lambda: tracker.wait(job_id, 30),  # raises at once, does not wait
            "wait_all": lambda: tracker.wait_all([running, job_id], 30),
            "wait_any": lambda: tracker.wait_any([job_id, running], 30),
            "job_template": lambda: tracker.job_template(job_id),
            "delete_job": lambda: tracker.delete_job(job_id),
            "job_state": lambda: tracker.job_state(job_id),
            "job_states": lambda: tracker.job_states([running, job_id]),
            "terminate": lambda: tracker.job_control(job_id, "terminate"),
        }
        for name, call in calls.items():
            assert job_id in str(_raises(JobNotFoundError, call, f"{name} of {job_id}"))
    assert other.job_state(theirs) == (JobState.RUNNING, "running")  # none of it touched their job
    assert tracker.job_state(running) == (JobState.RUNNING, "running")
    assert tracker.list_jobs() == [running]


@pytest.mark.parametrize("call", ["wait", "wait_all", "job_template", "delete_job", "job_states"])
def test_empty_ids_are_invalid_arguments(tracker, call):
    calls = {
        "wait": lambda: tracker.wait("", 0),
        "wait_all": lambda: tracker.wait_all([], 0),
        "job_template": lambda: tracker.job_template(""),
        "delete_job": lambda: tracker.delete_job(""),
        "job_states": lambda: tracker.job_states([""]),
    }
    with pytest.raises(InvalidArgumentError) as caught:
        calls[call]()
    assert not isinstance(caught.value, JobNotFoundError)


# ---------------------------------------------------------------- empty image / command

@pytest.mark.parametrize("fields", [
    {"job_category": ""},
    {"job_category": "   "},
    {"job_category": "\n"},
    {"job_category": "busybox:"},  # an empty tag
    {"job_category": ":latest"},  # an empty name
    {"remote_command": ""},
    {"remote_command": " \t"},
    {"remote_command": "", "args": ["echo", "x"]},
], ids=repr)
def test_an_empty_image_or_command_is_an_invalid_argument_that_leaves_nothing(tracker, raw, state_dir, fields):
    before = raw.leftovers(state_dir)
    given = {"job_category": BUSYBOX, "remote_command": "true", **fields}
    with pytest.raises(InvalidArgumentError):
        tracker.add_job(JobTemplate(**given))
    _nothing_left(tracker, raw, state_dir, before)


# ---------------------------------------------------------------- large, unicode arguments

def test_unicode_and_100_kb_of_arguments_reach_the_job_intact(tracker):
    args = [f"{i:04d} Grüße ✓ 日本 🚀 \"q\" 'x' $HOME `id` \\n --x=y " * 2 for i in range(900)]
    args += ["", " ", "--", "-e", "a\nb", "\t"]
    payload = "".join(f"[{arg}]" for arg in args).encode()
    assert len(payload) > 100_000
    # The job hashes what it got: the comparison does not depend on how its output is kept.
    job_id = run_to_end(tracker, "sh", "-c", 'printf "%s " "$#"; printf "[%s]" "$@" | sha256sum', "sh", *args,
                        timeout=60)
    assert tracker.job_state(job_id) == (JobState.DONE, "stopped")
    assert output_of(tracker, job_id) == f"{len(args)} {hashlib.sha256(payload).hexdigest()}  -\n"
    assert tracker.job_template(job_id).args == ["-c", 'printf "%s " "$#"; printf "[%s]" "$@" | sha256sum', "sh",
                                                 *args]


@pytest.mark.parametrize("shell, expected", [
    # 16,383 ASCII bytes, then 3-byte characters: one straddles byte 16,384.
    ('head -c 16383 /dev/zero | tr "\\0" x; printf "%s" "$1"', b"x" * 16383 + ("日本語🚀" * 300).encode()),
    ('printf "\\377\\376 not UTF-8\\n"', b"\xff\xfe not UTF-8\n"),
], ids=["utf8-across-16k", "non-utf8-bytes"])
@pytest.mark.backends("ctr")  # docker cannot: its json-file log driver keeps text (README, Backends)
def test_what_the_job_writes_reaches_its_output_file_byte_for_byte(tracker, backend_name, request, shell, expected):
    job_id = run_to_end(tracker, "sh", "-c", shell, "sh", "日本語🚀" * 300)
    assert tracker.job_state(job_id) == (JobState.DONE, "stopped")
    assert Path(tracker.job_info(job_id).extension.extension_list["stdout"]).read_bytes() == expected


# ---------------------------------------------------------------- environment with newlines

def test_environment_values_with_newlines_reach_the_job_intact(tracker):
    env = {
        "MULTI": "line 1\nline 2\nline 3",
        "LEADING": "\nfirst",
        "BLANK_LINES": "a\n\n\nb",
        "CRLF": "a\r\nb",
        "INJECT": "x\nINJECTED=1",  # a newline must not start another variable
        "UNICODE": "zeile ü ✓\nzweite 日本",
        "BIG": "zeile ü\n" * 2000 + "end",
    }
    names = list(env)
    script = "printf '[%s]' " + " ".join(f'"${name}"' for name in names) + ' "${INJECTED-unset}"'
    job_id = run_to_end(tracker, "sh", "-c", script, job_environment=env)
    assert tracker.job_state(job_id) == (JobState.DONE, "stopped")
    out = Path(tracker.job_info(job_id).extension.extension_list["stdout"]).read_bytes().decode()
    assert out == "".join(f"[{env[name]}]" for name in names) + "[unset]"
    assert tracker.job_template(job_id).job_environment == env


def test_environment_values_ending_in_a_newline(tracker, raw, state_dir, backend_name, containerd):
    env = {"ENDS": "value\n", "ONLY": "\n"}
    if _ctr_trims_option_values(backend_name, containerd):
        before = raw.leftovers(state_dir)
        with pytest.raises(InvalidArgumentError, match=r"trims trailing whitespace.*job_environment\['ENDS'\]"):
            submit(tracker, "true", job_environment=env)
        _nothing_left(tracker, raw, state_dir, before)
        return
    job_id = run_to_end(tracker, "sh", "-c", 'printf "[%s][%s]" "$ENDS" "$ONLY"', job_environment=env)
    assert output_of(tracker, job_id) == "[value\n][\n]"


# ---------------------------------------------------------------- job names

NAMES = ["two words here", "a/b/c", "../../escape", "/leading/slash", "Grüße ✓ 日本 🚀", "tab\there", " leading space",
         "-", "日本"]


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_job_names_with_spaces_slashes_and_unicode(tracker, raw, state_dir, name):
    job_id = submit(tracker, "true", job_name=name)
    assert JOB_ID.fullmatch(job_id)
    assert job_id in tracker.list_jobs()
    assert tracker.job_template(job_id).job_name == name
    assert raw.labels(job_id)["jobName"] == name
    tracker.wait(job_id, 30)
    info = tracker.job_info(job_id)
    assert (info.state, info.annotation) == (JobState.DONE, name)
    output = Path(info.extension.extension_list["stdout"]).resolve()
    assert output.is_relative_to((state_dir / "jobs").resolve())  # a name never makes a path outside


def test_a_job_name_is_limited_in_bytes_not_characters(tracker, raw, state_dir):
    fits = "日" * 1363  # 4,089 bytes: with the 7 of "jobName", containerd's 4,096
    job_id = submit(tracker, "true", job_name=fits)
    assert tracker.job_template(job_id).job_name == fits
    assert raw.labels(job_id)["jobName"] == fits
    before = raw.leftovers(state_dir)
    with pytest.raises(InvalidArgumentError, match="job_name is too long"):
        submit(tracker, "true", job_name=fits + "e")  # 1,364 characters, 4,090 bytes
    assert tracker.list_jobs() == [job_id]
    assert raw.leftovers(state_dir) == before


# ---------------------------------------------------------------- terminate vs. the job's own end

ENDINGS = {(5, None), (143, "SIGTERM"), (137, "SIGKILL")}


@pytest.mark.parametrize("delay", ["0", "0.05", "0.3"])
def test_terminate_racing_the_jobs_own_exit_keeps_one_consistent_end(tracker, delay):
    job_id = submit(tracker, "sh", "-c", f"sleep {delay}; exit 5")
    try:
        tracker.job_control(job_id, "terminate")
    except InvalidStateError as exc:  # allowed only when it had already ended, on its own
        assert "Failed" in str(exc)
        assert tracker.job_info(job_id).exit_status == 5
    state, sub_state = tracker.job_state(job_id)
    info = tracker.job_info(job_id)
    assert (state, sub_state) == (JobState.FAILED, "stopped")
    assert (info.state, info.sub_state) == (state, sub_state)
    assert (info.exit_status, info.terminating_signal) in ENDINGS
    assert info.finish_time is not None
    tracker.wait(job_id, 0)  # ended: returns at once
    assert tracker.job_states([job_id]) == {job_id: (state, sub_state)}
    assert tracker.job_info(job_id).exit_status == info.exit_status  # read again: the same end


# ---------------------------------------------------------------- namespaces

@pytest.fixture
def other_namespace(containerd, backend_name, request):
    if backend_name == "ctr":
        listed = subprocess.run(containerd.ctr_argv("images", "list", "--quiet", namespace=OTHER_NAMESPACE),
                                capture_output=True, text=True, timeout=60).stdout.split()
        if BUSYBOX not in listed:
            containerd.import_busybox(BUSYBOX, namespace=OTHER_NAMESPACE)
        request.addfinalizer(lambda: containerd.clean_namespace(OTHER_NAMESPACE))
    return OTHER_NAMESPACE


def test_a_job_in_another_namespace_is_seen_there_only(make_tracker, other_namespace, backend_name, request,
                                                       state_dir, containerd):
    other = make_tracker(namespace=other_namespace)
    default = make_tracker()  # same session name, namespace 'default'
    assert (other.namespace, default.namespace) == (other_namespace, "default")
    job_id = run_to_end(other, "sh", "-c", "echo from other-ns")
    assert other.list_jobs() == [job_id]
    assert output_of(other, job_id) == "from other-ns\n"
    assert Path(other.job_info(job_id).extension.extension_list["stdout"]).is_relative_to(
        state_dir / "jobs" / other_namespace)
    assert job_id not in default.list_jobs()
    with pytest.raises(JobNotFoundError, match="default"):
        default.job_state(job_id)
    if backend_name == "ctr":
        def listed(namespace: str) -> list[str]:
            return subprocess.run(containerd.ctr_argv("containers", "list", "--quiet", namespace=namespace),
                                  capture_output=True, text=True, timeout=60, check=True).stdout.split()

        assert job_id in listed(other_namespace)
        assert job_id not in listed("default")


@pytest.mark.backends("docker")
def test_a_docker_job_is_in_its_namespace_only_though_the_engine_has_none(make_tracker, other_namespace, raw):
    """docker has no namespaces: the tracker keeps the namespace as a label, so
    a job is neither listed nor read (its output copied twice, a terminated
    held job Failed in one namespace and QueuedHeld in the other) elsewhere."""
    other = make_tracker(namespace=other_namespace)
    default = make_tracker()
    job_id = run_to_end(other, "echo", "once")
    held = submit(other, "true", submit_as_hold=True)
    other.job_control(held, "terminate")
    assert raw.labels(job_id)["containerd-tracker/namespace"] == other_namespace
    assert default.list_jobs() == [] and sorted(other.list_jobs()) == sorted([job_id, held])
    for job in (job_id, held):
        with pytest.raises(JobNotFoundError):
            default.job_state(job)
    assert output_of(other, job_id) == "once\n"
    assert other.job_state(held)[0] == JobState.FAILED


# ---------------------------------------------------------------- the batch state call

def test_job_states_of_several_jobs_agree_with_job_state(tracker, make_tracker):
    running = submit(tracker, "sleep", "300")
    done = run_to_end(tracker, "true")
    failed = run_to_end(tracker, "sh", "-c", "exit 3")
    held = submit(tracker, "true", submit_as_hold=True)
    suspended = submit(tracker, "sleep", "300")
    tracker.job_control(suspended, "suspend")
    ending = submit(tracker, "sh", "-c", "sleep 1; exit 4")
    steady = {running: JobState.RUNNING, done: JobState.DONE, failed: JobState.FAILED, held: JobState.QUEUED_HELD,
              suspended: JobState.SUSPENDED}
    ids = [*steady, ending]

    batch = tracker.job_states([*ids, done, running])  # repeated IDs are answered once
    assert sorted(batch) == sorted(ids)
    assert {job_id: batch[job_id][0] for job_id in steady} == steady
    for job_id in steady:
        assert batch[job_id] == tracker.job_state(job_id)

    tracker.wait(ending, 30)
    after = tracker.job_states(ids)
    assert after[ending] == (JobState.FAILED, "stopped") == tracker.job_state(ending)
    assert tracker.job_info(ending).exit_status == 4
    assert {job_id: after[job_id] for job_id in steady} == {job_id: batch[job_id] for job_id in steady}
    infos = tracker.job_infos(ids, cpu_time=False)
    assert {job_id: (info.state, info.sub_state) for job_id, info in infos.items()} == after

    theirs = submit(make_tracker(session="edge-states-other"), "true")
    for stranger in ("no-such-job", theirs):
        with pytest.raises(JobNotFoundError, match=stranger):
            tracker.job_states([done, stranger])
