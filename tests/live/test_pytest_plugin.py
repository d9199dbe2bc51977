"""The pytest plugin, used the way a user would: a test file of theirs is
recorded against the live test daemon, then replayed with no daemon (and no
``ctr`` on PATH) at all. Each user run is a separate pytest process, so the
plugin is exercised as installed, through its entry point."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from containerd_tracker_cli.testing import PrivateContainerd

pytest_plugins = ["pytester"]

BUSYBOX_JOB = '''
from containerd_tracker_cli import JobState, JobTemplate

def test_job_exit_status(containerd_tracker, tmp_path):
    job_id = containerd_tracker.add_job(JobTemplate(
        job_category="docker.io/library/busybox:latest", remote_command="sh", args=ARGS,
        output_path=str(tmp_path / "job.out"),
    ))
    containerd_tracker.wait(job_id, 30)
    info = containerd_tracker.job_info(job_id)
    assert info.exit_status == 3
    assert info.state == JobState.FAILED
    if DELETE:
        containerd_tracker.delete_job(job_id)
'''


def busybox_job(args: list[str], delete: bool = True) -> str:
    return f"ARGS = {args!r}\nDELETE = {delete!r}\n" + BUSYBOX_JOB


def listing(body: str = "assert containerd_tracker.list_jobs() == []", decorator: str = "") -> str:
    """A user test that costs one ctr call per list_jobs."""
    return f"import pytest\n\n{decorator}\ndef test_listing(containerd_tracker, containerd_tracker_factory):\n    {body}\n"


@pytest.fixture
def user(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project directory; their pytest runs as its own process."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # rewritten test files must not hit a stale .pyc
    for name in ("CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    return pytester


@pytest.fixture
def live_user(user: pytest.Pytester, containerd: PrivateContainerd) -> Iterator[pytest.Pytester]:
    yield user
    containerd.clean_namespace("default")


def record(user: pytest.Pytester, containerd: PrivateContainerd, *args: str, mode: str = "once") -> pytest.RunResult:
    return user.runpytest_subprocess(
        f"--containerd-record-mode={mode}", f"--containerd-address={containerd.address}", *args, timeout=120
    )


def replay(user: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> pytest.RunResult:
    """Default mode with no daemon: a socket that does not exist and no ctr to run."""
    with monkeypatch.context() as m:
        m.setenv("PATH", "/nonexistent-bin")
        return user.runpytest_subprocess("--containerd-address=/nonexistent.sock", *args, timeout=120)


def cassette(user: pytest.Pytester, module: str, name: str) -> Path:
    return user.path / "cassettes" / module / f"{name}.json"


def test_record_once_then_replay_without_a_daemon(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_jobs=busybox_job(["-c", "exit 3"]))
    result = record(live_user, containerd)
    result.assert_outcomes(passed=1)
    path = cassette(live_user, "test_jobs", "test_job_exit_status")
    text = path.read_text()
    data = json.loads(text)
    assert data["meta"]["namespace"] == "default" and data["meta"]["test"] == "test_jobs.py::test_job_exit_status"
    assert any(i["kind"] == "run" and "--label=drmaa2=true" in i["argv"] for i in data["interactions"])  # submitted
    assert containerd.address not in text and str(live_user.path) not in text
    assert "<<address>>" in text and "<<state_dir>>" in text and "<<tmp_path>>/job.out" in text

    # Elsewhere (another temporary directory), with no daemon and no ctr.
    result = replay(live_user, monkeypatch, f"--basetemp={live_user.path / 'elsewhere'}")
    result.assert_outcomes(passed=1)
    assert "not replayed" not in result.stdout.str()

    # "once" with a recording present replays it too: the file is not rewritten.
    before = path.stat().st_mtime_ns
    record(live_user, containerd).assert_outcomes(passed=1)
    assert path.stat().st_mtime_ns == before


def test_a_changed_command_fails_naming_it(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_jobs=busybox_job(["-c", "exit 3"]))
    record(live_user, containerd).assert_outcomes(passed=1)
    live_user.makepyfile(test_jobs=busybox_job(["-c", "exit 4"]))
    result = replay(live_user, monkeypatch)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "command differs from the recording" in out
    assert "recorded: ctr --address" in out and "now:      ctr --address" in out
    assert "recorded 'exit 3', now 'exit 4'" in out
    assert "--containerd-record-mode=all" in out


def test_fewer_commands_than_recorded_is_a_warning(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_jobs=busybox_job(["-c", "exit 3"], delete=True))
    record(live_user, containerd).assert_outcomes(passed=1)
    live_user.makepyfile(test_jobs=busybox_job(["-c", "exit 3"], delete=False))
    result = replay(live_user, monkeypatch)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*ContainerdCassetteWarning: passed, but * of * recorded "
                                 "interactions in */cassettes/test_jobs/test_job_exit_status.json were not replayed*"])


def test_a_missing_recording_fails_saying_how_to_record(user, monkeypatch):
    user.makepyfile(test_new=listing())
    result = replay(user, monkeypatch)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "no recording at" in out and "cassettes/test_new/test_listing.json" in out
    assert "containers list" in out  # the command it wanted
    assert "--containerd-record-mode=once" in out


def test_parametrized_names_are_safe_file_names(user, monkeypatch):
    user.makepyfile(test_params='''
import pytest

@pytest.mark.parametrize("where", ["a/b", "c d"])
def test_p(where, containerd_tracker):
    containerd_tracker.list_jobs()

class TestGroup:
    def test_p(self, containerd_tracker):
        containerd_tracker.list_jobs()
''')
    result = replay(user, monkeypatch)
    result.assert_outcomes(failed=3)
    for name in ("test_p-a-b", "test_p-c-d", "TestGroup.test_p"):
        assert f"cassettes/test_params/{name}.json" in result.stdout.str(), name


def test_a_bad_record_mode_is_a_usage_error(user):
    result = user.runpytest_subprocess("--containerd-record-mode=bogus")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice: 'bogus'" in result.stderr.str()

    user.makeini("[pytest]\ncontainerd_record_mode = sometimes\n")
    result = user.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "containerd_record_mode: invalid value 'sometimes'" in result.stderr.str()


def test_the_marker_names_the_cassette(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_marked=listing(decorator='@pytest.mark.containerd_cassette("empty-listing")'))
    record(live_user, containerd, "--strict-markers").assert_outcomes(passed=1)
    assert cassette(live_user, "test_marked", "empty-listing").exists()
    assert not cassette(live_user, "test_marked", "test_listing").exists()
    replay(live_user, monkeypatch, "--strict-markers").assert_outcomes(passed=1)


def test_record_all_starts_from_an_empty_cassette(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_listing=listing("containerd_tracker.list_jobs(); containerd_tracker.list_jobs()"))
    record(live_user, containerd).assert_outcomes(passed=1)
    path = cassette(live_user, "test_listing", "test_listing")
    assert len(json.loads(path.read_text())["interactions"]) == 2
    live_user.makepyfile(test_listing=listing("containerd_tracker.list_jobs()"))
    record(live_user, containerd, mode="all").assert_outcomes(passed=1)
    assert len(json.loads(path.read_text())["interactions"]) == 1
    result = replay(live_user, monkeypatch)
    result.assert_outcomes(passed=1)
    assert "not replayed" not in result.stdout.str()


def test_a_failing_test_leaves_no_recording(live_user, containerd):
    live_user.makepyfile(test_red=listing("containerd_tracker.list_jobs(); assert False, 'red'"))
    result = record(live_user, containerd)
    result.assert_outcomes(failed=1, warnings=1)
    assert "not recorded because the test did not pass; nothing was saved" in result.stdout.str()
    assert not (live_user.path / "cassettes" / "test_red").exists()


def test_recording_uses_the_namespace_and_replay_follows_it(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_ns=listing())
    record(live_user, containerd, "--containerd-namespace=plugin-test").assert_outcomes(passed=1)
    data = json.loads(cassette(live_user, "test_ns", "test_listing").read_text())
    assert data["meta"]["namespace"] == "plugin-test"
    assert data["interactions"][0]["argv"][3:5] == ["--namespace", "plugin-test"]
    replay(live_user, monkeypatch).assert_outcomes(passed=1)


def test_a_swallowed_mismatch_still_fails_the_test(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_swallow=listing())
    record(live_user, containerd).assert_outcomes(passed=1)
    live_user.makepyfile(test_swallow=listing(
        'try:\n        containerd_tracker_factory("another-session").list_jobs()\n'
        "    except Exception:\n        pass"
    ))
    result = replay(live_user, monkeypatch)
    result.assert_outcomes(passed=1, errors=1)
    assert "caught a replay mismatch" in result.stdout.str()
    assert "jobSessionName" in result.stdout.str()


def test_recording_without_a_daemon_is_a_clear_setup_error(user):
    user.makepyfile(test_dead=listing())
    result = user.runpytest_subprocess("--containerd-record-mode=once", "--containerd-address=/nonexistent.sock",
                                       timeout=120)
    result.assert_outcomes(errors=1)
    assert "needs a live containerd, and /nonexistent.sock did not answer: no socket at" in result.stdout.str()
    assert not (user.path / "cassettes").exists()


def test_a_tracker_built_by_the_user_replays_with_the_injected_runner(live_user, containerd, monkeypatch):
    live_user.makepyfile(test_own='''
from containerd_tracker_cli import ContainerdJobTracker

def test_own_tracker(containerd_runner, containerd_recording):
    tracker = ContainerdJobTracker(
        "my-service", runner=containerd_runner, address=containerd_recording.address,
        namespace=containerd_recording.namespace, state_dir=containerd_recording.state_dir,
    )
    assert tracker.list_jobs() == []
''')
    record(live_user, containerd).assert_outcomes(passed=1)
    assert cassette(live_user, "test_own", "test_own_tracker").exists()
    replay(live_user, monkeypatch).assert_outcomes(passed=1)


def test_record_and_replay_through_docker(live_user, dockerd, monkeypatch):
    live_user.makepyfile(test_jobs=busybox_job(["-c", "exit 3"]))
    result = live_user.runpytest_subprocess(
        "--containerd-record-mode=once", "--containerd-backend=docker", f"--containerd-address={dockerd.host}",
        timeout=120)
    result.assert_outcomes(passed=1)
    data = json.loads(cassette(live_user, "test_jobs", "test_job_exit_status").read_text())
    assert data["meta"]["tool"] == "docker"
    commands = [i["argv"] for i in data["interactions"] if i["kind"] == "run"]
    assert commands and all(argv[0] == "docker" for argv in commands)
    assert any("--label" in argv and "drmaa2=true" in argv for argv in commands)  # a job was submitted
    assert dockerd.host not in json.dumps(data)

    # No daemon, no docker, no --containerd-backend: the recording says which CLI it was.
    result = replay(live_user, monkeypatch)
    result.assert_outcomes(passed=1)
    assert "not replayed" not in result.stdout.str()


OUTPUT_JOBS = '''
from containerd_tracker_cli import JobTemplate

BUSYBOX = "docker.io/library/busybox:latest"


def test_what_the_jobs_wrote(containerd_tracker, tmp_path):
    apart = containerd_tracker.add_job(JobTemplate(
        job_category=BUSYBOX, remote_command="sh", args=["-c", "echo out; echo err >&2; exit 3"],
        output_path=str(tmp_path / "job.out"), error_path=str(tmp_path / "job.err")))
    large = containerd_tracker.add_job(JobTemplate(
        job_category=BUSYBOX, remote_command="sh", args=["-c", "yes 0123456789abcdef | head -c 2500000; echo end"]))
    (tmp_path / "in.txt").write_text("fed through stdin\\n")
    fed = containerd_tracker.add_job(JobTemplate(
        job_category=BUSYBOX, remote_command="cat", input_path=str(tmp_path / "in.txt"),
        output_path=str(tmp_path / "fed.out")))
    containerd_tracker.wait(apart, 30)
    containerd_tracker.wait(large, 30)
    containerd_tracker.wait(fed, 30)
    assert (tmp_path / "fed.out").read_text() == "fed through stdin\\n"
    assert (tmp_path / "job.out").read_text() == "out\\n"
    assert (tmp_path / "job.err").read_text() == "err\\n"
    text = open(containerd_tracker.job_info(large).extension.extension_list["stdout"]).read()
    assert text == ("0123456789abcdef\\n" * 147059)[:2500000] + "end\\n"
'''

BINARY_JOB = '''
from containerd_tracker_cli import JobTemplate


def test_binary_output(containerd_tracker, tmp_path):
    job_id = containerd_tracker.add_job(JobTemplate(
        job_category="docker.io/library/busybox:latest", remote_command="sh",
        args=["-c", "printf '\\\\377\\\\000\\\\376 bytes'"], output_path=str(tmp_path / "job.out")))
    containerd_tracker.wait(job_id, 30)
    assert (tmp_path / "job.out").read_bytes() == b"\\xff\\x00\\xfe bytes"
'''


@pytest.mark.parametrize("backend", ["ctr", "docker"])
def test_what_jobs_wrote_is_there_on_replay_too(live_user, containerd, dockerd, monkeypatch, backend):
    """The README's plugin example plus reading the job's output: recorded, then
    replayed with no daemon and no CLI, elsewhere — the files are written back
    when the job is first seen ended, as live (stderr apart, 2.5 MB)."""
    live_user.makepyfile(test_jobs=OUTPUT_JOBS)
    address = containerd.address if backend == "ctr" else dockerd.host
    result = live_user.runpytest_subprocess("--containerd-record-mode=once", f"--containerd-backend={backend}",
                                            f"--containerd-address={address}", timeout=180)
    result.assert_outcomes(passed=1)
    data = json.loads(cassette(live_user, "test_jobs", "test_what_the_jobs_wrote").read_text())
    kept = [i for i in data["interactions"] if i["kind"] == "files"]
    assert data["format"] == 2 and len(kept) == 3
    assert any(f["path"] == "<<tmp_path>>/in.txt" and f["text"] == "fed through stdin\n"
               for i in kept for f in i["files"])  # the input file too

    result = replay(live_user, monkeypatch, f"--basetemp={live_user.path / 'elsewhere'}")
    result.assert_outcomes(passed=1)
    assert "not replayed" not in result.stdout.str()


def test_binary_output_round_trips_through_a_recording(live_user, containerd, monkeypatch):
    """ctr's logger writes the job's bytes as they are; the recording keeps them
    (as base64) and the replay writes the very same bytes."""
    live_user.makepyfile(test_binary=BINARY_JOB)
    record(live_user, containerd).assert_outcomes(passed=1)
    result = replay(live_user, monkeypatch, f"--basetemp={live_user.path / 'elsewhere'}")
    result.assert_outcomes(passed=1)
