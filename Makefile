PYTHON ?= python3

.PHONY: setup demo demo-clean test test-version test-offline record-fixtures

#: The containerd versions CI runs the live ctr suite against (scripts/containerd-versions.sh).
CONTAINERD_VERSIONS ?= 1.6 1.7 2.1
LIVE = CONTAINERD_TRACKER_REQUIRE_LIVE=1 $(PYTHON) -m pytest

setup:
	sh scripts/setup.sh

## Install what is missing, then run a real job end to end with the CLI.
demo:
	sh scripts/demo.sh

## Remove the demo's jobs and stop the private containerd it started.
demo-clean:
	sh scripts/demo-clean.sh

## The whole suite, the containerd versions side by side (scripts/test-matrix.sh):
## everything (ctr and docker, offline, the scale test) on the first version,
## the live suite through ctr and docker on each other one.
test:
	sh scripts/setup.sh test
	sh scripts/test-matrix.sh $(CONTAINERD_VERSIONS)

## The live suite (ctr and docker) on one containerd version: make test-version V=2.1
test-version:
	sh scripts/setup.sh test
	$(LIVE) tests/live --containerd-version=$(V)

## Only what runs without containerd (parsers, mapping, replayed recordings).
test-offline:
	$(PYTHON) -m pytest tests/offline

## Re-record fixtures/<backend>/<daemon version>/ from the live daemons (every version).
record-fixtures:
	sh scripts/setup.sh test
	$(PYTHON) -m pytest tests/live/test_scenarios.py tests/live/test_version_drift.py tests/live/test_nerdctl_shapes.py --record-fixtures --containerd-version=$(firstword $(CONTAINERD_VERSIONS))
	set -e; for v in $(wordlist 2,99,$(CONTAINERD_VERSIONS)); do \
	  $(PYTHON) -m pytest tests/live/test_scenarios.py tests/live/test_version_drift.py --record-fixtures --containerd-version=$$v --backends=ctr; \
	done
