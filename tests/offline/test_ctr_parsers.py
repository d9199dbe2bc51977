"""ctr parsers: every output recorded from a real daemon parses, and
anything else is a CliParseError naming the command."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from containerd_tracker_cli.backends.ctr import parsers
from containerd_tracker_cli.backends.errors import CliParseError
from containerd_tracker_cli.backends.models import TaskStatus
from containerd_tracker_cli.runner import Cassette

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctr"  # <version>/<scenario>.json
ARGV = ("ctr", "tasks", "list")


def _recorded(subcommand: tuple[str, ...]):
    for path in sorted(FIXTURES.glob("*/*.json")):
        for item in Cassette.load(path).expanded():
            argv = item.get("argv", [])
            if item["kind"] == "run" and item["exit_code"] == 0 and tuple(argv[7:7 + len(subcommand)]) == subcommand:
                yield path.parent.name, argv, item


def _each(subcommand: tuple[str, ...]):
    found = list(_recorded(subcommand))
    assert found, f"no recorded output of ctr {' '.join(subcommand)}"
    return found


def test_every_recorded_task_list_parses():
    statuses = set()
    for _, argv, item in _each(("tasks", "list")):
        for task in parsers.parse_task_list(argv, item["stdout"]).values():
            statuses.add(task.status)
            assert task.pid > 0
    assert {TaskStatus.RUNNING, TaskStatus.PAUSED, TaskStatus.STOPPED} <= statuses


def test_every_recorded_container_info_parses():
    for _, argv, item in _each(("containers", "info")):
        info = parsers.parse_container_info(argv, item["stdout"])
        assert info.id == argv[-1]
        assert info.labels["drmaa2"] == "true"
        assert info.created_at is not None and info.created_at.tzinfo is not None
        assert info.args and info.image


def _matches(labels: dict[str, str], filters: str) -> bool:
    """ctr's label filters as the tracker writes them: ``labels."k"`` (set)
    and ``labels."k"=="v"``, joined by commas (all must hold)."""
    for term in filters.split(","):
        key, sep, value = term.partition("==")
        name = key.removeprefix("labels.").strip('"')
        if name not in labels or (sep and labels[name] != value.strip('"')):
            return False
    return True


def _label_args(args: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in args)


def test_every_recorded_container_list_gives_exactly_the_containers_that_existed():
    """Each listing is compared with the containers the same recording had
    created, labelled and deleted by then (what the daemon held), not with
    its own text: no ID lost, none made up, none twice."""
    checked = set()  # the versions with a listing of some containers compared
    for path in sorted(FIXTURES.glob("*/*.json")):
        existing: dict[str, dict[str, str]] = {}  # container ID -> its labels
        for item in Cassette.load(path).expanded():
            if item["kind"] != "run":
                continue
            argv = item["argv"]
            command = tuple(argv[7:9])
            # `ctr run` makes the container, then its task: a failure of the task leaves the container.
            made = item["exit_code"] == 0 or (argv[7] == "run" and "failed to create shim task" in item["stderr"])
            if (command == ("containers", "create") or argv[7] == "run") and made:
                image_at = argv.index("--") + 1
                labels = _label_args([a.removeprefix("--label=") for a in argv[8:image_at] if a.startswith("--label=")])
                existing[argv[image_at + 1]] = labels
                continue
            if item["exit_code"] != 0:
                continue
            elif command == ("containers", "label"):
                labels = existing[argv[9]]
                for key, value in _label_args(argv[10:]).items():
                    if value:
                        labels[key] = value
                    else:
                        labels.pop(key, None)  # `k=` removes a label
            elif command == ("containers", "delete"):
                for cid in argv[9:]:
                    existing.pop(cid)
            elif command == ("containers", "list"):
                filters = argv[10] if len(argv) > 10 else ""
                expected = sorted(cid for cid, labels in existing.items() if not filters or _matches(labels, filters))
                assert sorted(parsers.parse_container_ids(argv, item["stdout"])) == expected, (path, argv[7:])
                if expected:
                    checked.add(path.parent.name)
    assert checked == set(VERSIONS)


def test_every_recorded_image_list_parses():
    for _, argv, item in _each(("images", "list")):
        names = [i.name for i in parsers.parse_image_list(argv, item["stdout"])]
        assert "docker.io/library/busybox:latest" in names


def test_every_recorded_event_parses_with_exit_times():
    seen_topics = set()
    for path in sorted(FIXTURES.glob("*/*.json")):
        streams = {}
        for item in Cassette.load(path).expanded():
            if item["kind"] == "stream":
                streams[item["stream"]] = item["argv"]
            elif item["kind"] == "line" and "line" in item:
                event = parsers.parse_event(streams[item["stream"]], item["line"])
                seen_topics.add(event.topic)
                if event.topic in ("/tasks/exit", "/tasks/delete"):
                    assert isinstance(event.exited_at, datetime)
    assert {"/containers/update", "/tasks/exit"} <= seen_topics


VERSIONS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def test_recordings_cover_every_containerd_version_in_ci():
    assert [v.split(".")[:2] for v in VERSIONS] == [["1", "6"], ["1", "7"], ["2", "1"]]


def _version_items(version: str, subcommand: tuple[str, ...]):
    found = [(argv, item) for v, argv, item in _recorded(subcommand) if v == version]
    assert found, f"no recorded output of ctr {' '.join(subcommand)} for containerd {version}"
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_the_job_command_reaches_containerd_verbatim(version):
    """Drift: ctr 1.6 drops a `--` after IMAGE ID, 1.7+ keep it as the command.
    The tracker's argv (`--` before the image) must give the same process args."""
    for argv, _ in _version_items(version, ("containers", "create")):
        image_at = argv.index("--") + 1
        assert not any(arg.startswith("--") for arg in argv[image_at:image_at + 2])
    args = [parsers.parse_container_info(argv, item["stdout"]).args
            for argv, item in _version_items(version, ("containers", "info"))]
    assert ["sh", "-c", "sleep 1; exit 3"] in args
    assert not any(a and a[0] == "--" for a in args)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_shim_gives_status_and_exact_exit_time(version):
    """Drift: exited_at is RFC 3339 text in 1.6, {seconds, nanos} from 1.7 on."""
    import json

    shapes = set()
    for argv, item in _version_items(version, ("shim", "--id")):
        record = parsers.parse_shim_state(argv, item["stdout"])
        assert record.status == TaskStatus.STOPPED
        assert record.exit_status is not None and record.exited_at is not None
        assert record.exited_at.tzinfo is not None and record.exited_at.year >= 2026
        shapes.add(type(json.loads(item["stdout"])["exited_at"]).__name__)
    assert shapes == ({"str"} if version.startswith("1.6") else {"dict"})


@pytest.mark.parametrize("version", VERSIONS)
def test_exit_events_carry_the_exit_time_in_the_versions_own_form(version):
    import json

    for path in sorted((FIXTURES / version).glob("*.json")):
        streams = {}
        for item in Cassette.load(path).expanded():
            if item["kind"] == "stream":
                streams[item["stream"]] = item["argv"]
            elif item["kind"] == "line" and "/tasks/exit " in item.get("line", ""):
                raw = json.loads(item["line"].split(" /tasks/exit ", 1)[1])["exited_at"]
                assert isinstance(raw, str if version.startswith("1.6") else dict)
                assert parsers.parse_event(streams[item["stream"]], item["line"]).exited_at is not None


def test_every_recorded_task_delete_gives_the_exit_code_the_shim_reported():
    """The status parsed from ``ctr tasks delete``'s warnings is compared with
    the one the task's shim reported just before in the same recording
    (``ctr shim --id ID state``; its JSON omits a zero status, as protobuf does)."""
    import json

    compared = []
    for path in sorted(FIXTURES.glob("*/*.json")):
        shim_says: dict[str, int] = {}
        for item in Cassette.load(path).expanded():
            argv = item.get("argv", [])
            if item["kind"] != "run" or item["exit_code"] != 0:
                continue
            if tuple(argv[7:8]) == ("shim",) and argv[-1] == "state":
                shim_says[argv[9]] = json.loads(item["stdout"]).get("exit_status", 0)
            elif tuple(argv[7:9]) == ("tasks", "delete"):
                ids = argv[9:]
                codes, failed = parsers.parse_delete_output(argv, ids, item["stderr"])
                assert failed == {}, (path, item["stderr"])
                assert codes == {cid: shim_says[cid] for cid in ids}, (path, item["stderr"])
                compared += codes.values()
    assert {0, 1, 2, 3, 137} <= set(compared)  # zero and non-zero statuses both compared


#: ``ctr tasks metrics --format json`` of a stopped, OOM-killed task (containerd 1.6.20, cgroup v1,
#: --memory-limit 16000000, ``dd bs=64M``), as printed on the test machine.
OOM_V1 = ('{"pids": {}, "cpu": {"usage": {"total": 50181994, "kernel": 40000000, "per_cpu": [48859273, 1322721]}, '
          '"throttling": {}}, "memory": {"cache": 4096, "usage": {"limit": 15998976, "usage": 28672, "max": 15998976, '
          '"failcnt": 507}}, "blkio": {}, "memory_oom_control": {"oom_kill": 1}}')


def test_metrics_tell_oom_kills_in_cgroup_v1_and_v2():
    assert parsers.parse_usage(ARGV, OOM_V1) == parsers.Usage(50181994, 1)
    assert parsers.parse_usage(ARGV, '{"cpu": {"usage_usec": 7}, "memory_events": {"oom_kill": 2}}') == (7000, 2)
    assert parsers.parse_usage(ARGV, '{"memory_oom_control": {"oom_kill": true}}') == (None, 0)  # not a count
    assert parsers.parse_usage(ARGV, "[]") == (None, 0)


def test_metrics_parse_cgroup_v1_and_v2():
    assert parsers.parse_cpu_ns(ARGV, '{"cpu": {"usage": {"total": 1234}}}') == 1234
    assert parsers.parse_cpu_ns(ARGV, '{"cpu": {"usage_usec": 5}}') == 5000
    assert parsers.parse_cpu_ns(ARGV, '{"memory": {}}') is None


def test_events_of_containerd_1_7_carry_exit_time_as_seconds_and_nanos():
    line = ('2026-11-24 20:12:50.072592860 +0000 UTC default /tasks/exit {"container_id":"e1","id":"e1",'
            '"pid":4328,"exit_status":7,"exited_at":{"seconds":1795551170,"nanos":72566509}}')
    event = parsers.parse_event(ARGV, line)
    assert event.exit_status == 7 and event.container_id == "e1"
    assert event.exited_at == datetime(2026, 11, 24, 20, 12, 50, 72566, tzinfo=timezone.utc)


def test_exit_status_zero_is_omitted_by_containerd():
    line = ('2026-11-24 20:12:50.07 +0000 UTC default /tasks/delete {"container_id":"e1","pid":1,'
            '"exited_at":"2026-11-24T20:12:50.072566509Z"}')
    assert parsers.parse_event(ARGV, line).exit_status == 0


def test_delete_stderr_from_several_ids():
    err = ('time="2026-11-24T20:14:59Z" level=warning msg="task m1 exit with non-zero exit code 3"\n'
           'time="2026-11-24T20:14:59Z" level=error msg="failed to load task from nope" '
           'error="container \\"nope\\" in namespace \\"default\\": not found"\n'
           'ctr: container "nope" in namespace "default": not found\n')
    codes, failed = parsers.parse_delete_output(ARGV, ["m1", "nope", "m2"], err)
    assert codes == {"m1": 3, "m2": 0}
    assert "not found" in failed["nope"]


@pytest.mark.parametrize(
    "parse, output",
    [
        (parsers.parse_task_list, "garbage output\n"),
        (parsers.parse_task_list, "TASK PID STATUS\nx notapid RUNNING\n"),
        (parsers.parse_container_info, "{not json"),
        (parsers.parse_container_info, "[]"),
        (parsers.parse_container_ids, "ok-id\nbad id with spaces\n"),
        (parsers.parse_image_list, "REF TYPE DIGEST\nname type notadigest\n"),
        (parsers.parse_image_list, "something else\n"),
        (parsers.parse_event, "not an event"),
        (parsers.parse_event, "2026-11-24 20:12:50.07 +0000 UTC default /tasks/exit [1,2]"),
        (parsers.parse_server_version, "Client:\n  Version: 1\n"),
        (parsers.parse_image_config, '{"config": "nope"}'),
    ],
)
def test_unknown_output_is_a_parse_error_naming_the_command(parse, output):
    argv = ("ctr", "--address", "/x.sock", "tasks", "list")
    with pytest.raises(CliParseError) as caught:
        parse(argv, output)
    assert "ctr --address /x.sock tasks list" in str(caught.value)


@pytest.mark.parametrize(
    "err",
    [
        # Seen on containerd 1.6 when two processes delete the same task at once.
        'time="2026-11-24T20:36:54Z" level=error msg="unable to delete r1" error="task r1 not found: not found"\n'
        "ctr: task r1 not found: not found\n",
        'time="2026-11-24T20:36:54Z" level=error msg="failed to load task from r1" '
        'error="no running task found: not found"\nctr: no running task found: not found\n',
        'time="2026-11-24T20:36:54Z" level=error msg="unable to delete r1" '
        'error="failed to delete task: cannot delete a deleted process: not found"\n'
        "ctr: failed to delete task: cannot delete a deleted process: not found\n",
    ],
)
def test_a_delete_lost_to_another_process_is_a_per_task_failure(err):
    codes, failed = parsers.parse_delete_output(ARGV, ["r1"], err)
    assert codes == {} and "not found" in failed["r1"]


STDERR_CASES = {
    "info-of-a-missing-container": "ContainerNotFound",
    "kill-of-a-missing-task": "ContainerNotFound",
    "list-on-a-missing-socket": "DaemonUnreachable",
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", list(STDERR_CASES))
def test_each_versions_error_texts_become_typed_errors(version, case):
    """Drift: error texts differ by version (2.x: 'cannot access socket' before dialling)."""
    from containerd_tracker_cli.backends.ctr import CtrBackend
    from containerd_tracker_cli.runner import Completed

    path = FIXTURES / version / "stderr" / f"{case}.txt"
    assert path.exists(), f"record it: pytest tests/live/test_version_drift.py --record-fixtures (containerd {version})"
    stderr = path.read_text().replace("<<address>>", "/replay/daemon.sock")
    backend = CtrBackend.__new__(CtrBackend)  # only its error classification is used: no runner needed
    backend.address, backend.daemon = "/replay/daemon.sock", "containerd"
    with pytest.raises(Exception) as caught:
        backend._raise(Completed(("ctr",), 1, "", stderr), "absent-job")
    assert type(caught.value).__name__ == STDERR_CASES[case], stderr


def test_containers_deleted_by_someone_else_are_named_in_either_text():
    err = ('time="t" level=error msg="failed to delete container \\"a1\\"" error="container \\"a1\\" in namespace '
           '\\"default\\": not found"\nctr: container "a1" in namespace "default": not found\n'
           'time="t" level=error msg="failed to delete container \\"b2\\"" error="container b2: not found"\n'
           'ctr: container b2: not found\n')
    assert parsers.parse_missing_containers(err) == {"a1", "b2"}
    assert parsers.parse_missing_containers('ctr: failed to delete container "c3": permission denied') == set()


@pytest.mark.parametrize("version", VERSIONS)
def test_each_ctr_names_its_own_version(version):
    out = (FIXTURES / version / "client-version.txt").read_text()
    assert parsers.parse_client_version(("ctr", "--version"), out) == tuple(int(p) for p in version.split(".")[:2])
