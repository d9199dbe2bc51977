"""runc, with the job's process given the user its template asked for — what
ctr 1.6 cannot do (it has no ``--user``; ctr 1.7 and later set it themselves).

containerd's runc shim runs this file as ``runc``: the tracker's shim wrapper
(:mod:`.user_runtime`) puts its folder first on the shim's PATH. On
``create`` it reads the annotation ``containerd-tracker/user`` from the
bundle's ``config.json``, resolves it as ctr 1.7's ``--user`` does (a name or
uid, an optional ``:group`` or ``:gid``, against the container's own
``/etc/passwd`` and ``/etc/group``, then mounted in the bundle), sets
``process.user``, and runs the real runc: the first ``runc`` on PATH that is
not this file. Every other command passes through unchanged.

Self-contained (standard library only): the tracker copies this file into its
state directory and the shim runs it with ``python3 -I -S``, for the whole
life of the container — so it must not depend on the package being importable.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from typing import Callable, Optional

ANNOTATION = "containerd-tracker/user"


class UserError(Exception):
    """The user cannot be resolved: runc is not run, and the job is refused."""


def in_root(rootfs: str, path: str) -> str:
    """``path`` (e.g. ``etc/passwd``) inside the container's root: symlinks
    are followed as the container would, an absolute or ``..`` target never
    leaving ``rootfs`` (this runs as root, on the host)."""
    parts, done, hops = [p for p in path.split("/") if p], [], 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(rootfs, *done, part)
        if os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise UserError(f"too many symbolic links under the container's /{path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        done.append(part)
    return os.path.join(rootfs, *done)


def _entries(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n").split(":") for line in handle if line.strip() and not line.startswith("#")]


def _find(path: str, wanted: Callable[[list[str]], bool], what: str) -> list[str]:
    try:
        entries = _entries(path)
    except OSError as exc:
        raise UserError(f"{what}: the container's /etc/{os.path.basename(path)} cannot be read ({exc.strerror})") from exc
    for fields in entries:
        if len(fields) >= 4 and wanted(fields):
            return fields
    raise UserError(f"{what}: not found in the container's /etc/{os.path.basename(path)}")


def resolve(user: str, rootfs: str) -> tuple[int, int, list[int]]:
    """(uid, gid, additional gids) of ``user`` in the container at
    ``rootfs``, the way ctr 1.7's ``--user`` resolves it: a lone uid missing
    from /etc/passwd gets gid 0; a name must be there; ``uid:gid`` needs no
    file; the primary gid leads the additional ones."""
    passwd, group = in_root(rootfs, "etc/passwd"), in_root(rootfs, "etc/group")
    name, _, grp = user.partition(":")
    if not grp:
        if name.isdigit():
            uid = int(name)
            try:
                entry: Optional[list[str]] = _find(passwd, lambda f: f[2] == str(uid), f"user {name!r}")
            except UserError:
                entry = None
            gid = int(entry[3]) if entry else 0
            login = entry[0] if entry else None
        else:
            entry = _find(passwd, lambda f: f[0] == name, f"user {name!r}")
            uid, gid, login = int(entry[2]), int(entry[3]), name
        return uid, gid, [gid, *_supplementary(group, login, gid)]
    if name.isdigit():
        uid = int(name)
    else:
        uid = int(_find(passwd, lambda f: f[0] == name, f"user {name!r}")[2])
    gid = int(grp) if grp.isdigit() else int(_find(group, lambda f: f[0] == grp, f"group {grp!r}")[2])
    return uid, gid, [gid]


def _supplementary(group: str, login: Optional[str], primary: int) -> list[int]:
    """The groups listing ``login`` as a member, except one named like it
    (as containerd has it); none when /etc/group is missing."""
    if not login:
        return []
    try:
        entries = _entries(group)
    except OSError:
        return []
    gids = [int(f[2]) for f in entries
            if len(f) >= 4 and f[2].isdigit() and f[0] != login and login in f[3].split(",")]
    return [gid for gid in dict.fromkeys(gids) if gid != primary]


#: runc's global options that take a value (the shim passes --root, --log,
#: --log-format; the others for completeness). Flags take none.
_GLOBAL_VALUES = {"--root", "--log", "--log-format", "--criu", "--rootless"}


def bundle_of(args: list[str]) -> Optional[str]:
    """The bundle of a ``runc [global options] create [--bundle DIR] …``
    command, else ``None``."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _GLOBAL_VALUES else 1
    if i >= len(args) or args[i] != "create":
        return None
    rest = args[i + 1:]
    for j, arg in enumerate(rest):
        if arg in ("--bundle", "-b") and j + 1 < len(rest):
            return rest[j + 1]
        if arg.startswith(("--bundle=", "-b=")):
            return arg.split("=", 1)[1]
    return "."  # runc's default: the current directory


def give_user(bundle: str) -> None:
    """Set ``process.user`` in the bundle's config.json from the annotation."""
    path = os.path.join(bundle, "config.json")
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    user = (spec.get("annotations") or {}).get(ANNOTATION)
    if not user:
        return
    root = (spec.get("root") or {}).get("path") or "rootfs"
    uid, gid, gids = resolve(user, os.path.join(bundle, root))
    process = spec.setdefault("process", {})
    process["user"] = {**(process.get("user") or {}), "uid": uid, "gid": gid, "additionalGids": gids}
    process["user"].pop("username", None)  # a Windows field; never the resolved name
    tmp = path + ".user"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    os.replace(tmp, path)


def real_runc() -> str:
    """The first ``runc`` on PATH that is not this file's folder."""
    here = os.path.dirname(os.path.realpath(__file__))
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder or ".", "runc")
        if os.path.realpath(folder or ".") != here and os.access(candidate, os.X_OK):
            return candidate
    raise UserError("no runc on PATH besides containerd-tracker's wrapper")


def report(args: list[str], message: str) -> None:
    """Where the shim looks for runc's error: the JSON log runc was given."""
    print(message, file=sys.stderr)
    log = None
    for i, arg in enumerate(args[:-1]):
        if arg == "--log":
            log = args[i + 1]
    if log:
        try:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"level": "error", "msg": message}) + "\n")
        except OSError:
            pass


def main(args: list[str]) -> int:
    try:
        runc = real_runc()
        bundle = bundle_of(args)
        if bundle is not None:
            give_user(bundle)
    except UserError as exc:
        report(args, f"containerd-tracker: extension 'user': {exc}")
        return 1
    except (OSError, ValueError) as exc:  # not the user's fault: a broken bundle or wrapper
        report(args, f"containerd-tracker's runc wrapper failed: {exc}")
        return 1
    # Python ignores these; an ignored signal stays ignored across exec.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    os.execv(runc, [runc, *args])
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
