"""The `backprop` command: the Typer app, its error boundary, and the table of commands.

Each command is a module in cli/commands/ that defines `command` (the Typer function) and
`SETTINGS` (its app.command keywords). A run registers only the command it runs: Typer builds
every registered command's options at each start, and start-up time is measured (README,
Performance); --help and anything unknown register them all.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
import typer.core
from typer._click import exceptions as click_exceptions  # typer 0.26-0.28 vendor click

from ..graph.errors import InputError
from .render.json import error_json, error_object, print_json
from .render.text import print_error, print_internal_error

COMMANDS = {
    # command name → its module in cli/commands/, in the order --help lists them
    "eval": "eval",
    "trace": "trace",
    "graph": "graph",
    "paths": "paths",
    "batch": "batch",
    "minimize": "minimize",
}

EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE of sysexits.h: a bug in backprop, not in what the user gave


class _Commands(typer.core.TyperGroup):
    """Typer's command group, with its usage errors (a bad option value, a missing one) told the
    way every other error is: a message on stderr, the JSON error object under --json, exit 2;
    and a bug of ours told in two lines, exit 70, instead of a traceback."""

    def main(self, args=None, *rest, standalone_mode: bool = True, **options):
        words = list(sys.argv[1:] if args is None else args)
        json_output = "--json" in words or words[:1] == ["batch"]  # batch's output is always JSON Lines
        try:
            code = super().main(words, *rest, standalone_mode=False, **options)
        except click_exceptions.NoArgsIsHelpError as failure:
            failure.show()  # `backprop` alone: the help
            code = failure.exit_code
        except click_exceptions.UsageError as failure:
            error = InputError(failure.format_message(), hint="see backprop COMMAND --help")
            print_error(error, None)
            if json_output:
                print_json(error_json(error))
            code = EXIT_USAGE
        except typer.Abort:  # end of input at a prompt
            code = 130
        except Exception as failure:
            if os.environ.get("BACKPROP_TRACEBACK"):
                raise
            message, hint = print_internal_error(failure)
            if json_output:
                print_json(error_object("internal", message, None, None, hint))
            code = EXIT_INTERNAL
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_Commands,
    name="backprop",
    help="Differentiate expressions: every node's value and gradient, by backpropagation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """Differentiate expressions: every node's value and gradient, by backpropagation."""


_registered: set[str] = set()


def load_commands(names: list[str] | None = None) -> typer.Typer:
    """Register the commands named (every command when None) on `app`, in the table's order, and return it."""
    for name, module_name in COMMANDS.items():
        if (names is None or name in names) and name not in _registered:
            module = importlib.import_module(f"{__package__}.commands.{module_name}")
            app.command(name, **module.SETTINGS)(module.command)
            _registered.add(name)
    return app


def main() -> None:
    """Entry point of the `backprop` console script."""
    command = sys.argv[1] if len(sys.argv) > 1 else None
    load_commands([command] if command in COMMANDS else None)
    app()
