"""The `backprop` command: the Typer app, its error boundary, and the table of commands.

Each command is a module in cli/commands/ that defines `command` (the Typer function) and
`SETTINGS` (its app.command keywords). A run registers only the command it runs: Typer builds
every registered command's options at each start, and start-up time is measured (README,
Performance); --help and anything unknown register them all.
"""

from __future__ import annotations

import importlib
import io
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
EXIT_IO = 74  # EX_IOERR of sysexits.h: the output could not be written (a full disk)
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process that SIGPIPE ended


class _Commands(typer.core.TyperGroup):
    """Typer's command group, with its usage errors (a bad option value, a missing one) told the
    way every other error is: a message on stderr, the JSON error object under --json, exit 2;
    a bug of ours told in two lines, exit 70, instead of a traceback; and the output rule: a
    reader that closes the pipe ends the run quietly with 141 (as SIGPIPE would), any other
    failure to write the output is one line on stderr and exit 74."""

    def main(self, args=None, *rest, standalone_mode: bool = True, **options):
        words = list(sys.argv[1:] if args is None else args)
        try:
            code = self._run(words, *rest, **options)
            sys.stdout.flush()  # a write that fails only when flushed is told here, not at exit
        except (BrokenPipeError, _OutputClosed):
            code = _quiet_broken_pipe()
        except OSError as failure:  # reading files is an InputError long before this
            sys.stderr.write(f"error: cannot write the output: {failure.strerror or failure}\n")
            code = EXIT_IO
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def _run(self, words: list[str], *rest, **options):
        json_output = "--json" in words or words[:1] == ["batch"]  # batch's output is always JSON Lines
        try:
            return super().main(words, *rest, standalone_mode=False, **options)
        except click_exceptions.NoArgsIsHelpError as failure:
            failure.show()  # `backprop` alone: the help
            return failure.exit_code
        except click_exceptions.UsageError as failure:
            error = InputError(failure.format_message(), hint="see backprop COMMAND --help")
            print_error(error, None)
            if json_output:
                print_json(error_json(error))
            return EXIT_USAGE
        except typer.Abort:  # end of input at a prompt
            return 130
        except (OSError, _OutputClosed):
            raise  # the output rule, in main
        except MemoryError:  # outside a command's own boundary (cli/options.py): still a limit, exit 2
            from .options import out_of_memory_error

            error = out_of_memory_error()
            print_error(error, None)
            if json_output:
                print_json(error_json(error))
            return EXIT_USAGE
        except Exception as failure:
            if os.environ.get("BACKPROP_TRACEBACK"):
                raise
            message, hint = print_internal_error(failure)
            if json_output:
                print_json(error_object("internal", message, None, None, hint))
            return EXIT_INTERNAL

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # past here, click would turn it into exit 1
            raise _OutputClosed from None


class _OutputClosed(Exception):
    """The reader of standard output went away: a broken pipe, carried past click's handling."""


def _quiet_broken_pipe() -> int:
    """The reader is gone: nothing more is said, and what is still buffered goes nowhere (else
    the interpreter's last flush would fail again on its way out)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # no file descriptor (a test's runner): nothing is flushed at exit either
    return EXIT_BROKEN_PIPE


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
