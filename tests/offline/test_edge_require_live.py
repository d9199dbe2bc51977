"""CONTAINERD_TRACKER_REQUIRE_LIVE: only a yes makes a live test that cannot
run a failure; anything else (0, false, no, empty) lets it skip."""
from __future__ import annotations

import pytest

from tests import conftest


@pytest.mark.parametrize("value", ["1", "true", "yes", "TRUE", " Yes "])
def test_a_yes_makes_a_live_test_that_cannot_run_fail(monkeypatch, value):
    monkeypatch.setattr(conftest, "IN_CI", False)
    monkeypatch.setenv("CONTAINERD_TRACKER_REQUIRE_LIVE", value)
    with pytest.raises(pytest.fail.Exception, match="live tests cannot run: no daemon"):
        conftest._cannot_run_live("no daemon")


@pytest.mark.parametrize("value", ["0", "false", "no", "", None])
def test_anything_else_lets_it_skip(monkeypatch, value):
    monkeypatch.setattr(conftest, "IN_CI", False)
    if value is None:
        monkeypatch.delenv("CONTAINERD_TRACKER_REQUIRE_LIVE", raising=False)
    else:
        monkeypatch.setenv("CONTAINERD_TRACKER_REQUIRE_LIVE", value)
    with pytest.raises(pytest.skip.Exception, match="live test: no daemon"):
        conftest._cannot_run_live("no daemon")


def test_in_ci_it_always_fails(monkeypatch):
    monkeypatch.setattr(conftest, "IN_CI", True)
    monkeypatch.setenv("CONTAINERD_TRACKER_REQUIRE_LIVE", "0")
    with pytest.raises(pytest.fail.Exception, match="In CI this is a failure"):
        conftest._cannot_run_live("no daemon")
