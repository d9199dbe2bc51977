"""ctr 1.6's runtime for jobs with a user (backends/ctr/user_runtime.py and
runc_user.py): the installed files run as containerd's shim would run them,
with a stand-in runc and shim that record what reached them. The live tests
run them under a real containerd 1.6."""
from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess

import pytest

from containerd_tracker_cli.backends.ctr import runc_user, user_runtime
from containerd_tracker_cli.backends.ctr.commands import CtrCommands
from containerd_tracker_cli.backends.models import ContainerSpec

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nann:x:1001:100::/home/ann:/bin/sh\n"
GROUP = "root:x:0:\nusers:x:100:\naudio:x:29:ann,bob\nvideo:x:44:bob\nstaff:x:50:ann\n"


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "rootfs" / "etc").mkdir(parents=True)
    (tmp_path / "rootfs" / "etc" / "passwd").write_text(PASSWD)
    (tmp_path / "rootfs" / "etc" / "group").write_text(GROUP)
    return tmp_path / "rootfs"


@pytest.mark.parametrize("user, expected", [
    ("1000:1000", (1000, 1000, [1000])),         # no file needed
    ("1000", (1000, 0, [0])),                    # a uid the image does not know: gid 0
    ("65534", (65534, 65534, [65534])),          # a uid it knows: its group
    ("nobody", (65534, 65534, [65534])),
    ("ann", (1001, 100, [100, 29, 50])),         # and the groups listing her
    ("ann:7", (1001, 7, [7])),
    ("1001:audio", (1001, 29, [29])),
])
def test_a_user_resolves_as_ctr_1_7_resolves_it(rootfs, user, expected):
    assert runc_user.resolve(user, str(rootfs)) == expected


@pytest.mark.parametrize("user, words", [("nosuch", "user 'nosuch': not found"),
                                         ("0:nosuch", "group 'nosuch': not found")])
def test_a_name_the_image_lacks_is_an_error_naming_it(rootfs, user, words):
    with pytest.raises(runc_user.UserError, match=words):
        runc_user.resolve(user, str(rootfs))


def test_without_etc_group_a_group_name_is_an_error_and_a_login_has_no_extra_groups(rootfs):
    (rootfs / "etc" / "group").unlink()
    assert runc_user.resolve("ann", str(rootfs)) == (1001, 100, [100])
    with pytest.raises(runc_user.UserError, match="/etc/group cannot be read"):
        runc_user.resolve("ann:audio", str(rootfs))


@pytest.fixture
def installed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The runtime installed, and a stand-in runc (on PATH after it) that
    records its argv and the user config.json held when it ran."""
    shim = user_runtime.install(tmp_path / "state" / "bin")
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    seen = tmp_path / "seen"
    (fake / "runc").write_text(
        "#!/bin/sh\necho \"$*\" >> " + str(seen) + "\n"
        "for a; do [ -f \"$a/config.json\" ] && cat \"$a/config.json\" >> " + str(seen) + ".json; done\nexit 0\n")
    (fake / "runc").chmod(0o755)
    return shim, fake, seen


def _bundle(tmp_path: Path, rootfs: Path, user: str | None) -> Path:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "rootfs").symlink_to(rootfs)
    annotations = {runc_user.ANNOTATION: user} if user else {}
    (bundle / "config.json").write_text(json.dumps(
        {"process": {"user": {"uid": 0, "gid": 0}, "args": ["id"]}, "root": {"path": "rootfs"},
         "annotations": annotations}))
    return bundle


def _runc(shim: Path, fake: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{shim.parent / 'runc-user'}:{fake}:{os.environ['PATH']}"}
    return subprocess.run([str(shim.parent / "runc-user" / "runc"), *args], capture_output=True, text=True,
                          env=env, timeout=30)


def test_create_gives_the_process_its_user_then_runs_the_real_runc(installed, tmp_path, rootfs):
    shim, fake, seen = installed
    bundle = _bundle(tmp_path, rootfs, "ann")
    done = _runc(shim, fake, "--root", "/r", "--log", str(tmp_path / "log.json"), "create", "--bundle", str(bundle),
                 "job-1")
    assert done.returncode == 0, done.stderr
    assert seen.read_text() == f"--root /r --log {tmp_path / 'log.json'} create --bundle {bundle} job-1\n"
    assert json.loads(Path(f"{seen}.json").read_text())["process"]["user"] == {
        "uid": 1001, "gid": 100, "additionalGids": [100, 29, 50]}


def test_other_commands_and_unannotated_bundles_pass_through_unchanged(installed, tmp_path, rootfs):
    shim, fake, seen = installed
    bundle = _bundle(tmp_path, rootfs, None)
    before = (bundle / "config.json").read_text()
    assert _runc(shim, fake, "create", "--bundle", str(bundle), "j").returncode == 0
    assert _runc(shim, fake, "--root", "/r", "kill", "j", "9").returncode == 0
    assert (bundle / "config.json").read_text() == before
    assert seen.read_text() == f"create --bundle {bundle} j\n--root /r kill j 9\n"


def test_an_unknown_user_fails_the_create_in_runcs_log_and_runc_never_runs(installed, tmp_path, rootfs):
    """The shim reports runc's last error from its JSON log: containerd says why."""
    shim, fake, seen = installed
    bundle = _bundle(tmp_path, rootfs, "nosuch")
    log = tmp_path / "log.json"
    done = _runc(shim, fake, "--log", str(log), "--log-format", "json", "create", "--bundle", str(bundle), "j")
    assert done.returncode == 1
    assert json.loads(log.read_text()) == {
        "level": "error", "msg": "containerd-tracker: extension 'user': user 'nosuch': not found in the "
                                 "container's /etc/passwd"}
    assert not seen.exists()


def _fake_shim(folder: Path, seen: Path) -> None:
    folder.mkdir()
    (folder / "containerd-shim-runc-v2").write_text(f"#!/bin/sh\necho \"$0|$PATH|$*\" > {seen}\n")
    (folder / "containerd-shim-runc-v2").chmod(0o755)


@pytest.mark.parametrize("on_path", [True, False])
def test_the_shim_wrapper_runs_containerds_shim_with_the_runc_wrapper_first_on_path(installed, tmp_path, on_path):
    """The shim as containerd finds it: on PATH first, else beside containerd."""
    shim, _, _ = installed
    seen = tmp_path / "shim-seen"
    _fake_shim(tmp_path / "path-bin", seen)
    _fake_shim(tmp_path / "containerd-bin", seen)
    args = ["-namespace", "default", "-publish-binary", str(tmp_path / "containerd-bin" / "containerd"),
            "-id", "j", "start"]
    path = str(tmp_path / "path-bin") if on_path else "/nonexistent"
    subprocess.run([str(shim), *args], check=True, timeout=30, env={"PATH": path})
    program, search, argv = seen.read_text().strip().split("|")
    assert Path(program).parent == tmp_path / ("path-bin" if on_path else "containerd-bin")
    assert (search.split(":")[0], argv) == (str(shim.parent / "runc-user"), " ".join(args))


def test_install_rewrites_only_what_changed(tmp_path):
    shim = user_runtime.install(tmp_path)
    runc = tmp_path / "runc-user" / "runc"
    runc.write_text("stale")
    stamp = shim.stat().st_mtime_ns
    assert user_runtime.install(tmp_path) == shim
    assert runc.read_text() == user_runtime.runc_script() and shim.stat().st_mtime_ns == stamp
    assert os.access(runc, os.X_OK) and os.access(shim, os.X_OK)


def test_ctr_argv_names_the_runtime_and_the_user_annotation_instead_of_user():
    spec = ContainerSpec(id="j", image="busybox", args=["id"], user="ann:7")
    argv = CtrCommands("/s", "default").run(spec, "binary:///l", None, user_runtime="/st/bin/shim")
    assert "--runtime=/st/bin/shim" in argv and "--annotation=containerd-tracker/user=ann:7" in argv
    assert not any(arg.startswith("--user") for arg in argv)
    assert argv.index("--runtime=/st/bin/shim") < argv.index("--")


def test_the_images_files_are_read_inside_its_root_whatever_its_symlinks_say(tmp_path, rootfs):
    """An image whose /etc is an absolute symlink, or whose group file climbs
    out with ../, still means its own files, never the host's: the wrapper
    runs as root on the host."""
    (rootfs / "real").mkdir()
    (rootfs / "etc").rename(rootfs / "real" / "etc")
    (rootfs / "etc").symlink_to("/real/etc")  # on the host, /real/etc does not exist
    (rootfs / "real" / "etc" / "group").unlink()
    (rootfs / "real" / "etc" / "group").symlink_to("../../../../../../etc/image-group")  # = /etc/image-group
    (rootfs / "real" / "etc" / "image-group").write_text("staff:x:50:ann\n")
    assert runc_user.in_root(str(rootfs), "etc/passwd") == str(rootfs / "real" / "etc" / "passwd")
    assert runc_user.in_root(str(rootfs), "etc/group") == str(rootfs / "real" / "etc" / "image-group")
    assert runc_user.resolve("ann", str(rootfs)) == (1001, 100, [100, 50])


@pytest.mark.parametrize("args, bundle", [
    (["--root", "/r", "--log", "/l", "--log-format", "json", "create", "--bundle", "/b", "--pid-file", "/p", "j"], "/b"),
    (["--systemd-cgroup", "create", "--bundle=/b", "j"], "/b"),
    (["create", "j"], "."),
    (["--root", "create", "kill", "j", "9"], None),   # a value that reads "create" is no command
    (["kill", "create", "9"], None),                  # nor is a container named so
    (["delete", "--force", "j"], None),
])
def test_only_the_create_command_has_a_bundle_to_change(args, bundle):
    assert runc_user.bundle_of(args) == bundle


def test_a_group_named_like_the_user_is_not_an_additional_one(rootfs):
    (rootfs / "etc" / "group").write_text(GROUP + "ann:x:1001:ann\n")
    assert runc_user.resolve("ann", str(rootfs)) == (1001, 100, [100, 29, 50])


def test_what_the_spec_says_of_the_user_besides_ids_is_kept(tmp_path, rootfs):
    bundle = _bundle(tmp_path, rootfs, "nobody")
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["user"]["umask"] = 18
    (bundle / "config.json").write_text(json.dumps(spec))
    runc_user.give_user(str(bundle))
    assert json.loads((bundle / "config.json").read_text())["process"]["user"] == {
        "uid": 65534, "gid": 65534, "additionalGids": [65534], "umask": 18}


def test_a_broken_bundle_is_the_wrappers_failure_not_the_users(installed, tmp_path):
    shim, fake, seen = installed
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text("{not json")
    log = tmp_path / "log.json"
    done = _runc(shim, fake, "--log", str(log), "create", "--bundle", str(bundle), "j")
    assert done.returncode == 1 and not seen.exists()
    message = json.loads(log.read_text())["msg"]
    assert message.startswith("containerd-tracker's runc wrapper failed") and "extension 'user'" not in message
