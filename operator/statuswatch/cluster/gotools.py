"""Go command-line tools that tests need besides the control plane (helm, promtool): pinned tags, built once.

Each is built with ``go install <package>@<tag>`` from the Go module proxy, which builds the module exactly
as its own go.mod says and checks every download against the checksum database, so a tag pins the
whole build (a module with replace or exclude directives cannot be built this way; pin one without). The
binary is cached under ``~/.cache/statuswatch/<name>/<tag>/`` like the control plane's, and replaced
atomically, so a half-built binary is never used. A cold build takes minutes; a warm one is a stat.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from statuswatch.cluster.build import go_env
from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.gotoolchain import find_go

__all__ = ["HELM", "PROMTOOL", "GoTool", "ensure_tool", "tool_path"]


@dataclass(frozen=True)
class GoTool:
    name: str
    package: str
    version: str
    #: build tags, e.g. to leave out parts the tests never use
    tags: str = ""
    #: linker flags beyond "-s -w", e.g. the version string a release build stamps in
    ldflags: str = ""
    #: what ``<tool> --version`` must print once built
    reports: str = ""


HELM = GoTool("helm", "helm.sh/helm/v3/cmd/helm", "v3.21.4")
# Prometheus v3.x is tagged v0.3xx.y in the module proxy (v0.316.0 is Prometheus 3.16.0; its go.mod has no
# replace directives, which `go install` refuses). remove_all_sd leaves out the service-discovery plugins
# (cloud SDKs), which promtool's rule checks and tests do not use.
PROMTOOL = GoTool(
    "promtool",
    "github.com/prometheus/prometheus/cmd/promtool",
    "v0.316.0",
    tags="remove_all_sd",
    ldflags="-X github.com/prometheus/common/version.Version=3.16.0",
    reports="version 3.16.0",
)


def tool_path(tool: GoTool) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "statuswatch" / tool.name / tool.version / tool.name


def ensure_tool(tool: GoTool, say: Callable[[str], None] = print, *, timeout: float = 1800) -> Path:
    """The cached binary of ``tool``, built first if it is not there yet."""
    target = tool_path(tool)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    go = find_go(say)
    say(f"building {tool.name} {tool.version} from the Go module proxy (once; minutes when cold)")
    args = [str(go), "install", f"-ldflags=-s -w {tool.ldflags}".strip()]
    if tool.tags:
        args.append(f"-tags={tool.tags}")
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        result = subprocess.run(
            [*args, f"{tool.package}@{tool.version}"],
            env={**go_env(), "GOBIN": scratch},
            timeout=timeout,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"building {tool.name} {tool.version} failed:\n{result.stderr[-3000:]}")
        built = Path(scratch) / tool.name
        if tool.reports:
            version = subprocess.run(
                [str(built), "--version"], capture_output=True, text=True, timeout=60, check=False
            )
            if tool.reports not in version.stdout + version.stderr:
                raise ClusterError(f"{built} --version says {version.stdout.strip()!r}, not {tool.reports}")
        os.replace(built, target)
    return target
