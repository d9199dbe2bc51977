"""What sets nerdctl and docker apart, as data: one :class:`Flavour` each.

The argv builder and the backend read these fields instead of comparing CLI
names, so a difference is stated once, next to its reason.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping

from ..csvfields import COMMA_OR_QUOTE


def docker_host(address: str) -> str:
    """What ``docker --host`` needs: a bare socket path (as containerd's
    address is given) means ``unix://PATH``; URLs (``unix://``, ``tcp://``,
    ``ssh://`` …) pass unchanged. docker itself would read a bare path as a
    TCP address."""
    if "://" in address:
        return address
    return "unix://" + os.path.abspath(address)


def _as_given(address: str) -> str:
    return address


@dataclass(frozen=True)
class Flavour:
    """One Docker-compatible CLI: how it is pointed at its daemon and where
    its behaviour differs."""

    name: str
    #: What the CLI talks to, for messages.
    daemon: str
    #: The global option naming the daemon's address.
    address_flag: str
    #: The global option naming the containerd namespace; None: the CLI has none.
    namespace_flag: str | None
    #: The address as this CLI must be given it.
    normalise_address: Callable[[str], str]
    #: Characters that make a ``--filter`` value need CSV quoting; "": the CLI
    #: does not split filters as CSV, so a value passes as it is.
    filter_csv_specials: str
    #: How far back ``events --since`` replays on connect; None: no replay.
    replay_window: str | None
    #: Whether ``events`` takes ``--filter container=…`` for each job.
    filters_events: bool
    #: Whether a fresh event stream is known to be live (docker: the replay
    #: covers the gap); otherwise the tracker re-reads more often.
    subscription_provable: bool
    #: Whether past ``oom`` events can be asked for (``events --since --until``):
    #: docker 20.10 on containerd 1.7+ may leave ``State.OOMKilled`` false when
    #: containerd's OOM event comes after the exit, but still logs the event.
    oom_events: bool = False
    #: A label the CLI puts on the containers whose streams it keeps (``logs``
    #: shows those only); None: it keeps every container's. nerdctl cannot show
    #: the logs of a container it did not create (one made through ctr).
    logging_label: str | None = None
    #: Whether a job started at submission is made with one ``run --detach``
    #: instead of ``create`` + ``start``. nerdctl: not yet — its create and
    #: start were checked against a real nerdctl (the 2.1.6 recordings), its run not.
    runs_detached: bool = False

    def keeps_streams(self, labels: Mapping[str, str]) -> bool:
        """Whether ``logs`` can show this container's output."""
        return self.logging_label is None or self.logging_label in labels

    def base_argv(self, executable: str, address: str, namespace: str) -> list[str]:
        """The CLI and its global options, the head of every argv."""
        argv = [executable, self.address_flag, address]
        return [*argv, self.namespace_flag, namespace] if self.namespace_flag else argv


NERDCTL = Flavour(
    name="nerdctl", daemon="containerd", address_flag="--address", namespace_flag="--namespace",
    normalise_address=_as_given, filter_csv_specials=COMMA_OR_QUOTE,  # nerdctl splits filters as CSV
    replay_window=None, filters_events=False, subscription_provable=False, logging_label="nerdctl/log-uri",
)
DOCKER = Flavour(
    name="docker", daemon="docker", address_flag="--host", namespace_flag=None,
    normalise_address=docker_host, filter_csv_specials="",
    # The engine replays what it saw in the last seconds before the stream
    # connects, so nothing between "subscribe" and "live" is lost (relative,
    # so the argv is the same every time).
    replay_window="5s", filters_events=True, subscription_provable=True, oom_events=True, runs_detached=True,
)
FLAVOURS: dict[str, Flavour] = {flavour.name: flavour for flavour in (NERDCTL, DOCKER)}
