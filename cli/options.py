"""What every command that takes a program shares: its options, reading the program and the
values, and the error boundary where a BackpropError becomes a message, a JSON error object and
exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..graph.engine import Evaluation
    from ..graph.program import Program

from ..graph.errors import BackpropError, InputError
from ..graph.limits import MAX_ELEMENTS, MAX_NODES
from . import render
from .arguments import collect_values, parse_var_option, read_program, read_vars_file, split_arguments

EXIT_USAGE = 2

PROGRAM_COMMAND = {
    # `--NAME VALUE` pairs are not declared options: Typer hands them over in ctx.args.
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "options_metavar": "PROGRAM [--NAME VALUE]... [OPTIONS]",
}
"""Settings of a command that takes PROGRAM and --NAME VALUE inputs: @app.command(name, **PROGRAM_COMMAND)."""

Var = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="NAME=VALUE", help="An input value; repeatable. Also: --NAME VALUE."),
]
VarsFile = Annotated[
    Path | None, typer.Option("--vars", metavar="FILE", help='A JSON object of input values, {"a": 7}.')
]
Json = Annotated[bool, typer.Option("--json", help="Print one strict JSON object instead of text.")]
MaxNodes = Annotated[
    int, typer.Option("--max-nodes", metavar="N", help="Refuse programs of more nodes than this.")
]
MaxElements = Annotated[
    int, typer.Option("--max-elements", metavar="N", help="Refuse tensors of more elements than this.")
]


class Limits:
    """The resource limits a command runs under (graph/limits.py has the defaults)."""

    def __init__(self, max_nodes: int = MAX_NODES, max_elements: int = MAX_ELEMENTS) -> None:
        for option, value in (("--max-nodes", max_nodes), ("--max-elements", max_elements)):
            if value < 1:
                raise InputError(f"{option} must be at least 1, not {value}")
        self.max_nodes, self.max_elements = max_nodes, max_elements


def parse_program(source: str, limits: Limits) -> Program:
    """Parse a program under the limits."""
    from ..parser import parse

    program = parse(source, max_nodes=limits.max_nodes)
    program.max_elements = limits.max_elements
    return program


def read_inputs(
    ctx: typer.Context, var: list[str] | None, vars_file: Path | None
) -> tuple[str, dict[str, float]]:
    """The program text and the input values, from the words Typer left over, --var and --vars."""
    options = tuple(name for param in ctx.command.params for name in param.opts if name.startswith("--"))
    program_arg, pairs = split_arguments(ctx.args, options)
    source = read_program(program_arg)
    given = [*pairs, *(parse_var_option(item) for item in var or [])]
    if vars_file is not None:
        given += read_vars_file(vars_file)
    return source, collect_values(given)


def evaluate_program(
    program: str | Program, values: dict[str, float], limits: Limits | None = None
) -> Evaluation:
    """Evaluate a program (text or parsed) at the values, warning about values it never uses."""
    from .. import evaluate

    if isinstance(program, str):
        program = parse_program(program, limits or Limits())
    evaluation = evaluate(program, values)
    for name in values:
        if name not in program.inputs:
            render.warn(f"{name} is given a value but the program never uses it")
    return evaluation


class Shown:
    """What the error message may quote: the program text, once it has been read."""

    def __init__(self) -> None:
        self.source: str | None = None


@contextmanager
def exit_on_error(json_output: bool = False) -> Iterator[Shown]:
    """Run a command's work; a BackpropError prints its message (and the JSON error) and exits 2."""
    shown = Shown()
    try:
        yield shown
    except BackpropError as error:
        render.print_error(error, shown.source)
        if json_output:
            render.print_json(render.error_json(error))
        raise typer.Exit(EXIT_USAGE) from None
