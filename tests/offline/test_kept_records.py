"""The ctr backend's kept container records: what is kept, and that a
damaged copy costs a call, never a wrong answer."""
from __future__ import annotations

import stat

from containerd_tracker_cli.backends.ctr.records import RecordCache
from containerd_tracker_cli.backends.models import ContainerInfo
from containerd_tracker_cli.records import labels as L


def test_a_kept_record_drops_the_labels_that_change_and_keeps_the_rest(tmp_path):
    cache = RecordCache(tmp_path / "records")
    info = ContainerInfo(id="job-1", labels={L.DRMAA2: "true", L.HOLD: "true", L.PROBE: "x", L.EXIT_STATUS: "3"},
                         image="busybox", args=["sh", "-c", "exit 3"])
    cache.put(info)
    kept = cache.get("job-1")
    assert kept is not None
    assert kept.labels == {L.DRMAA2: "true", L.EXIT_STATUS: "3"}
    assert (kept.image, kept.args) == ("busybox", ["sh", "-c", "exit 3"])
    assert stat.S_IMODE((tmp_path / "records").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "records" / "job-1.json").stat().st_mode) == 0o600


def test_a_damaged_or_dropped_copy_reads_as_none(tmp_path):
    cache = RecordCache(tmp_path)
    cache.put(ContainerInfo(id="job-1"))
    (tmp_path / "job-1.json").write_text('{"id": "job-1", "labels": ')
    assert cache.get("job-1") is None
    cache.put(ContainerInfo(id="job-2"))
    cache.drop(["job-2", "never-kept"])
    assert cache.get("job-2") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job-1.json"]


def test_a_copy_that_cannot_be_written_is_only_a_warning(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("")
    RecordCache(blocked / "records").put(ContainerInfo(id="job-1"))  # its folder cannot be made
    assert "cannot keep the record of job-1" in caplog.text


def test_copies_of_containers_deleted_elsewhere_are_pruned_once_per_process(tmp_path):
    import os
    import time

    cache = RecordCache(tmp_path)
    for cid in ("job-1", "job-2", "job-3", "job-5"):
        cache.put(ContainerInfo(id=cid))
    listed_at = time.time()
    for cid in ("job-1", "job-2", "job-3"):  # kept before the listing
        os.utime(tmp_path / f"{cid}.json", (listed_at - 5, listed_at - 5))
    os.utime(tmp_path / "job-5.json", (listed_at + 1, listed_at + 1))  # kept by another process since
    (tmp_path / ".job-4.json.x1y2.tmp").write_text("")  # another process writing its copy
    cache.prune(["job-1", "job-3"], listed_at)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".job-4.json.x1y2.tmp", "job-1.json", "job-3.json", "job-5.json"]
    cache.prune([], listed_at + 10)  # once per cache: the next listing drops no more
    assert cache.get("job-1") is not None
    RecordCache(tmp_path).prune(["job-3"], listed_at)  # the next process does
    assert sorted(p.name for p in tmp_path.iterdir()) == [".job-4.json.x1y2.tmp", "job-3.json", "job-5.json"]


def test_each_daemon_keeps_its_copies_apart(tmp_path):
    """Two containerd daemons, one namespace name, one state directory: a
    process talking to one never prunes the other's copies."""
    from containerd_tracker_cli.backends.ctr.backend import CtrBackend
    from containerd_tracker_cli.records.statedir import StateDir
    from containerd_tracker_cli.runner import Completed, Runner

    class NoProcesses(Runner):
        def run(self, argv, *, timeout, stdin=None) -> Completed:
            raise AssertionError(f"no process expected: {argv}")

        def stream(self, argv):
            raise AssertionError(f"no process expected: {argv}")

    folders = []
    for address in ("/run/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock",
                    "/run/containerd/containerd.sock"):
        backend = CtrBackend(NoProcesses(), address, "default")
        backend.use_state(StateDir(tmp_path, "default"))
        folders.append(backend.records.folder)
    assert folders[0] != folders[1] and folders[0] == folders[2]
    assert all(folder.parent == tmp_path / "records" / "default" for folder in folders)
