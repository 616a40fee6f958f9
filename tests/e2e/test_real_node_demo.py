"""``statuswatch demo --real-node`` as a user runs it: the sample app in real containers, the broken image
named as the StatusWatch's reason before the fix, then AllCurrent; ``demo --stop`` gives the host back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from statuswatch.cluster.build import build_node, node_is_built
from statuswatch.cluster.host import slot_of

pytestmark = [pytest.mark.real_node, pytest.mark.timeout(600)]


def test_demo_on_the_real_node_shows_the_broken_image_then_rolls_out(tmp_path: Path) -> None:
    if not node_is_built():
        build_node(say=lambda line: print(line, file=sys.__stderr__, flush=True))
    directory = tmp_path / "demo"
    command = [sys.executable, "-m", "statuswatch", "demo", "--real-node", "--dir", str(directory)]
    try:
        ran = subprocess.run(
            [*command, "--timeout", "5m"], capture_output=True, text=True, timeout=540, check=False
        )
        output = ran.stdout + ran.stderr
        print(output)
        assert ran.returncode == 0, output
        lines = output.splitlines()
        reason = next(i for i, line in enumerate(lines) if line.startswith("Deployment/web reason: "))
        assert "ErrImagePull" in lines[reason] or "ImagePullBackOff" in lines[reason], lines[reason]
        fixed = lines.index("fixing deployment/web's image")
        current = next(
            i for i, line in enumerate(lines) if "Current 6/6: All 6 resources are Current" in line
        )
        assert reason < fixed < current
        assert "statuswatch.statuswatch.io/demo condition met" in output
        assert slot_of(directory) is not None
    finally:
        stopped = subprocess.run(
            [*command[:3], "demo", "--stop", "--dir", str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert slot_of(directory) is None
