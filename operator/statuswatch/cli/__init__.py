"""The ``statuswatch`` command: one entry point, one module per subcommand in this package.

Subcommands are imported lazily so that ``statuswatch cluster ...`` does not pay for importing the
operator runtime, and a subcommand that cannot be imported (a missing optional part, a broken install) is
reported when it is asked for instead of taking ``statuswatch --help`` and every other subcommand down.
This package is the only place that imports click and rich.
"""

from __future__ import annotations

import importlib

import click

from statuswatch.cli.exits import EXIT_FAILED

__all__ = ["SUBCOMMANDS", "LazyGroup", "load_subcommand", "main"]

#: subcommand name -> "module:attribute" of its click command
SUBCOMMANDS: dict[str, str] = {
    "cluster": "statuswatch.cli.cluster:cluster",
    "compute": "statuswatch.cli.compute:compute",
    "demo": "statuswatch.cli.demo:demo",
    "rules": "statuswatch.cli.rules:rules",
    "run": "statuswatch.cli.run:run",
    "status": "statuswatch.cli.status:status",
}


def _unavailable(name: str, target: str, error: Exception) -> click.Command:
    """A stand-in that lists the subcommand as unavailable and, when run, says why and fails."""
    reason = f"{type(error).__name__}: {error}"

    def explain() -> None:
        click.echo(f"error: the {name!r} command cannot be loaded from {target}: {reason}", err=True)
        raise SystemExit(EXIT_FAILED)

    return click.Command(
        name,
        callback=explain,
        help=f"(unavailable: {reason})",
        short_help=f"(unavailable: {reason})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def load_subcommand(name: str, target: str) -> click.Command:
    """Import ``module:attribute`` and return that click command, or a stand-in that reports the failure."""
    module_name, _, attribute = target.partition(":")
    try:
        command = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # any import failure is reported by the stand-in, never fatal here
        return _unavailable(name, target, error)
    if not isinstance(command, click.Command):
        return _unavailable(name, target, TypeError(f"{attribute} is not a click command"))
    return command


class LazyGroup(click.Group):
    """A group whose subcommands (``subcommands()``: name -> "module:attribute") are imported on demand."""

    def subcommands(self) -> dict[str, str]:
        return SUBCOMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.subcommands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.subcommands().get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        return load_subcommand(cmd_name, target)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="statuswatch")
def main() -> None:
    """Tell whether Kubernetes resources have finished rolling out (kstatus rules)."""
