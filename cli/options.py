"""What every command that takes a program shares: PROGRAM with its `--NAME VALUE` inputs, --var,
--vars, --json and the limits, read once into a ProgramInputs; and the error boundary where a
BackpropError becomes a message, a JSON error object and exit code 2.

A command declares only its own options and says `@takes_program()`; the shared ones are added to
its signature here, so Typer lists them in every command's --help, and they are read and checked
before the command's body runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..graph.errors import BackpropError, InputError
from ..graph.limits import MAX_ELEMENTS, MAX_NODES
from .arguments import collect_values, parse_var_option, read_program, split_arguments
from .render.json import error_json, print_json
from .render.text import print_error, warn

if TYPE_CHECKING:
    from ..graph.engine import Evaluation
    from ..graph.program import Program

EXIT_USAGE = 2

PROGRAM_SETTINGS = {
    # `--NAME VALUE` pairs are not declared options: Typer hands them over in ctx.args.
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "options_metavar": "PROGRAM [--NAME VALUE]... [OPTIONS]",
}
"""app.command keywords of a command that takes PROGRAM and --NAME VALUE inputs."""

Json = Annotated[bool, typer.Option("--json", help="Print one strict JSON object instead of text.")]
MaxNodes = Annotated[
    int, typer.Option("--max-nodes", metavar="N", help="Refuse programs of more nodes than this.")
]
MaxElements = Annotated[
    int, typer.Option("--max-elements", metavar="N", help="Refuse tensors of more elements than this.")
]
Eps = Annotated[float, typer.Option(help="Relative step of the gradient check: h = eps·max(1, |x|).")]
_Var = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="NAME=VALUE", help="An input value; repeatable. Also: --NAME VALUE."),
]
_VarsFile = Annotated[
    Path | None, typer.Option("--vars", metavar="FILE", help='A JSON object of input values, {"a": 7}.')
]


def _option(name: str, annotation, default) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# The shared options, in the order --help lists them: the values first, the limits last.
_VALUES = (_option("var", _Var, None), _option("vars_file", _VarsFile, None))
_JSON = _option("json_output", Json, False)
_LIMITS = (_option("max_nodes", MaxNodes, MAX_NODES), _option("max_elements", MaxElements, MAX_ELEMENTS))
_CONTEXT = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)


def require_positive(*options: tuple[str, float]) -> None:
    """Each (option, value) must be a positive, finite number: --eps, --tol, --rows, …"""
    for option, value in options:
        if not 0 < value < float("inf"):
            raise InputError(f"{option} must be a positive, finite number, not {value}")


class Limits:
    """The resource limits a command runs under (graph/limits.py has the defaults)."""

    def __init__(self, max_nodes: int = MAX_NODES, max_elements: int = MAX_ELEMENTS) -> None:
        for option, value in (("--max-nodes", max_nodes), ("--max-elements", max_elements)):
            if value < 1:
                raise InputError(f"{option} must be at least 1, not {value}")
        self.max_nodes, self.max_elements = max_nodes, max_elements

    def parse(self, source: str) -> Program:
        """The program, parsed under these limits."""
        from backprop import parse

        return parse(source, max_nodes=self.max_nodes, max_elements=self.max_elements)


class ProgramInputs:
    """What a command was given: the program text, its input values (converted once), the limits
    and whether to print JSON. (A plain class: a dataclass costs start-up time, which is measured.)"""

    def __init__(self, source: str, values: dict[str, object], limits: Limits, json: bool) -> None:
        self.source, self.values, self.limits, self.json = source, values, limits, json

    def parse(self) -> Program:
        return self.limits.parse(self.source)

    def evaluate(self, program: Program | None = None) -> Evaluation:
        """Evaluate the program (parsed here unless given) at the values, warning about values it
        never uses."""
        from ..graph.engine import evaluate_given

        evaluation, unused = evaluate_given(self.parse() if program is None else program, self.values)
        for name in unused:
            warn(f"{name} is given a value but the program never uses it")
        return evaluation


def takes_program(*, json: bool = True) -> Callable:
    """Make `function(given: ProgramInputs, **own_options)` a command that takes PROGRAM, its
    `--NAME VALUE` inputs, --var, --vars, the limits and (with `json`) --json. Its body runs inside
    the error boundary; the program text, once read, is what an error's caret points into."""

    def decorate(function: Callable) -> Callable:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(function, eval_str=True).parameters.values()
            if p.name != "given"
        ]

        def command(ctx: typer.Context, **options) -> None:
            json_output = options.pop("json_output", False)
            shared = {name: options.pop(name) for name in ("var", "vars_file", "max_nodes", "max_elements")}
            with exit_on_error(json_output) as shown:
                shown.source, values = read_inputs(ctx, shared["var"], shared["vars_file"])
                limits = Limits(shared["max_nodes"], shared["max_elements"])
                function(ProgramInputs(shown.source, values, limits, json_output), **options)

        parameters = [_CONTEXT, *_VALUES, *([_JSON] if json else []), *own, *_LIMITS]
        command.__signature__ = inspect.Signature(parameters)  # what Typer reads
        command.__annotations__ = {}
        command.__name__, command.__doc__, command.__module__ = (
            function.__name__,
            function.__doc__,
            function.__module__,
        )
        return command

    return decorate


def read_inputs(
    ctx: typer.Context, var: list[str] | None, vars_file: Path | None
) -> tuple[str, dict[str, object]]:
    """The program text and the input values, from the words Typer left over, --var and --vars."""
    options = tuple(name for param in ctx.command.params for name in param.opts if name.startswith("--"))
    program_arg, pairs = split_arguments(ctx.args, options)
    source = read_program(program_arg)
    given = [*pairs, *(parse_var_option(item) for item in var or [])]
    if vars_file is not None:
        from .files import read_vars_file  # only when a file is given: start-up time matters

        given += read_vars_file(vars_file)
    return source, collect_values(given)


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
        print_error(error, shown.source)
        if json_output:
            print_json(error_json(error))
        raise typer.Exit(EXIT_USAGE) from None
