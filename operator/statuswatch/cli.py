"""The ``statuswatch`` command: one entry point whose subcommands live next to the layer they drive.

Subcommands are imported lazily so that ``statuswatch cluster ...`` does not pay for importing the
operator runtime, and a broken optional part cannot take the whole command down.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# subcommand name -> "module:attribute" of its click command
_SUBCOMMANDS: dict[str, str] = {
    "cluster": "statuswatch.cluster.commands:cluster",
    "demo": "statuswatch.demo_command:demo",
    "status": "statuswatch.status_command:status",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _SUBCOMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command: Any = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="statuswatch")
def main() -> None:
    """Tell whether Kubernetes resources have finished rolling out (kstatus rules)."""
