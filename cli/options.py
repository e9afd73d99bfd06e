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
from ..graph.values import MAX_DIGITS, SCALAR_DIGITS, set_digits
from .arguments import (
    Elsewhere,
    collect_values,
    is_name,
    mistyped_option,
    parse_var_option,
    read_program,
    split_arguments,
)
from .render.json import error_json, print_json
from .render.text import print_error, warn

if TYPE_CHECKING:
    from ..graph.engine import Evaluation
    from ..graph.program import Program

EXIT_USAGE = 2
MAX_TIMEOUT = 31_536_000  # a year: the interval timer takes no more than the platform's time_t

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
MaxMemory = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        metavar="SIZE",
        help="Refuse a run that would need more memory than this, judged before it starts: 2GB, 512MB, 1.5GiB (default: a quarter of this machine's memory).",
        show_default=False,
    ),
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Stop with a limit error after this many seconds.",
        show_default=False,
    ),
]
Digits = Annotated[
    int,
    typer.Option(
        "--digits",
        metavar="N",
        help="Significant digits of the numbers in tables and text (1 to 17); --json always has them all.",
    ),
]
DEFAULT_ROWS = 100
"""Up to this many nodes (--rows) eval's table shows every node; past it, see render/tables.py's
rows_to_show. Here, not there: eval --json would otherwise import the tables for one number."""

ROWS_HELP = (
    "Show every node of a program of up to N nodes; past N, N rows: the inputs, every named node and "
    "the output, then the steps just before each of them (--all shows every node)."
)
Eps = Annotated[float, typer.Option(help="Relative step of the gradient check: h = eps·max(1, |x|).")]
Var = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="NAME=VALUE", help="An input value; repeatable. Also: --NAME VALUE."),
]
VarsFile = Annotated[
    Path | None, typer.Option("--vars", metavar="FILE", help='A JSON object of input values, {"a": 7}.')
]


def _option(name: str, annotation, default) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# The shared options, in the order --help lists them: the values first, the limits last.
_VALUES = (_option("var", Var, None), _option("vars_file", VarsFile, None))
_JSON = _option("json_output", Json, False)
_DIGITS = _option("digits", Digits, SCALAR_DIGITS)
_LIMITS = (
    _option("max_nodes", MaxNodes, MAX_NODES),
    _option("max_elements", MaxElements, MAX_ELEMENTS),
    _option("max_memory", MaxMemory, None),
    _option("timeout", Timeout, None),
)
_SHARED = ("var", "vars_file", "max_nodes", "max_elements", "max_memory", "timeout")
_CONTEXT = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)


def require_positive(*options: tuple[str, float]) -> None:
    """Each (option, value) must be a positive, finite number: --eps, --tol, --rows, …"""
    for option, value in options:
        if not 0 < value < float("inf"):
            raise InputError(f"{option} must be a positive, finite number, not {value}")


class Limits:
    """The resource limits a command runs under (graph/limits.py has the defaults)."""

    def __init__(
        self,
        max_nodes: int = MAX_NODES,
        max_elements: int = MAX_ELEMENTS,
        max_memory: str | None = None,
        timeout: float | None = None,
    ) -> None:
        for option, value in (("--max-nodes", max_nodes), ("--max-elements", max_elements)):
            if value < 1:
                raise InputError(f"{option} must be at least 1, not {value}")
        if timeout is not None:
            require_positive(("--timeout", timeout))
            if timeout > MAX_TIMEOUT:
                raise InputError(
                    f"--timeout must be at most {MAX_TIMEOUT:,} seconds (a year), not {timeout:g}"
                )
        self.max_nodes, self.max_elements, self.timeout = max_nodes, max_elements, timeout
        self.max_memory = None if max_memory is None else _memory_option(max_memory)

    def parse(self, source: str) -> Program:
        """The program, parsed under these limits."""
        from ..parser import parse  # the command's own words for a fix (backprop.parse gives Python's)

        return parse(
            source, max_nodes=self.max_nodes, max_elements=self.max_elements, max_memory=self.max_memory
        )


def _memory_option(text: str) -> int:
    from ..graph.limits import read_size

    size = read_size(text)
    if not size:
        raise InputError(
            f"--max-memory takes a size such as 2GB, 512MB or 1.5GiB, not {text!r}",
            hint="units: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)",
        )
    return size


class ProgramInputs:
    """What a command was given: the program text, its input values (converted once), the limits
    and whether to print JSON. (A plain class: a dataclass costs start-up time, which is measured.)"""

    def __init__(
        self, source: str, values: dict[str, object], limits: Limits, json: bool, typed: Typed | None = None
    ) -> None:
        self.source, self.values, self.limits, self.json = source, values, limits, json
        self.typed = typed

    def parse(self) -> Program:
        """The program; a `--WORD VALUE` it has no input for that looks like an option is an error."""
        program = self.limits.parse(self.source)
        if self.typed is not None:
            self.typed.refuse_mistyped(program.inputs)
        return program

    def evaluate(
        self, program: Program | None = None, *, check: bool = False, tensor_output: bool = False, wrt=None
    ) -> Evaluation:
        """Evaluate the program (parsed here unless given) at the values, warning about values it
        never uses; `check`: the gradient check will run too (the memory judged counts it);
        `tensor_output`: a tensor output gives its values and no gradients instead of an error;
        `wrt`: the inputs whose gradients to compute (None: all)."""
        from ..graph.engine import evaluate_given

        program = self.parse() if program is None else program
        evaluation, unused = evaluate_given(
            program, self.values, check=check, tensor_output=tensor_output, wrt=wrt, checked=True
        )
        for name in unused:
            warn(f"{name} is given a value but the program never uses it")
        return evaluation


class Typed:
    """The `--NAME VALUE` words of a command line, kept to tell a misspelt option (`--tolerance`)
    from an input the program does not use."""

    def __init__(
        self, command: str, options: tuple[str, ...], names: list[str], elsewhere: Elsewhere | None
    ) -> None:
        self.command, self.options, self.names, self.elsewhere = command, options, names, elsewhere

    def refuse_mistyped(self, inputs, names: list[str] | None = None) -> None:
        """Raise for the first name (of `names`, else all) that is no input and is an option of
        another command or close to one of this command's; the program's inputs are always inputs."""
        elsewhere = None
        for name in self.names if names is None else names:
            if name in inputs:
                continue
            if elsewhere is None:  # the other commands' options: loaded only on this rare path
                elsewhere = self.elsewhere() if self.elsewhere is not None else {}
            error = mistyped_option(name, self.command, self.options, elsewhere)
            if error is not None:
                raise error


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
            shared = {name: options.pop(name) for name in _SHARED}
            digits = options.pop("digits")
            with exit_on_error(json_output) as shown, written_to(digits):
                limits = Limits(
                    shared["max_nodes"], shared["max_elements"], shared["max_memory"], shared["timeout"]
                )
                with deadline(limits.timeout):
                    shown.source, values, typed = read_inputs(ctx, shared["var"], shared["vars_file"], limits)
                    function(ProgramInputs(shown.source, values, limits, json_output, typed), **options)

        parameters = [_CONTEXT, *_VALUES, *([_JSON] if json else []), *own, _DIGITS, *_LIMITS]
        command.__signature__ = inspect.Signature(parameters)  # what Typer reads
        command.__annotations__ = {}
        command.__name__, command.__doc__, command.__module__ = (
            function.__name__,
            function.__doc__,
            function.__module__,
        )
        return command

    return decorate


@contextmanager
def written_to(digits: int) -> Iterator[None]:
    """Numbers in text to `digits` significant digits (--digits) for the command's run only."""
    if not 1 <= digits <= MAX_DIGITS:
        raise InputError(
            f"--digits must be from 1 to {MAX_DIGITS}, not {digits}",
            hint=f"a float64 has at most {MAX_DIGITS} significant digits; --json gives them all",
        )
    previous = set_digits(digits)
    try:
        yield
    finally:
        set_digits(previous)


def read_inputs(
    ctx: typer.Context, var: list[str] | None, vars_file: Path | None, limits: Limits
) -> tuple[str, dict[str, object], Typed]:
    """The program text, the input values and the `--NAME` words, from the words Typer left over,
    --var and --vars; value files are measured against the limits before they are parsed."""
    options = tuple(name for param in ctx.command.params for name in param.opts if name.startswith("--"))
    # the app's group hands down every command's options (cli/app.py), for the misplaced ones
    elsewhere = getattr(ctx.find_root().command, "options_by_command", None)
    program_arg, pairs = split_arguments(ctx.args, options, ctx.info_name or "", elsewhere)
    typed = Typed(ctx.info_name or "", options, [name for name, _, _ in pairs], elsewhere)
    typed.refuse_mistyped(inputs=(), names=[name for name in typed.names if not is_name(name)])
    source = read_program(program_arg)
    given = [*pairs, *(parse_var_option(item) for item in var or [])]
    if vars_file is not None:
        from .files import read_vars_file  # only when a file is given: start-up time matters

        given += read_vars_file(vars_file, max_memory=limits.max_memory)
    try:
        values = collect_values(given, max_elements=limits.max_elements, max_memory=limits.max_memory)
    except BackpropError:  # `--outptu out.npy`: told as the misspelt option it is, not as a bad value
        typed.refuse_mistyped(inputs=_inputs_of(source, limits))
        raise
    return source, values, typed


def _inputs_of(source: str, limits: Limits):
    """The program's inputs, for telling a misspelt option from an input (none if it does not parse)."""
    try:
        return limits.parse(source).inputs
    except BackpropError:
        return ()


class Shown:
    """What the error message may quote: the program text, once it has been read."""

    def __init__(self) -> None:
        self.source: str | None = None


@contextmanager
def exit_on_error(json_output: bool = False) -> Iterator[Shown]:
    """Run a command's work; a BackpropError, a passed --timeout (`deadline`) or a MemoryError
    prints its message (and the JSON error) and exits 2."""
    shown = Shown()
    try:
        yield shown
    except BackpropError as error:
        _stop(error, shown, json_output)
    except TimeUp as passed:
        _stop(timeout_error(passed.seconds), shown, json_output)
    except MemoryError:
        _stop(out_of_memory_error(), shown, json_output)


def _stop(error: BackpropError, shown: Shown, json_output: bool):
    print_error(error, shown.source)
    if json_output:
        print_json(error_json(error))
    raise typer.Exit(EXIT_USAGE) from None


RETRY = 0.1  # seconds between a timeout's signals, after the first (see deadline)


class TimeUp(BaseException):
    """--timeout has passed. A BaseException, so that no `except Exception` on the way swallows it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise TimeUp in this thread once `seconds` have passed (a C call, such as a large matrix
    product, finishes first); nothing when seconds is None."""
    import signal
    import time

    if seconds is None:
        yield
        return
    if not hasattr(signal, "setitimer"):
        raise InputError("--timeout needs a system with interval timers (Linux, macOS, BSD)")

    stopping = []  # not empty once the block is left: a late signal then does nothing

    def time_up(signum, frame):
        if not stopping:
            raise TimeUp(seconds)

    previous = signal.signal(signal.SIGALRM, time_up)
    started = time.monotonic()
    # Again every RETRY seconds until one lands: a TimeUp raised while a garbage collector's
    # callback runs is printed and dropped by the interpreter (met under hypothesis's callbacks).
    earlier, _ = signal.setitimer(signal.ITIMER_REAL, seconds, RETRY)
    try:
        yield
    finally:
        stopping.append(True)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier:  # a timer that was set before (a caller's own): put back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(earlier - (time.monotonic() - started), 1e-3))


def timeout_error(seconds: float) -> BackpropError:
    from ..graph.errors import LimitError

    return LimitError(
        f"the run took longer than --timeout {seconds:g} s and was stopped",
        hint="raise --timeout, or give a smaller program or smaller inputs",
    )


def out_of_memory_error() -> BackpropError:
    from ..graph.errors import LimitError

    return LimitError(
        "this machine ran out of memory for this run",
        hint="give smaller inputs, or set --max-memory below what the machine has so that the run is judged before it starts",
    )
