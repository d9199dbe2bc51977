PYTHON ?= python3

.PHONY: setup demo demo-clean test test-offline record-fixtures

setup:
	sh scripts/setup.sh

## Install what is missing, then run a real job end to end with the CLI.
demo:
	sh scripts/demo.sh

## Remove the demo's jobs and stop the private containerd it started.
demo-clean:
	sh scripts/demo-clean.sh

## The whole suite: live tests against a private containerd, then offline ones.
test:
	sh scripts/setup.sh test
	CONTAINERD_TRACKER_REQUIRE_LIVE=1 $(PYTHON) -m pytest

## Only what runs without containerd (parsers, mapping, replayed recordings).
test-offline:
	$(PYTHON) -m pytest tests/offline

## Re-record fixtures/<backend>/<daemon version>/ from the live daemons.
record-fixtures:
	sh scripts/setup.sh test
	$(PYTHON) -m pytest tests/live/test_scenarios.py --record-fixtures
