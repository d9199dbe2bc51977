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
    cache = RecordCache(tmp_path)
    for cid in ("job-1", "job-2", "job-3"):
        cache.put(ContainerInfo(id=cid))
    (tmp_path / ".job-4.json.x1y2.tmp").write_text("")  # another process writing its copy
    cache.prune(["job-1", "job-3"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".job-4.json.x1y2.tmp", "job-1.json", "job-3.json"]
    cache.prune([])  # once per process: the next listing drops no more
    assert cache.get("job-1") is not None
    RecordCache(tmp_path).prune(["job-3"])  # the next process does
    assert sorted(p.name for p in tmp_path.iterdir()) == [".job-4.json.x1y2.tmp", "job-3.json"]
