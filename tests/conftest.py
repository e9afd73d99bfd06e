"""Shared fixtures: the CLI runner and a helper that runs `backprop` and parses its JSON."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from backprop.cli.app import load_commands

app = load_commands()  # every command, as --help sees them

settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
