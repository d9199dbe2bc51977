"""The kernel's own record of memory-cgroup OOM kills, for CLIs that lose it.

The Docker engine's ``State.OOMKilled`` and its ``oom`` events both come from
containerd's OOM event, which under load can arrive after the exit and be lost
(seen in CI on containerd 1.6 and 1.7); the container's cgroup, with its own
OOM-kill count, is gone with the task. The kernel logs an OOM kill with the
cgroup of the killed task::

    [50712.957126] oom-kill:constraint=CONSTRAINT_MEMCG,...,task_memcg=/docker/<id>,task=dd,pid=3268,uid=0

(``Task in /docker/<id> killed as a result of limit of ...`` before Linux
4.19). Every engine and cgroup driver names the container's cgroup after its
full 64-hex ID (``/docker/<id>``, ``/system.slice/docker-<id>.scope``,
``/default/<id>``), so the ID found there is exact. What the log cannot do: be
read without the right (``kernel.dmesg_restrict`` and no root), speak for a
remote engine's host, keep a record after its ring buffer has rolled over (a
128 KiB buffer holds about two dozen OOM kills), or report more than ten kills
in five seconds (the kernel rate-limits this report). Any of those reads as
"not in the log".
"""
from __future__ import annotations

import re
from typing import Iterable

#: Prints the kernel's ring buffer (util-linux and busybox alike).
ARGV = ("dmesg",)

# A line as dmesg prints it: an optional "<level>", then bracketed fields
# ("[seconds]", "[ T123]" where the kernel logs the caller), then the kernel's
# own text from its start. "oom-kill:constraint=" and its comma-joined fields
# up to task_memcg hold no blank, and are longer than a process name (15
# characters), so no other message can pass for them by naming a process so.
_HEAD = r"^(?:<\d+>)?(?:\[[^\]\n]*\][ \t]*)*"
_KILLED_TASK_CGROUP = re.compile(
    _HEAD + r"(?:oom-kill:constraint=[^\s]*?,task_memcg=(?P<path>[^,\s]+)"
    r"|Task in (?P<old>\S+) killed as a result of limit of )", re.MULTILINE)
_FULL_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def relevant(text: str) -> str:
    """The lines of the log that tell OOM kills, all that is read of it: a
    recording keeps these, never the rest of the host's log."""
    return "".join(f"{line}\n" for line in text.split("\n") if _KILLED_TASK_CGROUP.match(line))


def oom_killed(text: str, container_ids: Iterable[str]) -> set[str]:
    """Which of the (full, 64-hex) container IDs the kernel log says had a
    task OOM-killed. Total: any text reads, at worst as "none"."""
    wanted = {cid for cid in container_ids if _FULL_ID.fullmatch(cid)}
    if not wanted:
        return set()
    killed = set()
    for match in _KILLED_TASK_CGROUP.finditer(text):
        killed.update(found for found in _FULL_ID.findall(match["path"] or match["old"]) if found in wanted)
    return killed
