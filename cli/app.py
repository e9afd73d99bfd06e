"""The `backprop` command: the Typer app, its error boundary, and the table of commands.

Each command is a module in cli/commands/ that defines `command` (the Typer function) and
`SETTINGS` (its app.command keywords). A run registers only the command it runs: Typer builds
every registered command's options at each start, and start-up time is measured (README,
Performance); --help and anything unknown register them all.
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import sys
from typing import Annotated

import typer
import typer.core
from typer._click import exceptions as click_exceptions  # typer 0.26-0.28 vendor click

from ..graph.errors import BackpropError, InputError
from .render.encoding import fit_streams
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
    "diff": "diff",
    "hessian": "hessian",
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
        fit_streams()  # an output that cannot hold ∂ or → gets ASCII, not a failure halfway (cp1252)
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
        json_output = "--json" in words or (words[:1] == ["batch"] and _batch_jsonl(words))
        command = words[0] if words[:1] and words[0] in COMMANDS else None
        try:
            if command:  # defaults per course or project: cli/config.py
                options.setdefault("default_map", _configured())
            return super().main(words, *rest, standalone_mode=False, **options)
        except BackpropError as error:  # a bad setting in a file or the environment
            return _usage_error(error, json_output)
        except click_exceptions.NoArgsIsHelpError as failure:
            failure.show()  # `backprop` alone: the help
            return failure.exit_code
        except click_exceptions.UsageError as failure:
            hint = f"see backprop {command} --help" if command else "see backprop --help"
            return _usage_error(InputError(failure.format_message(), hint=hint), json_output)
        except typer.Abort:  # end of input at a prompt
            return 130
        except (OSError, _OutputClosed):
            raise  # the output rule, in main
        except MemoryError:  # outside a command's own boundary (cli/options.py): still a limit, exit 2
            from .options import out_of_memory_error

            return _usage_error(out_of_memory_error(), json_output)
        except Exception as failure:
            if os.environ.get("BACKPROP_TRACEBACK"):
                raise
            message, hint = print_internal_error(failure)
            if json_output:
                print_json(error_object("internal", message, None, None, hint))
            return EXIT_INTERNAL

    def format_help(self, ctx, formatter) -> None:
        """The commands in the table's order, then one example of each, verbatim."""
        firsts = [
            next((line for line in _examples(command.epilog) if f"backprop {name}" in line), None)
            for name, command in self.commands.items()
        ]
        examples = "\n".join(line for line in firsts if line)
        write_help(
            self,
            typer.core.TyperGroup,
            ctx,
            formatter,
            f"Examples (more in each command's --help):\n\n{examples}",
        )

    @staticmethod
    def options_by_command() -> dict[str, list[str]]:
        """Every command's long options, handed down through the context (cli/options.py)."""
        return options_by_command()

    def format_commands(self, ctx, formatter) -> None:
        """The plain (narrow) help's list of commands, each described in full: click would cut
        the descriptions to fit one line."""
        rows = [(name, command.get_short_help_str(limit=1000)) for name, command in self.commands.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # past here, click would turn it into exit 1
            raise _OutputClosed from None


class _Command(typer.core.TyperCommand):
    """A command whose --help fits any terminal and whose examples are printed as written."""

    def format_help(self, ctx, formatter) -> None:
        lines = _examples(self.epilog)
        write_help(self, typer.core.TyperCommand, ctx, formatter, "Examples:\n\n" + "\n\n".join(lines))


NARROW = 80
"""Below this many columns, help is click's plain layout: Rich's option table would cut option
names and metavars (`--max-n…`, `NAME=VAL` over `UE`), and the plain one loses nothing."""


def write_help(command, base: type, ctx, formatter, examples: str) -> None:
    """`base`'s help for `command` without its epilog, then `examples` verbatim: an example is one
    line however narrow the terminal (a shell command cut inside its quotes cannot be pasted)."""
    import shutil

    columns = shutil.get_terminal_size().columns
    epilog, mode, texts = command.epilog, command.rich_markup_mode, _help_texts(command)
    command.epilog = None
    pad = " " if columns >= NARROW else ""  # in line with Rich's panels, or with click's headings
    if columns >= NARROW:  # Rich reads help as markup: `backprop[plot]` would lose `[plot]`
        from rich.markup import escape

        for owner, text in texts:
            owner.help = escape(text)
    else:
        command.rich_markup_mode = None  # Typer's own switch to click's plain help
        formatter.width = max(columns - 2, 20)
        # each option's help on the lines below its name, the width of the terminal less 6
        formatter.write_dl = functools.partial(type(formatter).write_dl, formatter, col_max=2)
    try:
        base.format_help(command, ctx, formatter)
    finally:
        command.epilog, command.rich_markup_mode = epilog, mode
        for owner, text in texts:
            owner.help = text
    heading, _, lines = examples.partition("\n\n")
    if lines:
        body = "\n".join(f"{pad}  {line}" if line else "" for line in lines.splitlines())
        formatter.write(f"\n{pad}{heading}\n\n{body}\n")


def _help_texts(command) -> list[tuple[object, str]]:
    """(owner, help text) of a command and of its options, as written."""
    owners = [command, *command.params]
    return [(owner, owner.help) for owner in owners if getattr(owner, "help", None)]


def _examples(epilog: str | None) -> list[str]:
    """The lines of a command's EXAMPLES epilog but its heading, each stripped of its indent."""
    lines = (line.strip() for line in (epilog or "").splitlines())
    return [line for line in lines if line and line != "Examples:"]


def _configured() -> dict[str, dict] | None:
    """click's default_map: every command's --tol, --rows, --digits from the environment or a
    pyproject.toml (a command without one of those options ignores it); None when none is set."""
    from .config import defaults

    settings = defaults()
    return {name: settings for name in COMMANDS} if settings else None


def _usage_error(error: BackpropError, json_output: bool) -> int:
    """An error outside a command's own boundary, told as every error is; exit 2."""
    print_error(error, None)
    if json_output:
        print_json(error_json(error))
    return EXIT_USAGE


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
    add_completion=True,  # Typer's --install-completion and --show-completion (typer imports its machinery anyway)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


VERSION = "0.1.0"
"""The version when the package's metadata cannot be read (a source tree run without installing)."""


def version() -> str:
    """The installed package's version (pyproject.toml's), else VERSION."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed  # only for --version: it costs milliseconds

    try:
        return installed("backprop")
    except PackageNotFoundError:
        return VERSION


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"backprop {version()}\n")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Differentiate expressions: every node's value and gradient, by backpropagation."""


_registered: set[str] = set()


def _batch_jsonl(words: list[str]) -> bool:
    """True unless batch was asked for another --format than JSON Lines (an error is then one line too)."""
    for i, word in enumerate(words):
        if word.startswith("--format"):
            chosen = word.partition("=")[2] or (words[i + 1] if i + 1 < len(words) else "")
            return chosen.lower() == "jsonl"
    return True


def load_commands(names: list[str] | None = None) -> typer.Typer:
    """Register the commands named (every command when None) on `app`, in the table's order, and return it."""
    for name, module_name in COMMANDS.items():
        if (names is None or name in names) and name not in _registered:
            module = importlib.import_module(f"{__package__}.commands.{module_name}")
            app.command(name, cls=_Command, **module.SETTINGS)(module.command)
            _registered.add(name)
    return app


def options_by_command() -> dict[str, list[str]]:
    """Every long option (`--json`) → the commands that have it, in the table's order. Loads every
    command: only for the error of an option given to the wrong command."""
    found: dict[str, list[str]] = {}
    for name, command in typer.main.get_command(load_commands()).commands.items():
        for option in (option for param in command.params for option in param.opts):
            if option.startswith("--"):
                found.setdefault(option, []).append(name)
    return found


def main() -> None:
    """Entry point of the `backprop` console script."""
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command in ("--version", "-V"):
        load_commands([])  # the version alone: no command is loaded (start-up time)
    else:
        load_commands([command] if command in COMMANDS else None)
    app()
