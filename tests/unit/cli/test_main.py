"""The ``statuswatch`` group: every subcommand is listed, and one that cannot be imported is reported."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import statuswatch.cli
from statuswatch.cli import SUBCOMMANDS, main
from statuswatch.cli.demo import sample_manifests
from statuswatch.cli.exits import EXIT_DONE, EXIT_FAILED, EXIT_TIMEOUT, EXIT_USAGE


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(main, ["--help"])

    assert result.exit_code == EXIT_DONE, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"cluster", "compute", "demo", "rules", "run", "status"} == set(SUBCOMMANDS)


def test_a_subcommand_that_cannot_be_imported_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(statuswatch.cli.SUBCOMMANDS, "broken", "statuswatch.cli.no_such_module:broken")
    runner = CliRunner()

    listing = runner.invoke(main, ["--help"])
    ran = runner.invoke(main, ["broken", "--some-flag"])
    others = runner.invoke(main, ["status", "--help"])

    assert listing.exit_code == EXIT_DONE
    assert "broken" in listing.output
    assert "unavailable: ModuleNotFoundError" in listing.output
    assert ran.exit_code == EXIT_FAILED
    assert "the 'broken' command cannot be loaded" in ran.output
    assert "statuswatch.cli.no_such_module" in ran.output
    assert others.exit_code == EXIT_DONE


def test_an_attribute_that_is_not_a_command_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(statuswatch.cli.SUBCOMMANDS, "odd", "statuswatch.cli.exits:EXIT_DONE")

    ran = CliRunner().invoke(main, ["odd"])

    assert ran.exit_code == EXIT_FAILED
    assert "EXIT_DONE is not a click command" in ran.output


def test_exit_codes_are_distinct() -> None:
    assert len({EXIT_DONE, EXIT_TIMEOUT, EXIT_USAGE, EXIT_FAILED}) == 4
    assert EXIT_USAGE == 2  # the code click itself uses for usage errors


def test_status_refuses_a_bad_duration_as_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["status", "deploy/web", "--timeout", "5x"])

    assert result.exit_code == EXIT_USAGE
    assert "invalid duration '5x'" in result.output


def test_bundled_samples_are_found_as_package_data() -> None:
    with sample_manifests("demo") as path:
        names = sorted(p.name for p in path.iterdir())

    assert "20-deployment.yaml" in names
    assert all(name.endswith(".yaml") for name in names)


def test_an_unknown_sample_set_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no sample set 'nope'"), sample_manifests("nope"):
        pass
