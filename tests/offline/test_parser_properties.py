"""Every parser of CLI output is total: for any input it returns its model or
raises :class:`CliParseError` naming the command, never a stray exception.

Inputs: arbitrary text, arbitrary JSON (also placed where each parser looks),
real recorded output (which must parse) and mutations of it. Round trips and
reformatting of real output check that the parsers still read valid output.
"""
from __future__ import annotations

import os

import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containerd_tracker_cli.records import timeparse
from containerd_tracker_cli.backends.ctr import parsers as ctr
from containerd_tracker_cli.backends.dockercompat import parsers as compat
from containerd_tracker_cli.backends.errors import CliParseError
from containerd_tracker_cli.backends.models import (ContainerInfo, Event, ImageConfig, ImageRecord, TaskRecord,
                                                    TaskStatus)

from .parser_samples import (JSON_VALUES, LABELS, SHAPES, TARGETED, TEXTS, TIMES, decode, encode, go_time,
                             label_string, mutate_json, mutate_text, samples)

#: How many examples each property tries, against the counts written here: the
#: offline suite a developer runs on every change stays quick (a tenth);
#: `make test` (CI) sets CONTAINERD_TRACKER_PROPERTY_SCALE=2 (scripts/test-matrix.sh).
SCALE = float(os.environ.get("CONTAINERD_TRACKER_PROPERTY_SCALE", "0.1"))


def examples(count: int) -> int:
    return max(5, round(count * SCALE))


# No example database: inputs that once failed are kept in BREAKERS, where every run tries them.
FAST = settings(max_examples=examples(40), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _list_of(kind: type) -> Callable[[Any], bool]:
    return lambda result: isinstance(result, list) and all(isinstance(item, kind) for item in result)


def _delete_ids(argv: tuple[str, ...]) -> list[str]:
    return [arg for arg in argv[argv.index("delete") + 1:] if not arg.startswith("-")]


def _parse_delete(argv: tuple[str, ...], err: str) -> tuple[dict[str, int], dict[str, str]]:
    return ctr.parse_delete_output(argv, _delete_ids(argv), err)


def _delete_ok(result: Any) -> bool:
    codes, failed = result
    return (all(isinstance(c, int) for c in codes.values()) and all(isinstance(e, str) for e in failed.values())
            and not set(codes) & set(failed))


def _digest_or_none(result: Any) -> bool:
    """A digest ``content get`` can be given: ``algorithm:encoded``, never an option."""
    return result is None or (isinstance(result, str) and ":" in result and not result.startswith("-"))


#: kind → (parser taking argv and text, a command that prints such text, what a result must be).
PARSERS: dict[str, tuple[Callable[..., Any], tuple[str, ...], Callable[[Any], bool]]] = {
    "ctr version": (ctr.parse_server_version, ("ctr", "version"), lambda r: isinstance(r, str)),
    "ctr containers list": (ctr.parse_container_ids, ("ctr", "containers", "list", "--quiet"), _list_of(str)),
    "ctr tasks list": (ctr.parse_task_list, ("ctr", "tasks", "list"), lambda r: isinstance(r, dict) and all(
        isinstance(t, TaskRecord) and t.container_id == cid for cid, t in r.items())),
    "ctr containers info": (ctr.parse_container_info, ("ctr", "containers", "info", "job-1"),
                            lambda r: isinstance(r, ContainerInfo)),
    "ctr tasks metrics": (ctr.parse_cpu_ns, ("ctr", "tasks", "metrics", "--format", "json", "job-1"),
                          lambda r: r is None or type(r) is int),
    "ctr tasks delete": (_parse_delete, ("ctr", "tasks", "delete", "job-1", "job-2"), _delete_ok),
    "ctr shim state": (ctr.parse_shim_state, ("ctr", "shim", "--id", "job-1", "state"),
                       lambda r: isinstance(r, TaskRecord)),
    "ctr events": (ctr.parse_event, ("ctr", "events"), lambda r: isinstance(r, Event)),
    "ctr images list": (ctr.parse_image_list, ("ctr", "images", "list"), _list_of(ImageRecord)),
    "ctr content get": (ctr.parse_json_object, ("ctr", "content", "get", "sha256:ab"), lambda r: isinstance(r, dict)),
    "ctr image config": (ctr.parse_image_config, ("ctr", "content", "get", "sha256:cd"),
                         lambda r: isinstance(r, ImageConfig)),
    # An index or a manifest: the linux/amd64 manifest's digest, None for a manifest.
    "ctr manifest choice": (lambda argv, out: ctr.parse_manifest_choice(argv, out, "amd64"),
                            ("ctr", "content", "get", "sha256:ab"), _digest_or_none),
    "ctr config digest": (ctr.parse_config_digest, ("ctr", "content", "get", "sha256:ef"),
                          lambda r: r is not None and _digest_or_none(r)),
    "compat image config": (compat.parse_image_inspect_config, ("nerdctl", "image", "inspect", "busybox"),
                            lambda r: isinstance(r, ImageConfig)),
    "compat inspect": (compat.parse_inspect, ("docker", "container", "inspect", "a", "b"),
                       _list_of(compat.Inspected)),
    "compat images": (compat.parse_images, ("nerdctl", "image", "ls", "--format", "{{json .}}"),
                      _list_of(ImageRecord)),
    "compat events": (compat.parse_event, ("docker", "events", "--format", "{{json .}}"),
                      lambda r: isinstance(r, Event)),
    "compat version": (compat.parse_version, ("nerdctl", "version", "--format", "{{json .}}"),
                       lambda r: isinstance(r, dict) and bool(r["client"])
                       and all(isinstance(k, str) and isinstance(v, str) for k, v in r.items())),
}
#: Kinds no recording holds output of (the scenarios never read an image's config):
#: test_image_parser_properties.py gives them hand-made real-shaped documents.
UNRECORDED = ("ctr version", "ctr content get", "ctr image config", "ctr manifest choice", "ctr config digest",
              "compat image config")
SAMPLE_KINDS = [kind for kind in PARSERS if kind not in UNRECORDED]
JSON_KINDS = sorted(SHAPES)


def run(kind: str, text: str, argv: tuple[str, ...] | None = None) -> Any:
    """Parse; a CliParseError must name the command and is returned. Any
    other exception fails the test."""
    parse, default_argv, valid = PARSERS[kind]
    argv = argv or default_argv
    try:
        result = parse(argv, text)
    except CliParseError as exc:
        assert exc.argv == list(argv) and f"command: {' '.join(argv)}" in str(exc), str(exc)
        return exc
    assert valid(result), result
    return result


# -- totality ------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(PARSERS))
@FAST
@given(text=TEXTS)
def test_arbitrary_text_gives_a_model_or_a_parse_error(kind: str, text: str) -> None:
    run(kind, text)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FAST
@given(values=st.lists(JSON_VALUES, min_size=1, max_size=3), as_lines=st.booleans())
def test_arbitrary_json_gives_a_model_or_a_parse_error(kind: str, values: list[Any], as_lines: bool) -> None:
    run(kind, "\n".join(json.dumps(v) for v in values) if as_lines else json.dumps(values[0], indent=2))


@pytest.mark.parametrize("kind", sorted(TARGETED))
@settings(FAST, max_examples=examples(80))
@given(data=st.data())
def test_any_json_where_the_parser_looks_gives_a_model_or_a_parse_error(kind: str, data: st.DataObject) -> None:
    run(kind, data.draw(TARGETED[kind], label="output"))


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
@settings(FAST, max_examples=examples(60))
@given(data=st.data())
def test_mutated_real_output_gives_a_model_or_a_parse_error(kind: str, data: st.DataObject) -> None:
    sample = data.draw(st.sampled_from(samples(kind)), label="sample")
    text, shape = sample.text, SHAPES.get(kind, "text")
    if shape != "text" and data.draw(st.booleans(), label="mutate the JSON"):
        prefix, docs = decode(shape, text)
        docs = [mutate_json(data, doc) for doc in docs]
        text = encode(shape, prefix, docs, indent=None, compact=False, ascii_only=False)
    if shape == "text" or data.draw(st.booleans(), label="mutate the text"):
        text = mutate_text(data, text)
    run(kind, text, sample.argv)


@pytest.mark.parametrize("kind", JSON_KINDS)
def test_json_nested_near_and_past_the_recursion_limit_is_a_parse_error_or_a_model(kind: str) -> None:
    """A deep document exhausts the stack while decoding or while the parser
    walks it (``str`` of a label value, the excerpt of an error)."""
    sample = samples(kind)[0]
    limit = sys.getrecursionlimit()
    for depth in [*range(limit - 120, limit + 10, 3), 100_000]:
        deep = "[" * depth + "]" * depth
        for key in ("Labels", "Event", "exited_at", "x-unknown"):
            prefix, docs = decode(SHAPES[kind], sample.text)
            target = docs[0] if isinstance(docs[0], dict) else docs[0][0]
            target[key] = json.dumps(deep) if key == "Event" else "@@deep@@"
            text = encode(SHAPES[kind], prefix, docs, indent=None, compact=True, ascii_only=True)
            run(kind, text.replace('"@@deep@@"', deep), sample.argv)
        run(kind, deep, sample.argv)


_EXIT = "2026-11-24 21:42:20.33 +0000 UTC default /tasks/exit "
_DIGITS = "7" * 4301  # past int()'s limit on digits

#: Inputs that once broke a parser (the stray exception in the comment), found
#: by the properties above; kept so every run tries them.
BREAKERS = [
    ("ctr events", "0001-01-01 00:00:00 +0000 UTC default /tasks/exit {}"),  # AssertionError
    ("ctr events", _EXIT + '{"exited_at": {"seconds": null}}'),  # TypeError
    ("ctr events", _EXIT + '{"exited_at": {"seconds": 1e30}}'),  # OverflowError
    ("ctr tasks list", "TASK PID STATUS\njob-1 \u00b2 RUNNING"),  # ValueError: int("²")
    ("ctr tasks list", f"TASK PID STATUS\njob-1 {_DIGITS} RUNNING"),  # ValueError
    ("ctr tasks delete", f'msg="task job-1 exit with non-zero exit code {_DIGITS}"'),  # ValueError
    ("ctr containers info", '{"ID": "a", "CreatedAt": {"seconds": 1e400}}'),  # OverflowError: int(inf)
    ("ctr containers info", "[" * 100_000),  # RecursionError
    ("compat inspect", '[{"Id": "a", "Created": {"seconds": 1000000000000000000000000000000}}]'),  # OverflowError
    ("compat inspect", '[{"Id": "a", "State": {"Status": "running", "Pid": 1e400}}]'),  # OverflowError
    ("compat events", '{"Action": "die", "time": 1000000000000000000000000000000}'),  # OverflowError
    ("compat events", '{"Action": "die", "time": 1000000000000000000}'),  # OSError (EOVERFLOW)
    ("compat events", '{"Action": "die", "timeNano": 1%s}' % ("0" * 400)),  # OverflowError: int / float
    ("compat events", '{"Topic": "/tasks/exit", "Event": "%s"}' % ("[" * 100_000)),  # RecursionError
    ("compat version", '{"Client": ' + "[" * 100_000),  # RecursionError
    # The image config reads, once in the backends (CtrBackend / DockerCompatBackend.image_config):
    ("ctr manifest choice", '{"manifests": [1]}'),  # AttributeError
    ("ctr manifest choice", '{"manifests": [{"platform": {}}]}'),  # KeyError: 'digest'
    ("ctr manifest choice", '{"manifests": 5}'),  # TypeError
    ("ctr manifest choice", '{"manifests": [{"platform": "linux/amd64", "digest": "sha256:ab"}]}'),  # AttributeError
    ("ctr config digest", '{"config": "x"}'),  # AttributeError
    ("ctr config digest", '{"config": {"digest": "--help"}}'),  # an option for ctr content get
    ("compat image config", '[{"Config": "x"}]'),  # AttributeError
]


@pytest.mark.parametrize(("kind", "text"), BREAKERS)
def test_inputs_that_broke_a_parser_are_parse_errors(kind: str, text: str) -> None:
    assert isinstance(run(kind, text), CliParseError)


def test_a_boolean_is_not_a_cpu_time() -> None:
    assert run("ctr tasks metrics", '{"cpu": {"usage": {"total": true}, "usage_usec": false}}') is None


@pytest.mark.parametrize("value", [{"seconds": None}, {"seconds": "x"}, {"seconds": float("inf")},
                                   {"seconds": 10**30}, {"seconds": 10**18}, {"seconds": 1, "nanos": 10**30},
                                   [1], 5, "[" * 10])
def test_parse_go_time_raises_value_error_for_non_times(value: Any) -> None:
    with pytest.raises(ValueError, match="not a time"):
        timeparse.parse_go_time(value)


@settings(FAST, max_examples=examples(100))
@given(value=TIMES)
def test_parse_go_time_gives_a_time_none_or_a_value_error(value: Any) -> None:
    """Its documented contract: callers catch ValueError and nothing else."""
    try:
        result = timeparse.parse_go_time(value)
    except ValueError:
        return
    assert result is None or (isinstance(result, datetime) and result.tzinfo is not None)


@FAST
@given(value=LABELS)
def test_parse_labels_gives_a_string_map_or_a_value_error(value: Any) -> None:
    try:
        labels = compat.parse_labels(value)
    except ValueError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())


# -- real output parses, and keeps parsing when reformatted --------------------

@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_every_real_output_parses(kind: str) -> None:
    for sample in samples(kind):
        result = run(kind, sample.text, sample.argv)
        assert not isinstance(result, CliParseError), f"{sample.source}: {result}"


def _real(kind: str, source: str, needle: str) -> list[tuple[tuple[str, ...], Any]]:
    """argv and parse of each real output of ``kind`` from ``source`` holding ``needle``."""
    found = [(s.argv, run(kind, s.text, s.argv)) for s in samples(kind) if source in s.source and needle in s.text]
    assert found, (kind, source, needle)
    return found


def test_real_output_gives_the_recorded_values() -> None:
    """The lifecycle scenario's job exits 3, in every recorded CLI version."""
    for _, event in _real("ctr events", "/lifecycle", "/tasks/exit"):
        assert (event.exit_status, event.container_id[:5]) == (3, "life-")
        assert event.exited_at and event.exited_at > event.timestamp - timedelta(seconds=5)
    for argv, codes in _real("ctr tasks delete", "/lifecycle", "exit code"):
        assert codes == ({argv[-1]: 3}, {})
    for argv, task in _real("ctr shim state", "/lifecycle", '"status": 3'):
        assert (task.container_id, task.status, task.exit_status) == (argv[-2], TaskStatus.STOPPED, 3)
    assert all(cpu > 0 for _, cpu in _real("ctr tasks metrics", "/", "cpu"))
    for _, die in _real("compat events", "docker/", '"Action":"die"'):
        assert (die.topic, die.exit_status) == ("/tasks/exit", 3)
    for _, inspected in _real("compat inspect", "/suspend_resume", '"Paused": true'):
        assert [i.task.status for i in inspected] == [TaskStatus.PAUSED]
    for _, images in _real("compat images", "docker/", "busybox"):
        assert any(i.name == "busybox:latest" and i.digest.startswith("id:") for i in images)


def _respace(data: st.DataObject, kind: str, text: str) -> str:
    """Columns padded differently and blank lines added to ctr's tables; to
    its log (stderr) lines of other levels."""
    if kind == "ctr tasks delete":
        noise = 'time="2026-11-24T21:41:23Z" level=info msg="' + data.draw(st.text(max_size=10), label="msg") + '"'
        return f"\n{noise}\n{text}\n{noise}\n"
    gap = st.sampled_from([" ", "  ", "\t", "    \t"])
    lines = [data.draw(gap, label="gap").join(line.split()) + data.draw(st.sampled_from(["", " ", "\t"]))
             for line in text.splitlines()]
    return "\n\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
@settings(FAST, max_examples=examples(25))
@given(data=st.data())
def test_reformatted_real_output_parses_the_same(kind: str, data: st.DataObject) -> None:
    """Key order, spacing, escaping and keys the parser does not know never
    change what real output means."""
    sample = data.draw(st.sampled_from(samples(kind)), label="sample")
    shape = SHAPES.get(kind, "text")
    if shape == "text":
        text = _respace(data, kind, sample.text)
    else:
        prefix, docs = decode(shape, sample.text)
        shuffle = data.draw(st.randoms(use_true_random=False), label="order")
        docs = [_reordered(doc, shuffle) for doc in docs]
        if kind != "ctr events":  # there the whole object is the payload
            for doc in docs:
                for item in doc if isinstance(doc, list) else [doc]:
                    item["x-unknown-" + data.draw(st.text(max_size=5), label="key")] = data.draw(JSON_VALUES)
        text = encode(shape, prefix, docs, indent=data.draw(st.sampled_from([None, 2, 4])),
                      compact=data.draw(st.booleans()), ascii_only=data.draw(st.booleans()))
    assert run(kind, text, sample.argv) == run(kind, sample.text, sample.argv)


def _reordered(value: Any, shuffle: Any) -> Any:
    if isinstance(value, list):
        return [_reordered(v, shuffle) for v in value]
    if isinstance(value, dict):
        items = list(value.items())
        shuffle.shuffle(items)
        return {k: _reordered(v, shuffle) for k, v in items}
    return value


# -- round trips ----------------------------------------------------------------

CTR_ID = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")
LABEL_KEY = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._/-]{0,12}\Z")


@FAST
@given(tasks=st.dictionaries(CTR_ID, st.tuples(st.integers(1, 4194304), st.sampled_from(
    ["RUNNING", "STOPPED", "PAUSED", "CREATED", "PAUSING", "UNKNOWN"])), max_size=5))
def test_task_lists_round_trip(tasks: dict[str, tuple[int, str]]) -> None:
    rows = ["TASK                 PID      STATUS    "] + [f"{cid:<20}    {pid:<8}{status}" for cid, (pid, status)
                                                          in tasks.items()]
    parsed = run("ctr tasks list", "\n".join(rows) + "\n")
    assert {cid: (t.pid, t.status.value.upper()) for cid, t in parsed.items()} == tasks


@FAST
@given(codes=st.dictionaries(CTR_ID, st.integers(0, 255), min_size=1, max_size=4))
def test_delete_exit_codes_round_trip(codes: dict[str, int]) -> None:
    err = "".join(f'time="2026-11-24T21:41:23Z" level=warning msg="task {cid} exit with non-zero exit code {code}"\n'
                  for cid, code in codes.items() if code)
    argv = ("ctr", "tasks", "delete", *codes)
    assert run("ctr tasks delete", err, argv) == (codes, {})


@FAST
@given(err=TEXTS, ids=st.lists(CTR_ID, max_size=3), escaped=st.booleans())
def test_missing_containers_are_read_from_any_stderr(err: str, ids: list[str], escaped: bool) -> None:
    """``ctr containers delete``'s stderr, quotes plain or escaped inside a log field."""
    assert all(isinstance(cid, str) for cid in ctr.parse_missing_containers(err))
    q = '\\"' if escaped else '"'
    lines = [f"ctr: container {q}{cid}{q} in namespace {q}default{q}: not found" for cid in ids]
    assert ctr.parse_missing_containers("\n".join(lines)) == set(ids)


@FAST
@given(labels=st.dictionaries(LABEL_KEY, st.text(st.characters(exclude_characters=","), max_size=12), max_size=5))
def test_label_strings_round_trip(labels: dict[str, str]) -> None:
    assert compat.parse_label_string(label_string(labels)) == labels
    [entry] = run("compat inspect", json.dumps([{"Id": "x", "Labels": label_string(labels)}], ensure_ascii=False))
    assert entry.info.labels == labels


@FAST
@given(cid=st.text(min_size=1),
       labels=st.dictionaries(st.text().filter(lambda key: key != "exitCode"), st.text(), max_size=3))
def test_any_strings_in_json_lines_round_trip(cid: str, labels: dict[str, str]) -> None:
    """Go leaves U+0085 and most other Unicode unescaped in JSON: a JSON line
    is split at ``\\n`` only, never inside a string."""
    event = run("compat events", json.dumps({"Action": "start", "Actor": {"ID": cid, "Attributes": labels}},
                                            ensure_ascii=False))
    assert (event.container_id, event.payload["attributes"]) == (cid, labels)


@FAST
@given(moment=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9999, 12, 31)),
       nanos=st.integers(0, 999), offset=st.integers(-(23 * 60 + 59), 23 * 60 + 59))
def test_go_times_round_trip(moment: datetime, nanos: int, offset: int) -> None:
    moment = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    frac = f"{moment.microsecond:06d}{nanos:03d}"
    sign, minutes = ("+" if offset >= 0 else "-"), abs(offset)
    zone = f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    assert timeparse.parse_go_time(f"{go_time(moment)}.{frac}{zone[:3]}:{zone[3:]}") == moment
    assert timeparse.parse_go_time(f"{go_time(moment, ' ')}.{frac.rstrip('0') or '0'} {zone} UTC") == moment
    utc = moment.astimezone(timezone.utc)
    if utc.year > 1970:
        seconds = (utc - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(seconds=1)
        got = timeparse.parse_go_time({"seconds": seconds, "nanos": utc.microsecond * 1000 + nanos})
        assert got == utc
