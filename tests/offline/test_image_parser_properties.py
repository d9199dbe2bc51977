"""The parsers of an image's config — ``ctr content get`` of an index, a
manifest and a config, and ``image inspect`` of nerdctl and docker — are
total, read valid documents right, and the backends only chain them.

No recording holds these outputs (the scenarios never read an image's
config), so the valid documents here are made as the CLIs print them:
``ctr content get`` prints a blob's bytes, and the blobs are those
:mod:`containerd_tracker_cli.testing.busybox_image` writes (the image every
live test imports), plus an index shaped like Docker Hub's multi-platform
``busybox`` one (digests made up, attestation entries included).
The generic properties (any text, any JSON, any JSON where each parser
looks, inputs that once broke one) run on these parsers in
test_parser_properties.py too.
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from typing import Any, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from containerd_tracker_cli.backends.ctr import parsers as ctr
from containerd_tracker_cli.backends.ctr.backend import CtrBackend
from containerd_tracker_cli.backends.dockercompat.backend import DockerCompatBackend
from containerd_tracker_cli.backends.errors import CliParseError
from containerd_tracker_cli.backends.models import ImageConfig, ImageRecord
from containerd_tracker_cli.runner import Completed, Runner

from .parser_samples import JSON_VALUES, mutate_json, mutate_text
from .test_parser_properties import FAST, examples, run

OCI = "application/vnd.oci.image."


def _blob(document: dict[str, Any]) -> tuple[str, str]:
    """A document as busybox_image writes it, and its content digest."""
    text = json.dumps(document, sort_keys=True)
    return text, "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _fake(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


CONFIG, CONFIG_DIGEST = _blob({
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["-l"], "WorkingDir": "/", "Entrypoint": ["/bin/sh"]},
    "rootfs": {"type": "layers", "diff_ids": [_fake("layer")]},
    "history": [{"created_by": "containerd-tracker busybox_image from /bin/busybox"}],
})
CONFIG_MODEL = ImageConfig(entrypoint=["/bin/sh"], cmd=["-l"], env=["PATH=/bin"], working_dir="/")
MANIFEST, MANIFEST_DIGEST = _blob({
    "schemaVersion": 2, "mediaType": OCI + "manifest.v1+json",
    "config": {"mediaType": OCI + "config.v1+json", "digest": CONFIG_DIGEST, "size": len(CONFIG)},
    "layers": [{"mediaType": OCI + "layer.v1.tar", "digest": _fake("layer"), "size": 2_000_000}],
})
#: (os, architecture, variant) of the index's entries, in its order; the
#: amd64 one is MANIFEST, the others made-up digests.
PLATFORMS = [("linux", "arm", "v5"), ("linux", "amd64", None), ("linux", "arm", "v6"), ("linux", "arm", "v7"),
             ("linux", "arm64", "v8"), ("linux", "386", None), ("linux", "ppc64le", None),
             ("linux", "riscv64", None), ("linux", "s390x", None), ("unknown", "unknown", None)]


def _entry(os_: str, arch: str, variant: str | None) -> dict[str, Any]:
    plat = {"architecture": arch, "os": os_, **({"variant": variant} if variant else {})}
    digest = MANIFEST_DIGEST if arch == "amd64" else _fake(f"{os_}/{arch}/{variant}")
    entry = {"mediaType": OCI + "manifest.v1+json", "digest": digest, "size": 610, "platform": plat}
    if os_ == "unknown":  # buildkit's attestation manifest, beside each platform's
        entry["annotations"] = {"vnd.docker.reference.digest": MANIFEST_DIGEST,
                                "vnd.docker.reference.type": "attestation-manifest"}
    return entry


INDEX = json.dumps({"schemaVersion": 2, "mediaType": OCI + "index.v1+json",
                    "manifests": [_entry(*p) for p in PLATFORMS]}, indent=2)
#: What the first linux entry of each architecture is (ctr's choice ignores the variant).
FIRST = {arch: _entry(os_, arch, variant)["digest"] for os_, arch, variant in reversed(PLATFORMS) if os_ == "linux"}

#: ``docker image inspect`` (20.10) of the busybox image, and nerdctl's shorter one.
DOCKER_INSPECT = json.dumps([{
    "Id": CONFIG_DIGEST, "RepoTags": ["busybox:latest"], "RepoDigests": [], "Parent": "", "Comment": "",
    "Created": "2026-11-24T21:41:23Z", "Container": "", "DockerVersion": "", "Author": "",
    "ContainerConfig": {"Hostname": "", "Env": None, "Cmd": None, "Image": "", "WorkingDir": "", "Entrypoint": None},
    "Config": {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
               "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": ["PATH=/bin"],
               "Cmd": ["-l"], "Image": "", "Volumes": None, "WorkingDir": "/", "Entrypoint": ["/bin/sh"],
               "OnBuild": None, "Labels": None},
    "Architecture": "amd64", "Os": "linux", "Size": 2_000_000, "VirtualSize": 2_000_000,
    "GraphDriver": {"Data": {}, "Name": "overlay2"}, "RootFS": {"Type": "layers", "Layers": [_fake("layer")]},
    "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
}], indent=4)
NERDCTL_INSPECT = json.dumps([{
    "Id": CONFIG_DIGEST, "RepoTags": ["busybox:latest"], "RepoDigests": ["busybox@" + MANIFEST_DIGEST],
    "Created": "2026-11-24T21:41:23Z", "Author": "", "Architecture": "amd64", "Os": "linux", "Size": 2_000_000,
    "Config": {"Env": ["PATH=/bin"], "Cmd": ["-l"], "WorkingDir": "/", "Entrypoint": ["/bin/sh"], "Labels": None},
    "RootFS": {"Type": "layers", "Layers": [_fake("layer")]}, "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
}], indent=4)

#: (kind, a valid output, what it parses to).
VALID = [pytest.param(kind, text, expected, id=f"{kind}-{name}") for kind, name, text, expected in [
    ("ctr manifest choice", "index", INDEX, MANIFEST_DIGEST), ("ctr manifest choice", "manifest", MANIFEST, None),
    ("ctr config digest", "manifest", MANIFEST, CONFIG_DIGEST), ("ctr image config", "config", CONFIG, CONFIG_MODEL),
    ("compat image config", "docker", DOCKER_INSPECT, CONFIG_MODEL),
    ("compat image config", "nerdctl", NERDCTL_INSPECT, CONFIG_MODEL)]]


# -- valid documents ------------------------------------------------------------

@pytest.mark.parametrize(("kind", "text", "expected"), VALID)
def test_valid_documents_parse_to_the_right_values(kind: str, text: str, expected: Any) -> None:
    assert run(kind, text) == expected


@pytest.mark.parametrize("arch", sorted(FIRST))
def test_the_index_gives_the_first_linux_manifest_of_the_architecture(arch: str) -> None:
    assert ctr.parse_manifest_choice(("ctr",), INDEX, arch) == FIRST[arch]


def test_an_index_without_the_architecture_is_a_parse_error_naming_it() -> None:
    with pytest.raises(CliParseError, match="no linux/mips64le manifest"):
        ctr.parse_manifest_choice(("ctr",), INDEX, "mips64le")
    assert ctr.parse_manifest_choice(("ctr",), '{"manifests": [{"digest": "sha256:ab"}]}', "mips64le") == "sha256:ab"


@pytest.mark.parametrize(("kind", "text", "expected"), VALID)
@settings(FAST, max_examples=examples(25))
@given(data=st.data())
def test_reformatted_valid_documents_parse_the_same(kind: str, text: str, expected: Any, data: st.DataObject) -> None:
    """Key order, spacing, escaping and unknown keys change nothing."""
    document = json.loads(text)
    shuffle = data.draw(st.randoms(use_true_random=False), label="order")
    unknown = ("x-unknown-" + data.draw(st.text(max_size=4), label="key"), data.draw(JSON_VALUES, label="value"))

    def redo(value: Any) -> Any:
        if isinstance(value, list):
            return [redo(v) for v in value]
        if isinstance(value, dict):
            items = [(k, redo(v)) for k, v in value.items()] + [unknown]
            shuffle.shuffle(items)
            return dict(items)
        return value

    text = json.dumps(redo(document), indent=data.draw(st.sampled_from([None, 2])), ensure_ascii=data.draw(st.booleans()))
    assert run(kind, text) == expected


# -- anything else: a model or a CliParseError ---------------------------------

@pytest.mark.parametrize(("kind", "text", "expected"), VALID)
@settings(FAST, max_examples=examples(60))
@given(data=st.data())
def test_mutated_valid_documents_give_a_model_or_a_parse_error(kind: str, text: str, expected: Any,
                                                               data: st.DataObject) -> None:
    if data.draw(st.booleans(), label="mutate the JSON"):
        text = json.dumps(mutate_json(data, json.loads(text)))
    if data.draw(st.booleans(), label="mutate the text"):
        text = mutate_text(data, text)
    run(kind, text)


ENTRY_OS = st.one_of(st.sampled_from(["linux", "windows"]), JSON_VALUES)
ENTRY_ARCH = st.one_of(st.sampled_from(["amd64", "arm64", "s390x"]), JSON_VALUES)


@FAST
@given(arch=st.one_of(st.sampled_from(["amd64", "arm64"]), st.text(max_size=6)),
       entries=st.lists(st.tuples(st.integers(0, 10**6), st.fixed_dictionaries(
           {}, optional={"os": ENTRY_OS, "architecture": ENTRY_ARCH, "variant": JSON_VALUES})), max_size=5))
def test_the_choice_is_the_first_entry_that_fits(arch: str, entries: list[tuple[int, dict[str, Any]]]) -> None:
    """Against a model of the choice: os linux (or none) and the architecture
    (or none), whatever else the entries hold."""
    index = {"manifests": [{"digest": f"sha256:{n:064x}", "platform": plat} for n, plat in entries]}
    fits = [f"sha256:{n:064x}" for n, plat in entries
            if plat.get("os", "linux") == "linux" and plat.get("architecture", arch) == arch]
    try:
        assert ctr.parse_manifest_choice(("ctr",), json.dumps(index), arch) == fits[0]
    except CliParseError as exc:
        assert not fits and f"no linux/{arch} manifest" in str(exc)


DEEP_PLACES = {  # kind → documents with "@@" where a field's value goes
    "ctr manifest choice": ['{"manifests": @@}', '{"manifests": [@@]}', '{"manifests": [{"platform": @@}]}',
                            '{"manifests": [{"platform": {"os": @@}}]}', '{"manifests": [{"digest": @@}]}'],
    "ctr config digest": ['{"config": @@}', '{"config": {"digest": @@}}'],
    "compat image config": ["[@@]", '[{"Config": @@}]', '[{"Config": {"Entrypoint": @@}}]',
                            '[{"Config": {"Env": ["a", @@]}}]', '[{"Config": {"WorkingDir": @@}}]'],
}


@pytest.mark.parametrize(("kind", "place"), [(k, p) for k, places in DEEP_PLACES.items() for p in places])
def test_json_nested_near_and_past_the_recursion_limit_in_each_field_is_a_parse_error(kind: str, place: str) -> None:
    limit = sys.getrecursionlimit()
    for depth in [*range(limit - 120, limit + 10, 7), 100_000]:
        assert isinstance(run(kind, place.replace("@@", "[" * depth + "]" * depth)), CliParseError)


# -- the backends only run the commands and chain the parsers ------------------

class _Blobs(Runner):
    """Answers ``content get DIGEST`` and ``image inspect REF`` from a dict."""

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.asked: list[str] = []

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> Completed:
        self.asked.append(argv[-1])
        return Completed(tuple(argv), 0, self.outputs[argv[-1]], "")

    def stream(self, argv: Sequence[str]) -> Any:
        raise NotImplementedError


CHAIN = {"sha256:index": INDEX, MANIFEST_DIGEST: MANIFEST, CONFIG_DIGEST: CONFIG,
         FIRST["arm64"]: MANIFEST.replace("amd64", "arm64")}


@pytest.mark.parametrize(("machine", "image", "asked"), [
    ("x86_64", "sha256:index", ["sha256:index", MANIFEST_DIGEST, CONFIG_DIGEST]),
    ("aarch64", "sha256:index", ["sha256:index", FIRST["arm64"], CONFIG_DIGEST]),
    ("s390x", MANIFEST_DIGEST, [MANIFEST_DIGEST, CONFIG_DIGEST]),  # an image imported as a manifest
])
def test_ctr_reads_index_manifest_and_config(monkeypatch: pytest.MonkeyPatch, machine: str, image: str,
                                             asked: list[str]) -> None:
    monkeypatch.setattr(platform, "machine", lambda: machine)
    runner = _Blobs(CHAIN)
    backend = CtrBackend(runner, "/run/containerd/containerd.sock", "default")
    assert backend.image_config(ImageRecord(name="busybox", digest=image)) == CONFIG_MODEL
    assert runner.asked == asked


@pytest.mark.parametrize("outputs", [
    {"sha256:index": '{"manifests": [1]}'}, {"sha256:index": '{"manifests": 5}'},
    {"sha256:index": '{"manifests": [{"platform": {}}]}'}, {"sha256:index": '{"config": "x"}'},
    {"sha256:index": '{"manifests": [{"digest": "sha256:m"}]}', "sha256:m": '{"config": {"digest": "-x"}}'},
    {"sha256:index": '{"manifests": [{"platform": {"os": "windows"}, "digest": "sha256:w"}]}'},
])
def test_ctr_odd_documents_are_parse_errors_naming_the_command(outputs: dict[str, str]) -> None:
    backend = CtrBackend(_Blobs(outputs), "/run/containerd/containerd.sock", "default")
    with pytest.raises(CliParseError, match="content get sha256:"):
        backend.image_config(ImageRecord(name="busybox", digest="sha256:index"))


@pytest.mark.parametrize(("flavour", "out", "expected"), [
    ("docker", DOCKER_INSPECT, CONFIG_MODEL), ("nerdctl", NERDCTL_INSPECT, CONFIG_MODEL),
    ("nerdctl", '[{"Id": "x", "Config": null}]', ImageConfig()),
    ("docker", '[{"Config": "x"}]', None), ("nerdctl", "[]", None), ("docker", '{"Config": {}}', None),
], ids=["docker", "nerdctl", "no-config", "config-text", "none", "not-a-list"])
def test_compat_reads_the_inspected_config(flavour: str, out: str, expected: ImageConfig | None) -> None:
    backend = DockerCompatBackend(_Blobs({"busybox": out}), flavour, "/run/containerd/containerd.sock", "default")
    if expected is None:
        with pytest.raises(CliParseError, match="image inspect busybox"):
            backend.image_config(ImageRecord(name="busybox"))
    else:
        assert backend.image_config(ImageRecord(name="busybox")) == expected
