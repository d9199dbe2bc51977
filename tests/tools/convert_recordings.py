"""Bring scenario recordings that cannot be re-recorded up to the current
cassette format, by replaying them — never by hand.

    python -m tests.tools.convert_recordings fixtures/nerdctl/2.1.6

Each ``<folder>/<scenario>.json`` (``tests/scenarios.py``) is replayed through
its scenario, the replay wrapped in a recorder: the recorder writes down every
interaction the replay serves (the same placeholders hide the same values) and
what the job's output files hold when each job is first seen ended, in the
current format. The result must hold every interaction of the original, in
order, unchanged but for the labels in DROPPED_LABELS taken out of recorded
``create`` commands — the conversion otherwise only adds — or the file is left as it was
and the script fails. ``meta`` is kept, with a note of the conversion.

Why: the real nerdctl 2.1.6 recordings (fixtures/nerdctl/2.1.6/) were made on
a machine that had nerdctl; no nerdctl is reachable from these machines, so
they are converted, not re-recorded.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from containerd_tracker_cli.runner import Cassette, RecordingRunner, ReplayRunner
from containerd_tracker_cli.runner.cassette import FORMAT_VERSION

from ..scenarios import SCENARIOS, placeholders, tracker_for

#: Labels the tracker gave jobs when a recording was made and gives no more,
#: with why; the recorded ``create`` argv loses them (what the CLI printed is
#: kept as it was: it only echoes them back among the labels it lists).
DROPPED_LABELS = {
    "containerd-tracker/log-uri": "nerdctl and docker keep a job's streams themselves; their jobs carry no "
                                  "logger URI (it was a label only, never given to the CLI)",
}

#: The addresses replays of each backend are given (any fixed string works).
REPLAY_ADDRESS = {"docker": "unix:///replay/daemon.sock"}


class ConversionError(Exception):
    """A recording did not convert faithfully; it is left unchanged."""


def convert(path: Path) -> Cassette:
    """The recording at ``path`` in the current format (not written)."""
    old = Cassette.load(path)
    backend = str(old.meta.get("tool") or path.parent.parent.name)
    if old.format == FORMAT_VERSION:
        return old
    dropped = _drop_labels(old)
    with tempfile.TemporaryDirectory(prefix="convert-") as scratch:
        state = str(Path(scratch) / "state")
        address = REPLAY_ADDRESS.get(backend, "/replay/daemon.sock")
        values = placeholders(address, state)
        replay = ReplayRunner(old, values)
        note = (f"from format {old.format} to {FORMAT_VERSION} by tests/tools/convert_recordings.py (replayed; "
                "output files added")
        if dropped:
            note += "; labels the tracker no longer sends taken out of recorded create commands: " + ", ".join(
                sorted(dropped))
        # The recorder saves as it goes: into the scratch folder, never over the original.
        new = Cassette(Path(scratch) / path.name, meta={**old.meta, "converted": note + ")"})
        recorder = RecordingRunner(replay, new, values)
        tracker = tracker_for(path.stem, address=address, backend=backend, state_dir=state, runner=recorder)
        try:
            SCENARIOS[path.stem](tracker)
        except Exception as exc:  # noqa: BLE001 - any failure means "not converted"
            raise ConversionError(f"{path}: the scenario did not replay: {exc}") from exc
        if replay.remaining:
            raise ConversionError(f"{path}: {replay.remaining} interactions were not replayed")
    return Cassette(path, _merged(path, old.interactions, new.interactions), new.meta)


def _drop_labels(cassette: Cassette) -> set[str]:
    """Take DROPPED_LABELS out of the recorded ``create`` commands; the ones found."""
    found = set()
    for item in cassette.interactions:
        argv = item.get("argv") or []
        if item.get("kind") != "run" or "create" not in argv:
            continue
        kept: list[str] = []
        for arg in argv:
            name = arg.split("=", 1)[0]
            if name in DROPPED_LABELS and kept and kept[-1] == "--label":
                kept.pop()
                found.add(name)
                continue
            kept.append(arg)
        item["argv"] = kept
    return found


def _merged(path: Path, original: list[dict], replayed: list[dict]) -> list[dict]:
    """The original interactions with the replay's ``files`` among them; any
    other difference (but how long a timed-out wait lasted) is an error."""
    def same(a: dict, b: dict) -> bool:
        return {k: v for k, v in a.items() if k != "timeout"} == {k: v for k, v in b.items() if k != "timeout"}

    merged, position = [], 0
    for item in replayed:
        if item["kind"] == "files":
            merged.append(item)
            continue
        if position >= len(original) or not same(item, original[position]):
            raise ConversionError(f"{path}: interaction {position} came out different from the original")
        merged.append(original[position])
        position += 1
    if position != len(original):
        raise ConversionError(f"{path}: {len(original) - position} interactions of the original are missing")
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of <scenario>.json recordings")
    args = parser.parse_args(argv)
    failed = False
    for folder in args.folders:
        for path in sorted(folder.glob("*.json")):
            try:
                converted = convert(path)
            except (ConversionError, AssertionError) as exc:
                print(f"not converted: {exc}", file=sys.stderr)
                failed = True
                continue
            converted.save()
            print(f"{path}: format {converted.format}, "
                  f"{sum(i['kind'] == 'files' for i in converted.interactions)} jobs' output kept")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
