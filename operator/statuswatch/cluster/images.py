"""The real node's container images, built here as OCI image archives: no registry is reachable.

``ctr images import`` takes an OCI image layout packed in a tar (``oci-layout``, ``index.json`` and the
blobs: one uncompressed layer tar, the image config and the manifest, each stored under its sha256). The
layers are written by :mod:`tarfile` from files on this machine: a static pause binary (compiled from
``gomod/pause``) for the pod sandbox, and Debian's static busybox with one link per applet for the test
workloads. Timestamps and owners are fixed, so the same inputs give the same digests.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statuswatch.cluster.errors import ClusterError

__all__ = [
    "BUSYBOX_IMAGE",
    "BUSYBOX_IMAGE_V2",
    "PAUSE_IMAGE",
    "UNPULLABLE_IMAGE",
    "Image",
    "Layer",
    "busybox_images",
    "busybox_layer",
    "oci_archive",
    "pause_image",
]

PAUSE_IMAGE = "localhost/statuswatch/pause:1"
BUSYBOX_IMAGE = "localhost/statuswatch/busybox:1"
# The same files under another config: a second version to roll a Deployment out to.
BUSYBOX_IMAGE_V2 = "localhost/statuswatch/busybox:2"
# A registry on a closed loopback port: the pull fails at once, without a name lookup or outside traffic.
UNPULLABLE_IMAGE = "127.0.0.1:9/none:1"

_LAYER = "application/vnd.oci.image.layer.v1.tar"
_CONFIG = "application/vnd.oci.image.config.v1+json"
_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_INDEX = "application/vnd.oci.image.index.v1+json"
_MTIME = 1_700_000_000  # fixed, for reproducible digests


@dataclass(frozen=True)
class Layer:
    """One filesystem layer: regular files (path -> (bytes, mode)), directories and symlinks."""

    files: Mapping[str, tuple[bytes, int]] = field(default_factory=dict)
    directories: Mapping[str, int] = field(default_factory=dict)  # path -> mode
    symlinks: Mapping[str, str] = field(default_factory=dict)  # path -> target

    def tar(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
            entries: list[tuple[str, tarfile.TarInfo, bytes | None]] = []
            for path, mode in self.directories.items():
                info = tarfile.TarInfo(path.strip("/"))
                info.type, info.mode = tarfile.DIRTYPE, mode
                entries.append((info.name, info, None))
            for path, (data, mode) in self.files.items():
                info = tarfile.TarInfo(path.strip("/"))
                info.size, info.mode = len(data), mode
                entries.append((info.name, info, data))
            for path, target in self.symlinks.items():
                info = tarfile.TarInfo(path.strip("/"))
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
                entries.append((info.name, info, None))
            for _, info, content in sorted(entries, key=lambda entry: entry[0]):
                info.mtime, info.uid, info.gid, info.uname, info.gname = _MTIME, 0, 0, "root", "root"
                archive.addfile(info, None if content is None else io.BytesIO(content))
        return buffer.getvalue()


@dataclass(frozen=True)
class Image:
    """An image reference and what it holds: layers and the runtime config (Entrypoint, Cmd, Env...)."""

    name: str
    layers: tuple[Layer, ...]
    config: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)


def _blob(data: bytes, media_type: str) -> tuple[dict[str, Any], bytes]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return {"mediaType": media_type, "digest": digest, "size": len(data)}, data


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def oci_archive(images: Iterable[Image]) -> bytes:
    """One OCI image layout tar holding ``images``, named for ``ctr images import``."""
    blobs: dict[str, bytes] = {}
    manifests = []
    for image in images:
        layers = [_blob(layer.tar(), _LAYER) for layer in image.layers]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {**image.config, "Labels": dict(image.labels)},
            "rootfs": {"type": "layers", "diff_ids": [descriptor["digest"] for descriptor, _ in layers]},
            "history": [{"created_by": "statuswatch.cluster.images"} for _ in layers],
        }
        config_descriptor, config_data = _blob(_json(config), _CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": _MANIFEST,
            "config": config_descriptor,
            "layers": [descriptor for descriptor, _ in layers],
        }
        manifest_descriptor, manifest_data = _blob(_json(manifest), _MANIFEST)
        for descriptor, data in [
            *layers,
            (config_descriptor, config_data),
            (manifest_descriptor, manifest_data),
        ]:
            blobs[descriptor["digest"]] = data
        manifests.append(
            {
                **manifest_descriptor,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": image.name,
                    "org.opencontainers.image.ref.name": image.name.rsplit(":", 1)[1],
                },
            }
        )
    index = {"schemaVersion": 2, "mediaType": _INDEX, "manifests": manifests}
    files = {
        "oci-layout": _json({"imageLayoutVersion": "1.0.0"}),
        "index.json": _json(index),
        **{f"blobs/sha256/{digest.removeprefix('sha256:')}": data for digest, data in blobs.items()},
    }
    return Layer(
        files={path: (data, 0o644) for path, data in files.items()},
        directories={"blobs": 0o755, "blobs/sha256": 0o755},
    ).tar()


def pause_image(pause_binary: Path) -> Image:
    """The pod sandbox image: a static ``/pause`` that sleeps until signalled."""
    layer = Layer(files={"pause": (pause_binary.read_bytes(), 0o755)})
    return Image(PAUSE_IMAGE, (layer,), {"Entrypoint": ["/pause"], "User": "65535:65535"})


def _applets(busybox: Path) -> list[str]:
    result = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not result.stdout.strip():
        raise ClusterError(f"`{busybox} --list` failed: {result.stderr.strip()}")
    return sorted({name for name in result.stdout.split() if name and "/" not in name} - {"busybox"})


def busybox_layer(busybox: Path) -> Layer:
    """busybox at /bin/busybox with a link per applet (sh, sleep, wget, ...), plus /tmp, /etc and /root."""
    links = {f"bin/{name}": "busybox" for name in _applets(busybox)}
    for name in ("sh", "sleep", "wget"):
        if f"bin/{name}" not in links:
            raise ClusterError(f"{busybox} has no {name} applet")
    etc = {
        "etc/passwd": (b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644),
        "etc/group": (b"root:x:0:\nnogroup:x:65534:\n", 0o644),
    }
    return Layer(
        files={"bin/busybox": (busybox.read_bytes(), 0o755), **etc},
        directories={**dict.fromkeys(("bin", "etc", "root", "usr", "var"), 493), "tmp": 0o1777},
        symlinks=links,
    )


def busybox_images(busybox: Path) -> list[Image]:
    """``localhost/statuswatch/busybox:1`` and ``:2`` (same files, another config: a new version)."""
    layer = busybox_layer(busybox)
    config = {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"}
    return [
        Image(BUSYBOX_IMAGE, (layer,), config, {"io.statuswatch.version": "1"}),
        Image(BUSYBOX_IMAGE_V2, (layer,), config, {"io.statuswatch.version": "2"}),
    ]
