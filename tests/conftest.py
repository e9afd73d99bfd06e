"""Shared fixtures: the CLI runner, a helper that runs `backprop` and parses its JSON, and the tally
of what each module tried (printed with -s). The hypothesis profiles are in profiles.py."""

from __future__ import annotations

import json
import sys

import profiles  # noqa: F401 (registers and loads the hypothesis profile)
import pytest
from checks import TALLY
from typer.testing import CliRunner

from backprop.cli.app import load_commands

app = load_commands()  # every command, as --help sees them


@pytest.fixture
def run():
    """run(*args, input=None) -> (exit_code, stdout, stderr) through Typer's runner."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None):
        result = runner.invoke(app, list(args), input=input)
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def run_json(run):
    """run_json(*args) -> (exit_code, parsed JSON from stdout) with --json added."""

    def invoke(*args: str, input: str | None = None):
        code, out, _ = run(*args, "--json", input=input)
        return code, json.loads(out)

    return invoke


@pytest.fixture(scope="module", autouse=True)
def report_tally(request):
    """After each test module, print what it tried (visible with -s), then start counting afresh."""
    yield
    if TALLY:
        counts = "".join(f"\n    {kind}: {count}" for kind, count in sorted(TALLY.items()))
        sys.stdout.write(f"\n[{request.module.__name__}] inputs tried:{counts}\n")
    TALLY.clear()
