"""``kubectl-statuswatch``: the plugin's name, its subcommands, and the flags that pick the cluster."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from click.testing import CliRunner

from statuswatch.cli.exits import EXIT_DONE, EXIT_FAILED
from statuswatch.cli.plugin import PLUGIN_NAME, PLUGIN_SUBCOMMANDS, plugin

ROOT = Path(__file__).resolve().parents[3]


def test_the_package_installs_the_plugin_under_kubectls_naming() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]

    assert scripts["kubectl-statuswatch"] == "statuswatch.cli.plugin:main"


def test_help_names_the_plugin_as_users_type_it_and_lists_status() -> None:
    result = CliRunner().invoke(plugin, ["--help"], prog_name=PLUGIN_NAME)

    assert result.exit_code == EXIT_DONE, result.output
    assert result.output.startswith("Usage: kubectl statuswatch [OPTIONS] COMMAND")
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"status"} == set(PLUGIN_SUBCOMMANDS)


def test_status_takes_kubectls_cluster_flags() -> None:
    result = CliRunner().invoke(plugin, ["status", "--help"], prog_name=PLUGIN_NAME)

    assert result.exit_code == EXIT_DONE, result.output
    assert result.output.startswith("Usage: kubectl statuswatch status")
    for flag in ("--kubeconfig", "--context", "-n, --namespace"):
        assert flag in result.output


def test_context_picks_a_context_of_the_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "here",
            }
        )
    )

    result = CliRunner().invoke(
        plugin, ["status", "deploy/web", "--kubeconfig", str(kubeconfig), "--context", "elsewhere"]
    )

    assert result.exit_code == EXIT_FAILED
    assert "'elsewhere'" in result.output
