"""The operator's resident memory starts with what it imports: heavy packages it rarely needs stay unloaded.

Each package named here costs tens of MiB of RSS once imported (measured with ``/proc/self/status``); the
operator's memory goal (issue 11) cannot be met with them loaded at start.
"""

from __future__ import annotations

import subprocess
import sys

#: ``cel`` is imported only when a health check is compiled (``common-expression-language``: ~30 MiB).
#: ``kubernetes`` and ``pykube`` are not dependencies (the official client's models: ~35 MiB), yet kopf
#: imports both whenever they are installed, so a leftover dependency on either would show here.
LAZY = ("cel", "kubernetes", "pykube")


def test_starting_the_operator_does_not_import_heavy_packages() -> None:
    probe = (
        "import sys\n"
        "import statuswatch.cli.run, statuswatch.controller.runner, statuswatch.controller.handlers\n"
        f"print(','.join(name for name in {LAZY!r} if name in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
