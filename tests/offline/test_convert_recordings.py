"""The script that brings the real nerdctl recordings to a new cassette format
only adds to them, and refuses rather than change what was recorded."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from containerd_tracker_cli.runner import Cassette
from tests.tools import convert_recordings
from tests.tools.convert_recordings import ConversionError, convert

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "nerdctl" / "2.1.6"
LOG_URI = "containerd-tracker/log-uri=binary:///elsewhere/containerd-tracker-logger?stdout=x"


def _as_first_recorded(source: Path, target: Path) -> Path:
    """A repo recording as it was before conversion: format 1, no files, the
    label the tracker then sent in its create command."""
    data = json.loads(source.read_text())
    data["format"] = 1
    data["meta"].pop("converted")
    data["interactions"] = [i for i in data["interactions"] if i["kind"] != "files"]
    for item in data["interactions"]:
        if item["kind"] == "run" and "create" in item["argv"]:
            at = item["argv"].index("--entrypoint")
            item["argv"][at:at] = ["--label", LOG_URI]
    target.write_text(json.dumps(data))
    return target


@pytest.mark.parametrize("scenario", ["lifecycle", "array_job"])
def test_converting_adds_the_output_files_and_changes_nothing_recorded(tmp_path, scenario):
    source = REAL / "containerd-2.1.9+unknown" / f"{scenario}.json"
    old = _as_first_recorded(source, tmp_path / source.name)
    converted = convert(old)
    in_repo = Cassette.load(source)
    assert converted.format == 2
    assert converted.interactions == in_repo.interactions  # the same files, at the same points
    assert {k: v for k, v in converted.meta.items() if k != "converted"} == \
        {k: v for k, v in in_repo.meta.items() if k != "converted"}
    assert "containerd-tracker/log-uri" in converted.meta["converted"]
    assert json.loads(old.read_text())["format"] == 1  # convert() writes nothing itself


def test_a_recording_that_does_not_replay_is_refused_and_left_as_it_was(tmp_path, capsys):
    old = _as_first_recorded(REAL / "containerd-1.6.20~ds1" / "lifecycle.json", tmp_path / "lifecycle.json")
    data = json.loads(old.read_text())
    inspect = next(i for i in data["interactions"] if i["kind"] == "run" and "inspect" in i["argv"])
    inspect["stdout"] = "not what nerdctl printed"
    old.write_text(json.dumps(data))
    before = old.read_text()
    with pytest.raises(ConversionError, match="did not replay"):
        convert(old)
    assert convert_recordings.main([str(tmp_path)]) == 1
    assert "not converted" in capsys.readouterr().err
    assert old.read_text() == before


def test_the_real_recordings_are_in_the_current_format():
    paths = sorted(REAL.glob("*/*.json"))
    assert len(paths) == 12
    for path in paths:
        cassette = Cassette.load(path)
        assert cassette.format == 2 and "converted" in cassette.meta, path
        assert cassette.meta["nerdctl_version"].startswith("2.1.6"), path
