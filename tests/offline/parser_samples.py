"""Real CLI output grouped by the parser that reads it, and the hypothesis
strategies that vary it, for the parser property tests.

The output comes from the recorded cassettes (``fixtures/<cli>/…/*.json``,
the real nerdctl 2.1.6 recordings among them) and the nerdctl corpus of public
samples (``fixtures/nerdctl/corpus/public/``, see its SOURCES.md).
Strategies give any JSON value, times and labels in every shape the CLIs use
(and wrong ones), output shaped as each parser expects with any value where it
looks, and mutations that keep a sample close to real: one field nulled or
retyped, keys reordered, labels switched between map and string, a line cut
or doubled.
"""
from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from containerd_tracker_cli.records import timeparse
from containerd_tracker_cli.runner import Cassette

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
PUBLIC = FIXTURES / "nerdctl" / "corpus" / "public"

#: Global options that take a value, skipped to find the subcommand.
_VALUED = {"--address", "--namespace", "--connect-timeout", "--host", "-H", "-n", "-a", "--id"}

#: Parser kind → the subcommand (first two words) whose stdout it reads.
_RUN_KINDS = {
    ("ctr", "containers info"): "ctr containers info",
    ("ctr", "containers list"): "ctr containers list",
    ("ctr", "tasks list"): "ctr tasks list",
    ("ctr", "tasks metrics"): "ctr tasks metrics",
    ("ctr", "images list"): "ctr images list",
    ("ctr", "shim state"): "ctr shim state",
    ("nerdctl", "container inspect"): "compat inspect",
    ("docker", "container inspect"): "compat inspect",
    ("nerdctl", "image ls"): "compat images",
    ("docker", "image ls"): "compat images",
}
#: Corpus file name prefix → parser kind (each file is one output).
_CORPUS_KINDS = {"inspect-": "compat inspect", "images-": "compat images",
                 "events-": "compat events", "version-": "compat version"}


@dataclass(frozen=True)
class Sample:
    """One output as the CLI printed it, and the command that printed it."""

    source: str
    argv: tuple[str, ...]
    text: str


def subcommand(argv: list[str]) -> str:
    """The first two words after the global options: ``tasks list``."""
    words: list[str] = []
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    return " ".join(words[:2])


def _cassettes() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.json") if "corpus" not in p.relative_to(FIXTURES).parts)


def _add(found: dict[str, list[Sample]], kind: str, sample: Sample) -> None:
    found.setdefault(kind, []).append(sample)


@functools.lru_cache(maxsize=1)
def all_samples() -> dict[str, list[Sample]]:
    """Every real output by parser kind; duplicates (same argv and text) once."""
    found: dict[str, list[Sample]] = {}
    for path in _cassettes():
        source = str(path.relative_to(FIXTURES))
        streams: dict[int, tuple[str, ...]] = {}
        for item in Cassette.load(path).expanded():
            argv = tuple(item.get("argv") or ())
            if item["kind"] == "stream":
                streams[item["stream"]] = argv
            elif item["kind"] == "line" and (item.get("line") or "").strip():
                stream_argv = streams[item["stream"]]
                kind = "ctr events" if stream_argv[0] == "ctr" else "compat events"
                _add(found, kind, Sample(source, stream_argv, item["line"]))
            elif item["kind"] == "run":
                sub = subcommand(list(argv))
                if argv[0] == "ctr" and sub == "tasks delete" and item["stderr"]:
                    _add(found, "ctr tasks delete", Sample(source, argv, item["stderr"]))
                kind = _RUN_KINDS.get((argv[0], sub))
                # inspect exits 1 when one of several is missing, yet prints the others.
                usable = item["exit_code"] == 0 or item["stdout"].lstrip().startswith("[")
                if kind and usable and item["stdout"].strip():
                    _add(found, kind, Sample(source, argv, item["stdout"]))
    for path in sorted(PUBLIC.glob("*")):
        for prefix, kind in _CORPUS_KINDS.items():
            if path.name.startswith(prefix):
                _add(found, kind, Sample(f"corpus/{path.name}", ("nerdctl", "--namespace", "default"),
                                         path.read_text()))
    return {kind: list({(s.argv, s.text): s for s in samples}.values()) for kind, samples in found.items()}


def samples(kind: str) -> list[Sample]:
    """The real outputs for ``kind`` (none is a failure: every kind has some)."""
    found = all_samples().get(kind, [])
    if not found:
        pytest.fail(f"no real output for {kind!r} in {FIXTURES}")
    return found


# -- strategies for JSON values ---------------------------------------------

HUGE = st.sampled_from([10**30, -(10**30), 2**63, 2**64 + 1, 1e308, float("inf"), float("-inf"), -1, 0])
#: Lone surrogates too: JSON may escape them (``"\\ud800"``).
SURROGATES = st.text(st.characters(categories=("Cs",)), min_size=1, max_size=2)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), HUGE, st.floats(), st.text(max_size=12), SURROGATES)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


def either(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The expected shape, or any JSON value in its place."""
    return st.one_of(strategy, JSON_VALUES)


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object holding any subset of ``fields``."""
    return st.fixed_dictionaries({}, optional=fields)


def go_time(moment: datetime, sep: str = "T") -> str:
    """Date and time as Go prints them, to the second (any year, zero-padded)."""
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}{sep}"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")


def label_string(labels: dict[str, Any]) -> str:
    """``k=v,k2=v2``, as nerdctl 2.x and docker print labels in ``ps``."""
    return ",".join(f"{k}={v}" for k, v in labels.items())


LONG_DIGITS = st.integers(4200, 4500).map(lambda n: "7" * n)  # past int()'s 4300-digit limit
NUMBERS = st.one_of(JSON_SCALARS, HUGE, st.from_regex(r"\A-?\d{1,4}\Z"), LONG_DIGITS)
DATES = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
TIME_TEXT = st.one_of(DATES.map(lambda d: go_time(d) + f".{d.microsecond:06d}Z"),
                      st.just("0001-01-01T00:00:00Z"), st.from_regex(timeparse._RFC3339))
TIMES = st.one_of(JSON_VALUES, TIME_TEXT, obj(seconds=NUMBERS, nanos=NUMBERS))
LABEL_MAPS = st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=10), JSON_SCALARS), max_size=3)
LABELS = st.one_of(JSON_VALUES, LABEL_MAPS, LABEL_MAPS.map(label_string))


# -- output shaped as each parser expects, any value in any place -------------

TEXTS = st.one_of(st.text(), st.text(st.characters(max_codepoint=0x7F)), SURROGATES,
                  st.text(min_size=1, max_size=20).map(lambda s: s * 400))  # very long lines
CELL = st.one_of(st.text(st.characters(exclude_categories=("Zs", "Cc", "Zl", "Zp")), min_size=1, max_size=6),
                 st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=3), LONG_DIGITS,
                 st.sampled_from(["RUNNING", "STOPPED", "paused", "application/json", "sha256:" + "a" * 64]))


def _table(header: str) -> st.SearchStrategy[str]:
    rows = st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=4)
    return rows.map(lambda rs: "\n".join([header] + ["   ".join(r) for r in rs]))


def _lines(row: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return st.lists(row, min_size=1, max_size=3).map(lambda rows: "\n".join(json.dumps(r) for r in rows))


PAYLOAD = either(obj(container_id=JSON_VALUES, exit_status=NUMBERS, exited_at=TIMES, labels=LABELS))
CTR_EVENT_TIME = st.one_of(DATES.map(lambda d: go_time(d, " ") + f".{d.microsecond}00 +0000 UTC"),
                           st.just("0001-01-01 00:00:00 +0000 UTC"),
                           st.from_regex(r"\A\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? [+-]\d{4}( [A-Z]{2,5})?\Z"))
STATUSES = st.sampled_from(["running", "paused", "exited", "created", "", "Up 2 seconds (Paused)",
                            "Exited (137) 3 seconds ago", "Created", "dead"])
DELETE_LINE = st.one_of(
    st.tuples(st.text(max_size=8), st.one_of(NUMBERS.map(str), LONG_DIGITS)).map(
        lambda t: f'level=warning msg="task {t[0]} exit with non-zero exit code {t[1]}"'),
    st.tuples(st.text(max_size=8), st.text(max_size=8)).map(
        lambda t: f'level=error msg="failed to load task from {t[0]}" error="{t[1]}"'),
    st.text(max_size=8).map(lambda cid: f'ctr: container "{cid}" in namespace "default": not found'),
)

#: OCI content digests, well-formed or not (an option, a path, no algorithm).
DIGESTS = either(st.one_of(st.from_regex(r"\A[a-z0-9]{1,6}([+._-][a-z0-9]{1,3})?:[a-zA-Z0-9=_-]{1,64}\Z"),
                           st.sampled_from(["sha256:" + "a" * 64, "--help", "-", "sha256:", ":ab", "sha256:a/b", ""])))
DESCRIPTOR = obj(mediaType=JSON_VALUES, digest=DIGESTS, size=NUMBERS, annotations=LABELS, platform=either(obj(
    os=either(st.sampled_from(["linux", "windows", "unknown"])), variant=JSON_VALUES,
    architecture=either(st.sampled_from(["amd64", "arm64", "arm", "unknown"])))))
STRINGS = either(st.lists(st.text(max_size=6), max_size=3))

#: Parser kind → its output with any JSON value where the parser looks.
TARGETED: dict[str, st.SearchStrategy[str]] = {
    "ctr containers info": st.fixed_dictionaries({"ID": either(st.text(max_size=10))}, optional={
        "Labels": LABELS, "Image": JSON_VALUES, "Runtime": either(obj(Name=JSON_VALUES)), "SnapshotKey": JSON_VALUES,
        "CreatedAt": TIMES, "UpdatedAt": TIMES, "Spec": either(obj(process=either(obj(
            args=JSON_VALUES, env=JSON_VALUES, cwd=JSON_VALUES, user=either(obj(uid=NUMBERS, username=JSON_VALUES))))))
    }).map(json.dumps),
    "ctr tasks metrics": either(obj(cpu=either(obj(usage=either(obj(total=NUMBERS)), usage_usec=NUMBERS)))).map(
        json.dumps),
    "ctr shim state": either(obj(id=either(st.text(max_size=8)), pid=NUMBERS, status=either(st.integers(0, 6)),
                                 exit_status=NUMBERS, exited_at=TIMES)).map(json.dumps),
    "ctr image config": either(obj(config=either(obj(Entrypoint=JSON_VALUES, Cmd=JSON_VALUES, Env=JSON_VALUES,
                                                     WorkingDir=JSON_VALUES)))).map(json.dumps),
    "ctr manifest choice": either(obj(manifests=either(st.lists(either(DESCRIPTOR), max_size=4)),
                                      config=either(DESCRIPTOR))).map(json.dumps),
    "ctr config digest": either(obj(config=either(DESCRIPTOR), manifests=JSON_VALUES)).map(json.dumps),
    "compat image config": either(st.lists(either(obj(Id=JSON_VALUES, Config=either(obj(
        Entrypoint=STRINGS, Cmd=STRINGS, Env=STRINGS, WorkingDir=either(st.text(max_size=6)))))), max_size=2)).map(
        json.dumps),
    "ctr events": st.tuples(CTR_EVENT_TIME, st.sampled_from(["default", ""]), PAYLOAD).map(
        lambda t: f"{t[0]} {t[1]} /tasks/exit {json.dumps(t[2])}"),
    "ctr tasks list": _table("TASK    PID    STATUS"),
    "ctr images list": _table("REF    TYPE    DIGEST    SIZE    PLATFORMS    LABELS"),
    "ctr tasks delete": st.lists(DELETE_LINE, max_size=3).map("\n".join),
    "compat inspect": st.lists(st.fixed_dictionaries({"Id": either(st.text(max_size=8))}, optional={
        "State": either(obj(Status=either(STATUSES), Pid=NUMBERS, ExitCode=NUMBERS, Paused=JSON_VALUES,
                            StartedAt=TIMES, FinishedAt=TIMES, Error=JSON_VALUES)),
        "Config": either(obj(Labels=LABELS, Image=JSON_VALUES, Env=JSON_VALUES, WorkingDir=JSON_VALUES,
                             User=JSON_VALUES)),
        "Created": TIMES, "Path": JSON_VALUES, "Args": JSON_VALUES, "Name": JSON_VALUES, "Labels": LABELS,
    }), max_size=2).map(json.dumps),
    "compat images": _lines(obj(Name=JSON_VALUES, Repository=JSON_VALUES, Tag=JSON_VALUES, Digest=JSON_VALUES,
                                ID=JSON_VALUES)),
    "compat events": st.one_of(
        st.fixed_dictionaries({"Topic": either(st.text(max_size=8))}, optional={
            "Timestamp": TIMES, "Namespace": JSON_VALUES, "Event": either(PAYLOAD.map(json.dumps))}),
        st.fixed_dictionaries({"Action": either(st.sampled_from(["die", "start", "exec_start: sh"]))}, optional={
            "Type": JSON_VALUES, "status": JSON_VALUES, "id": JSON_VALUES, "scope": JSON_VALUES,
            "Actor": either(obj(ID=JSON_VALUES, Attributes=either(obj(exitCode=NUMBERS)))),
            "timeNano": NUMBERS, "time": NUMBERS}),
    ).map(json.dumps),
    "compat version": either(obj(Client=either(obj(Version=JSON_VALUES)), Server=either(obj(
        Version=JSON_VALUES, Components=either(st.lists(either(obj(Name=JSON_VALUES, Version=JSON_VALUES)))))))).map(
        json.dumps),
}


# -- mutations ------------------------------------------------------------

#: How a kind's output holds JSON: one document, one per line, or ctr's
#: ``<time> <namespace> <topic> <json>`` event line. Others are plain text.
SHAPES = {"ctr containers info": "doc", "ctr tasks metrics": "doc", "ctr shim state": "doc", "compat inspect": "doc",
          "compat version": "doc", "compat images": "lines",
          "compat events": "lines", "ctr events": "ctr-event"}

_LABEL_KEYS = ("Labels", "labels", "Attributes")


def decode(shape: str, text: str) -> tuple[str, list[Any]]:
    """The JSON documents of an output, and the text before them (ctr events)."""
    if shape == "doc":
        return "", [json.loads(text)]
    if shape == "lines":
        return "", [json.loads(line) for line in text.split("\n") if line.strip()]
    head, _, body = text.partition(" {")
    return head + " ", [json.loads("{" + body)]


def encode(shape: str, prefix: str, docs: list[Any], *, indent: int | None, compact: bool,
           ascii_only: bool) -> str:
    """Print documents back in the shape they came in; one line each unless a document."""
    options: dict[str, Any] = {"ensure_ascii": ascii_only, "separators": (",", ":") if compact else None}
    if shape == "doc":
        return json.dumps(docs[0], indent=indent, **options) + "\n"
    lines = [prefix + json.dumps(doc, **options) for doc in docs]
    return "\n".join(lines) + ("\n" if shape == "lines" else "")


def _containers(value: Any) -> list[Any]:
    """Every dict and list inside ``value``, itself included."""
    found = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            found.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


def mutate_json(data: st.DataObject, value: Any) -> Any:
    """One to three structural changes at random places of a decoded document."""
    value = copy.deepcopy(value)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        node = data.draw(st.sampled_from(_containers(value) or [[]]), label="node")
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        op = data.draw(st.sampled_from(["null", "replace", "huge", "drop", "unknown", "reorder", "stringify",
                                        "wrap", "labels", "duplicate"]), label="op")
        if not keys or op == "unknown":
            extra = data.draw(JSON_VALUES, label="unknown value")
            if isinstance(node, dict):
                node["x-" + data.draw(st.text(max_size=6), label="unknown key")] = extra
            else:
                node.append(extra)
            continue
        key = data.draw(st.sampled_from(keys), label="key")
        if op == "null":
            node[key] = None
        elif op == "replace":
            node[key] = data.draw(JSON_VALUES, label="value")
        elif op == "huge":
            node[key] = data.draw(HUGE, label="huge")
        elif op == "drop":
            del node[key]
        elif op == "reorder" and isinstance(node, dict):
            items = data.draw(st.permutations(list(node.items())), label="order")
            node.clear()
            node.update(items)
        elif op == "stringify":
            node[key] = json.dumps(node[key]) if data.draw(st.booleans(), label="as json") else str(node[key])
        elif op == "wrap":
            node[key] = data.draw(st.sampled_from([[node[key]], {"value": node[key]}]), label="wrapper")
        elif op == "labels":
            _flip_labels(value)
        elif op == "duplicate" and isinstance(node, list):
            node.insert(key, copy.deepcopy(node[key]))
    return value


def _flip_labels(value: Any) -> None:
    """Labels as a map become a ``k=v`` string, and a string a map."""
    for node in _containers(value):
        if isinstance(node, dict):
            for key in _LABEL_KEYS:
                if isinstance(node.get(key), dict):
                    node[key] = label_string(node[key])
                elif isinstance(node.get(key), str):
                    node[key] = dict(part.partition("=")[::2] for part in node[key].split(","))


def mutate_text(data: st.DataObject, text: str) -> str:
    """One change to the text: a line cut, dropped, doubled or swapped, the
    spacing changed, or a few characters inserted or removed."""
    lines = text.split("\n")
    op = data.draw(st.sampled_from(["truncate", "drop", "duplicate", "swap", "spaces", "crlf", "insert",
                                    "delete"]), label="text op")
    at = data.draw(st.integers(0, max(len(text) - 1, 0)), label="position")
    line = data.draw(st.integers(0, len(lines) - 1), label="line")
    if op == "truncate":
        return text[:at]
    if op == "drop":
        return "\n".join(lines[:line] + lines[line + 1:])
    if op == "duplicate":
        return "\n".join(lines[:line + 1] + lines[line:])
    if op == "swap":
        other = data.draw(st.integers(0, len(lines) - 1), label="other line")
        lines[line], lines[other] = lines[other], lines[line]
        return "\n".join(lines)
    if op == "spaces":
        return text.replace(" ", data.draw(st.sampled_from(["\t", "  ", "", " \u00a0"]), label="space"))
    if op == "crlf":
        return text.replace("\n", "\r\n")
    if op == "insert":
        return text[:at] + data.draw(st.text(min_size=1, max_size=8), label="inserted") + text[at:]
    return text[:at] + text[at + data.draw(st.integers(1, 20), label="deleted"):]
