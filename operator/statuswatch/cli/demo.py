"""``statuswatch demo``: the main job on the embedded default, end to end, in one command.

Starts the local control plane (idempotent), installs the StatusWatch CRD and the operator's RBAC from the
shipped manifests, starts the operator in the background under its own ServiceAccount (never as the admin),
applies the sample application together with a StatusWatch for it (afresh: an existing ``demo`` namespace is
deleted first, so there is a rollout to follow), follows the StatusWatch's status live until
``kubectl wait --for=condition=AllCurrent`` succeeds, and shows ``kubectl get statuswatches``. The cluster and
the operator are left running, with words on how to use and stop them (``statuswatch demo --stop``).

The manifests are package data (``statuswatch.manifests``, a link to ``config/`` in the source tree, the one
copy kustomize and the docs use), found with importlib.resources so the demo works from a wheel too.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console

from statuswatch.cli.exits import EXIT_DONE, EXIT_FAILED, EXIT_TIMEOUT
from statuswatch.durations import parse_duration

__all__ = ["MANIFESTS_PACKAGE", "demo", "manifests", "sample_manifests"]

#: the data package that holds the manifests (``config/`` in the source tree: crd, rbac, samples, ...)
MANIFESTS_PACKAGE = "statuswatch.manifests"


@contextlib.contextmanager
def manifests() -> Iterator[Path]:
    """The shipped ``config/`` directory on disk (CRD, RBAC, manager, samples)."""
    source = resources.files("statuswatch") / "manifests"
    if not source.is_dir():
        raise FileNotFoundError(f"no {MANIFESTS_PACKAGE} package data: the installation is incomplete")
    with resources.as_file(source) as path:
        yield path


@contextlib.contextmanager
def sample_manifests(name: str = "demo") -> Iterator[Path]:
    """A directory on disk holding the sample set ``name`` (e.g. ``demo``), for ``kubectl apply -f``."""
    source = resources.files("statuswatch") / "manifests" / "samples" / name
    if not source.is_dir():
        raise FileNotFoundError(f"no sample set {name!r} in the {MANIFESTS_PACKAGE} package data")
    with resources.as_file(source) as path:
        yield path


@click.command("demo")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), help="Local cluster directory."
)
@click.option("--timeout", default="5m", show_default=True, help="Give up waiting after this long.")
@click.option("--stop", is_flag=True, help="Stop the demo's operator and the local control plane, then exit.")
@click.option(
    "--real-node",
    is_flag=True,
    help="Run the app in real containers on the cluster's real node (root), starting with a broken image.",
)
def demo(directory: Path | None, timeout: str, stop: bool, real_node: bool) -> None:
    """Start the local control plane and the operator, deploy a sample app with a StatusWatch, follow it."""
    try:
        limit = parse_duration(timeout, bare_seconds=True)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--timeout") from error
    if stop:
        sys.exit(_stop(directory))
    with contextlib.ExitStack() as stack:
        try:
            config = stack.enter_context(manifests())
        except FileNotFoundError as error:  # a broken install: the package data is missing
            Console(stderr=True).print(f"[red]error:[/] {error}")
            sys.exit(EXIT_FAILED)
        code = _demo(directory, config, limit, real_node=real_node)
    sys.exit(code)


def _stop(directory: Path | None) -> int:
    from statuswatch.cluster import ClusterError, LocalCluster
    from statuswatch.cluster.operator_install import LocalOperator

    console = Console(stderr=True, log_path=False)
    local = LocalCluster(directory)
    if LocalOperator(local.directory).stop():
        console.print("stopped the operator")
    try:
        local.down()
    except ClusterError as error:
        console.print(f"[red]error:[/] {error}")
        return EXIT_FAILED
    console.print(f"stopped the local control plane (its data stays in {local.directory})")
    return EXIT_DONE


def _demo(directory: Path | None, config: Path, limit: timedelta, *, real_node: bool = False) -> int:
    from statuswatch.cluster import ClusterError, LocalCluster
    from statuswatch.cluster.operator_install import LocalOperator, install_operator

    console = Console(stderr=True, log_path=False)
    local = LocalCluster(directory)
    operator = LocalOperator(local.directory)
    samples = config / "samples" / "demo"
    try:
        if real_node:
            from statuswatch.cluster.build import build_node

            with console.status("building the real node's kubelet and containerd (cached)…"):
                build_node(say=lambda text: console.log(text))
        with console.status("starting the local control plane…"):
            local.up(say=lambda text: console.log(text), real_node=real_node)
        with console.status("installing the operator…"):
            kubeconfig = install_operator(local, config, say=lambda text: console.log(text))
        with console.status("starting the operator under its ServiceAccount…"):
            port = operator.start(kubeconfig)
        console.log(f"operator running (pid {operator.pid()}, log {operator.log_file}, metrics :{port})")
        namespace = local.kubectl("get", "namespace", "demo", "--ignore-not-found", "-o", "name").stdout
        if namespace.strip():
            with console.status("deleting the previous demo namespace…"):
                local.kubectl("delete", "namespace", "demo", "--wait=true", "--timeout=180s", timeout=200)
        if real_node:
            code = _real_node_rollout(local, console, samples, limit)
        else:
            applied = local.kubectl("apply", "-f", str(samples)).stdout
            console.print(applied.rstrip(), highlight=False)
            code = _follow(local, console, limit)
        if code == EXIT_DONE:
            waited = local.kubectl(
                "wait", "--for=condition=AllCurrent", "statuswatch/demo", "-n", "demo", "--timeout=10s"
            )
            console.print(
                f"\n$ kubectl wait --for=condition=AllCurrent statuswatch/demo -n demo\n{waited.stdout}"
            )
            listed = local.kubectl("get", "statuswatches", "-n", "demo").stdout
            console.print(f"$ kubectl get statuswatches -n demo\n{listed}", highlight=False)
    except ClusterError as error:
        console.print(f"[red]error:[/] {error}")
        return EXIT_FAILED
    console.print(
        "the cluster and the operator keep running. Try:\n"
        f'  eval "$(statuswatch cluster env --dir {local.directory})"\n'
        "  kubectl get statuswatches -A          # or: kubectl describe statuswatch demo -n demo\n"
        "  kubectl scale deploy/web -n demo --replicas=5 && kubectl get sw demo -n demo -w\n"
        f"operator log: {operator.log_file}\n"
        f"stop everything: statuswatch demo --stop{_dir_flag(directory)}",
        soft_wrap=True,
        highlight=False,
    )
    return code


def _real_node_rollout(local: Any, console: Console, samples: Path, limit: timedelta) -> int:
    """The sample app in real containers: first with an image that cannot be pulled, shown as the
    StatusWatch's reason, then fixed, followed until AllCurrent."""
    from statuswatch.cluster.images import UNPULLABLE_IMAGE
    from statuswatch.cluster.realnode import on_real_node

    documents = [
        on_real_node(document)
        for path in sorted(samples.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]
    broken = [_with_web_image(document, UNPULLABLE_IMAGE) for document in documents]
    applied = local.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(broken)).stdout
    console.print(applied.rstrip(), highlight=False)
    console.print(f"[bold]deployment/web runs image {UNPULLABLE_IMAGE}, which cannot be pulled[/]")
    if (
        _follow(local, console, limit, until_reason=("web", ("ErrImagePull", "ImagePullBackOff")))
        != EXIT_DONE
    ):
        return EXIT_TIMEOUT
    console.print("[bold]fixing deployment/web's image[/]")
    local.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
    return _follow(local, console, limit)


def _with_web_image(document: dict[str, Any], image: str) -> dict[str, Any]:
    if document.get("kind") != "Deployment" or document["metadata"]["name"] != "web":
        return document
    spec = json.loads(json.dumps(document))
    for entry in spec["spec"]["template"]["spec"]["containers"]:
        entry["image"] = image
    return dict(spec)


def _dir_flag(directory: Path | None) -> str:
    return f" --dir {directory}" if directory is not None else ""


def _follow(
    local: Any, console: Console, limit: timedelta, until_reason: tuple[str, tuple[str, ...]] | None = None
) -> int:
    """Print the StatusWatch's progress as the operator writes it, until AllCurrent (or the time limit);
    with ``until_reason`` (member name, reasons) until that member shows one of those reasons instead."""
    deadline = time.monotonic() + (limit.total_seconds() or float("inf"))
    last = None
    while time.monotonic() < deadline:
        found = local.kubectl("get", "statuswatch", "demo", "-n", "demo", "-o", "json", check=False)
        status = (json.loads(found.stdout).get("status") or {}) if found.returncode == 0 else {}
        conditions = {c.get("type"): c for c in status.get("conditions") or []}
        all_current = conditions.get("AllCurrent") or {}
        line = (status.get("aggregateStatus"), status.get("progress"), all_current.get("message"))
        if status.get("aggregateStatus") and line != last:
            last = line
            console.print(
                f"statuswatch/demo {line[0]} {line[1]}: {line[2] or ''}", highlight=False, soft_wrap=True
            )
        if until_reason is not None:
            name, reasons = until_reason
            for entry in status.get("resources") or []:
                if entry.get("name") == name and entry.get("reason") in reasons:
                    shown = f"[bold]{entry.get('kind')}/{name} reason: {entry['reason']}[/]"
                    console.print(f"{shown} ({entry.get('message')})", highlight=False, soft_wrap=True)
                    return EXIT_DONE
        elif all_current.get("status") == "True":
            return EXIT_DONE
        time.sleep(0.5)
    console.print(f"[red]timed out[/] after {limit}: the StatusWatch is not AllCurrent")
    return EXIT_TIMEOUT
