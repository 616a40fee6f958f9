"""The real node's OCI image archives, read back as ``ctr images import`` reads them (and the demo's
manifests moved onto the real node).

The layout is checked against the OCI image spec's rules: every blob is stored under the sha256 of its bytes
with the size its descriptor says, the config's diff_ids are the (uncompressed) layers' digests, and the index
names each image (``io.containerd.image.name``) for the import. The busybox layer holds a link per applet.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.images import (
    BUSYBOX_IMAGE,
    BUSYBOX_IMAGE_V2,
    Image,
    Layer,
    busybox_images,
    oci_archive,
)


def _files(archive: bytes) -> dict[str, tarfile.TarInfo | bytes]:
    found: dict[str, tarfile.TarInfo | bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            found[member.name] = extracted.read() if extracted is not None else member
    return found


def _blob(files: dict[str, tarfile.TarInfo | bytes], digest: str) -> bytes:
    data = files[f"blobs/sha256/{digest.removeprefix('sha256:')}"]
    assert isinstance(data, bytes)
    return data


@pytest.fixture
def busybox(tmp_path: Path) -> Path:
    """A stand-in busybox: answers ``--list`` like the real one."""
    script = tmp_path / "busybox"
    script.write_text("#!/bin/sh\nprintf 'sh\\nsleep\\nwget\\nbusybox\\nls\\n'\n")
    script.chmod(0o755)
    return script


def test_blobs_are_content_addressed_and_the_index_names_the_images(busybox: Path) -> None:
    files = _files(oci_archive(busybox_images(busybox)))
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}  # type: ignore[arg-type]
    for name, data in files.items():
        if name.startswith("blobs/sha256/") and isinstance(data, bytes):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    index = json.loads(files["index.json"])  # type: ignore[arg-type]
    names = [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]]
    assert names == [BUSYBOX_IMAGE, BUSYBOX_IMAGE_V2]
    digests = set()
    for descriptor in index["manifests"]:
        manifest_bytes = _blob(files, descriptor["digest"])
        assert len(manifest_bytes) == descriptor["size"]
        assert descriptor["platform"] == {"architecture": "amd64", "os": "linux"}
        manifest = json.loads(manifest_bytes)
        config = json.loads(_blob(files, manifest["config"]["digest"]))
        assert config["rootfs"]["diff_ids"] == [layer["digest"] for layer in manifest["layers"]]
        for layer in manifest["layers"]:
            assert len(_blob(files, layer["digest"])) == layer["size"]
        digests.add(descriptor["digest"])
    assert len(digests) == 2, "the second version must be another image (digest), not a second tag"


def test_busybox_layer_links_every_applet(busybox: Path) -> None:
    files = _files(busybox_images(busybox)[0].layers[0].tar())
    assert files["bin/busybox"] == busybox.read_bytes()
    for applet in ("sh", "sleep", "wget", "ls"):
        link = files[f"bin/{applet}"]
        assert isinstance(link, tarfile.TarInfo)
        assert link.issym()
        assert link.linkname == "busybox"
    assert "bin/busybox" not in [name for name, entry in files.items() if isinstance(entry, tarfile.TarInfo)]
    tmp = files["tmp"]
    assert isinstance(tmp, tarfile.TarInfo)
    assert tmp.isdir()
    assert tmp.mode == 0o1777


def test_a_busybox_without_a_needed_applet_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "busybox"
    script.write_text("#!/bin/sh\necho sh\n")
    script.chmod(0o755)
    with pytest.raises(ClusterError, match="no sleep applet"):
        busybox_images(script)


def test_archives_are_reproducible() -> None:
    image = Image("localhost/x:1", (Layer(files={"a": (b"1", 0o644)}),), {"Cmd": ["a"]})
    assert oci_archive([image]) == oci_archive([image])


def test_sample_workloads_move_to_the_real_node_unchanged_otherwise() -> None:
    from statuswatch.cluster.realnode import NODE_LABEL, on_real_node

    web: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
    }
    moved = on_real_node(web)
    spec = moved["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {NODE_LABEL: "true"}
    assert spec["tolerations"][0]["key"] == NODE_LABEL
    assert spec["containers"][0]["image"] == BUSYBOX_IMAGE
    assert "httpd" in spec["containers"][0]["command"][-1]
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"  # a copy
    job_command = ["sh", "-c", "echo migrating"]
    job = {
        "kind": "Job",
        "spec": {"template": {"spec": {"containers": [{"name": "m", "command": job_command}]}}},
    }
    assert on_real_node(job)["spec"]["template"]["spec"]["containers"][0]["command"] == job_command
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": []}}
    assert on_real_node(service) == service
