"""add_job: what runs, with what environment, and where its output goes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerd_tracker_cli import (
    InvalidArgumentError,
    JobState,
    JobTemplate,
    UnsupportedAttributeError,
)

from ..support import BUSYBOX, ENTRYPOINT_IMAGE
from .helpers import output_of, run_to_end, submit, template


def test_add_job_returns_the_container_id_and_the_job_runs(tracker, raw):
    job_id = submit(tracker, "sleep", "5")
    assert job_id in raw.containers()
    assert tracker.job_state(job_id) == (JobState.RUNNING, "running")


def test_two_jobs_with_the_same_name_get_distinct_ids_and_keep_the_name(tracker, raw):
    first = submit(tracker, "true", job_name="same")
    second = submit(tracker, "true", job_name="same")
    assert first != second
    for job_id in (first, second):
        labels = raw.labels(job_id)
        assert labels["jobName"] == "same"
        assert labels["drmaa2"] == "true"
        assert labels["jobSessionName"] == tracker.session_name
        assert tracker.job_template(job_id).job_name == "same"


def test_remote_command_and_args_run_as_given(tracker):
    job_id = run_to_end(tracker, "sh", "-c", 'echo "$0|$1"', "a b", "c")
    assert tracker.job_state(job_id)[0] == JobState.DONE
    assert output_of(tracker, job_id) == "a b|c\n"


def test_args_without_command_replace_cmd_and_keep_the_entrypoint(tracker):
    job_id = tracker.add_job(JobTemplate(job_category=ENTRYPOINT_IMAGE, args=["x", "y"]))
    tracker.wait(job_id, 30)
    assert output_of(tracker, job_id) == "EP x y\n"


def test_no_command_runs_the_image_default(tracker):
    job_id = tracker.add_job(JobTemplate(job_category=ENTRYPOINT_IMAGE))
    tracker.wait(job_id, 30)
    assert output_of(tracker, job_id) == "EP default-cmd\n"


def test_remote_command_overrides_the_entrypoint(tracker):
    job_id = tracker.add_job(JobTemplate(job_category=ENTRYPOINT_IMAGE, remote_command="echo", args=["own"]))
    tracker.wait(job_id, 30)
    assert output_of(tracker, job_id) == "own\n"


def test_short_image_names_are_resolved(tracker):
    job_id = run_to_end(tracker, "true", job_category="busybox")
    assert tracker.job_info(job_id).extension.extension_list["image"] == BUSYBOX


def test_environment_and_working_directory(tracker):
    job_id = run_to_end(
        tracker, "sh", "-c", 'echo "$GREETING $OTHER"; pwd',
        job_environment={"GREETING": "hello world", "OTHER": "a=b"}, working_directory="/tmp",
    )
    assert output_of(tracker, job_id) == "hello world a=b\n/tmp\n"
    assert tracker.job_info(job_id).extension.extension_list["working_directory"] == "/tmp"


def test_output_and_error_paths_are_two_files(tracker, tmp_path):
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    run_to_end(tracker, "sh", "-c", "echo to-out; echo to-err >&2",
               output_path=str(out), error_path=str(err))
    assert out.read_text() == "to-out\n"
    assert err.read_text() == "to-err\n"


def test_join_files_puts_both_streams_in_the_output_file(tracker, tmp_path):
    out = tmp_path / "joined.txt"
    run_to_end(tracker, "sh", "-c", "echo one; echo two >&2", output_path=str(out), join_files=True)
    assert sorted(out.read_text().splitlines()) == ["one", "two"]


def test_without_paths_output_goes_to_a_per_job_file_in_the_state_dir(tracker, state_dir):
    job_id = run_to_end(tracker, "sh", "-c", "echo out; echo err >&2")
    path = Path(tracker.job_info(job_id).extension.extension_list["stdout"])
    assert path.is_relative_to(state_dir)
    assert sorted(path.read_text().splitlines()) == ["err", "out"]


def test_output_path_alone_keeps_stderr_in_the_state_dir(tracker, tmp_path, state_dir):
    out = tmp_path / "only-out.txt"
    job_id = run_to_end(tracker, "sh", "-c", "echo o; echo e >&2", output_path=str(out))
    assert out.read_text() == "o\n"
    assert output_of(tracker, job_id, "stderr") == "e\n"


def test_input_path_is_the_jobs_stdin(tracker, tmp_path):
    source = tmp_path / "in, put:1.txt"  # a comma and a colon must not break the mount
    source.write_text("line one\nline two\n")
    job_id = run_to_end(tracker, "wc", "-l", input_path=str(source))
    assert output_of(tracker, job_id).strip() == "2"
    assert tracker.job_state(job_id)[0] == JobState.DONE


def test_two_megabytes_of_output_never_block_the_job(tracker, tmp_path):
    out = tmp_path / "big.txt"
    # 2 MiB: far beyond a pipe buffer; a job on an unread pipe would hang.
    job_id = run_to_end(tracker, "sh", "-c", "head -c 2097152 /dev/zero | tr '\\0' x", output_path=str(out),
                        timeout=60)
    assert tracker.job_state(job_id)[0] == JobState.DONE
    assert out.stat().st_size == 2 * 1024 * 1024


def test_a_template_larger_than_a_label_is_stored_and_returned(tracker, raw):
    environment = {f"VAR_{i}": "v" * 100 for i in range(200)}  # ~20 KB of JSON
    job_id = run_to_end(tracker, "sh", "-c", 'echo "$VAR_199"', job_environment=environment)
    assert tracker.job_template(job_id).job_environment == environment
    labels = raw.labels(job_id)
    assert all(len(k) + len(v) <= 4096 for k, v in labels.items())
    assert output_of(tracker, job_id) == "v" * 100 + "\n"


def test_drmaa2_placeholders_in_paths(tracker, tmp_path):
    array_id = tracker.add_array_job(
        template("sh", "-c", "echo task $TASK_ID", output_path=str(tmp_path / "out.$DRMAA2_INDEX$")), 1, 2, 1, 0
    )
    for job_id in json.loads(array_id):
        tracker.wait(job_id, 30)
    assert (tmp_path / "out.1").read_text() == "task 1\n"
    assert (tmp_path / "out.2").read_text() == "task 2\n"


# ---------------------------------------------------------------- bad input

def test_a_command_missing_from_the_image_fails_and_leaves_nothing(tracker, raw, state_dir):
    before = raw.leftovers(state_dir)
    with pytest.raises(InvalidArgumentError) as caught:
        submit(tracker, "no-such-program")
    assert "no-such-program" in str(caught.value)
    assert caught.value.argv and caught.value.argv[0] == raw.backend
    assert raw.leftovers(state_dir) == before


def test_a_missing_image_fails_without_pulling_when_told_never(make_tracker, raw, state_dir):
    tracker = make_tracker(pull_policy="never")
    before = raw.leftovers(state_dir)
    with pytest.raises(InvalidArgumentError, match="not present"):
        submit(tracker, "true", job_category="example.com/absent:1")
    assert raw.leftovers(state_dir) == before


def test_a_missing_image_that_cannot_be_pulled_is_a_clear_error(tracker, raw, state_dir):
    before = raw.leftovers(state_dir)
    with pytest.raises(InvalidArgumentError, match="could not be pulled") as caught:
        submit(tracker, "true", job_category="registry.invalid/absent:1")
    assert "pull" in " ".join(caught.value.argv or [])
    assert raw.leftovers(state_dir) == before


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"job_category": None}, InvalidArgumentError),
        ({"working_directory": "relative/dir"}, InvalidArgumentError),
        ({"job_environment": {"A=B": "x"}}, InvalidArgumentError),
        ({"email": ["someone@example.com"]}, UnsupportedAttributeError),
        ({"queue_name": "batch"}, UnsupportedAttributeError),
        ({"input_path": "/nonexistent/input"}, InvalidArgumentError),
        ({"output_path": "/nonexistent/dir/out"}, InvalidArgumentError),
    ],
)
def test_bad_templates_get_typed_errors_and_leave_nothing(tracker, raw, state_dir, fields, error):
    before = raw.leftovers(state_dir)
    with pytest.raises(error):
        submit(tracker, "true", **fields)
    assert raw.leftovers(state_dir) == before


def test_input_path_needs_a_shell_in_the_image_and_says_so(tracker, raw, state_dir, tmp_path):
    # An image whose only file is busybox under another name: no /bin/sh.
    from containerd_tracker_cli.testing.busybox_image import build_busybox_archive

    archive = build_busybox_archive(tmp_path / "img.tar", ref="example.com/noshell:1")
    stripped = tmp_path / "noshell.tar"
    _strip_shell(archive, stripped)
    raw.import_image(stripped)
    source = tmp_path / "in.txt"
    source.write_text("x\n")
    before = raw.leftovers(state_dir)
    with pytest.raises(UnsupportedAttributeError, match="/bin/sh"):
        tracker.add_job(JobTemplate(job_category="example.com/noshell:1", remote_command="/bin/cat",
                                    input_path=str(source)))
    assert raw.leftovers(state_dir) == before


def _strip_shell(archive: Path, dest: Path) -> None:
    """Rebuild the busybox archive without the /bin/sh applet link."""
    import hashlib
    import io
    import tarfile

    with tarfile.open(archive) as src:
        members = {m.name: src.extractfile(m).read() if m.isfile() else None for m in src.getmembers()}
        index = json.loads(members["index.json"])
        manifest_digest = index["manifests"][0]["digest"].split(":")[1]
        manifest = json.loads(members[f"blobs/sha256/{manifest_digest}"])
        layer_digest = manifest["layers"][0]["digest"].split(":")[1]
        config_digest = manifest["config"]["digest"].split(":")[1]
        layer_in = tarfile.open(fileobj=io.BytesIO(members[f"blobs/sha256/{layer_digest}"]))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as layer_out:
            for member in layer_in.getmembers():
                if member.name in ("bin/sh", "bin/ash"):
                    continue
                data = layer_in.extractfile(member) if member.isfile() else None
                layer_out.addfile(member, data)
        layer = out.getvalue()
    config = json.loads(members[f"blobs/sha256/{config_digest}"])
    config["rootfs"]["diff_ids"] = ["sha256:" + hashlib.sha256(layer).hexdigest()]

    def blob(tar: tarfile.TarFile, data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        info = tarfile.TarInfo(f"blobs/sha256/{digest}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        return {"digest": f"sha256:{digest}", "size": len(data)}

    with tarfile.open(dest, "w") as tar:
        manifest["layers"][0].update(blob(tar, layer))
        manifest["config"].update(blob(tar, json.dumps(config).encode()))
        index["manifests"][0].update(blob(tar, json.dumps(manifest).encode()))
        for name, payload in (("oci-layout", {"imageLayoutVersion": "1.0.0"}), ("index.json", index)):
            data = json.dumps(payload).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_an_unusable_state_directory_is_a_typed_error_and_leaves_nothing(make_tracker, raw, tmp_path):
    from containerd_tracker_cli import InternalError

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    tracker = make_tracker(state_dir=blocker)
    before = sorted(raw.containers())
    with pytest.raises(InternalError, match="state directory"):
        submit(tracker, "true")
    assert sorted(raw.containers()) == before
