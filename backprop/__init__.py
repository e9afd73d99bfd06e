"""backprop: parse a program, evaluate it, and get every node's value and gradient.

>>> from backprop import evaluate
>>> evaluate("(a + b) * c", a=7, b=3, c=2).gradients
{'a': 2.0, 'b': 2.0, 'c': 10.0}

This is the package face, and what the command line uses too: `parse` is the one way text
becomes a Program. The floors beside this folder hold the rest: graph/ (the ops, the tape, the
engine and the reports computed from an evaluation), parser/ (text → tape) and cli/ (the command).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from .graph.engine import Evaluation, NodeResult, evaluate_given
from .graph.errors import (
    ArityError,
    BackpropError,
    DomainError,
    InputError,
    LimitError,
    NameError_,
    NamingError,
    ParseError,
    ShapeError,
)
from .graph.limits import MAX_ELEMENTS, MAX_NODES
from .graph.program import Program
from .graph.values import as_value
from .parser import parse as parse_text

__version__ = "0.1.0"

__all__ = [
    "ArityError",
    "BackpropError",
    "DomainError",
    "Evaluation",
    "InputError",
    "LimitError",
    "NameError_",
    "NamingError",
    "NodeResult",
    "ParseError",
    "Program",
    "ShapeError",
    "UnusedInputWarning",
    "check",
    "evaluate",
    "parse",
    "to_dot",
    "trace",
]


class UnusedInputWarning(UserWarning):
    """A value was given for a name the program never uses (a typo, most often)."""


@contextmanager
def _library_advice() -> Iterator[None]:
    """An error's fix said for a Python caller (`evaluate(a=…)`, `parse(text, max_nodes=…)`)
    rather than with the command's options."""
    try:
        yield
    except BackpropError as error:
        if error.library_hint:
            error.hint = error.library_hint
        raise


def parse(
    text: str, *, max_nodes: int = MAX_NODES, max_elements: int = MAX_ELEMENTS, max_memory: int | None = None
) -> Program:
    """Parse program text into a Program, parsed once and evaluated at many points; the limits
    refuse more nodes than `max_nodes`, a tensor of more than `max_elements` elements, or a run
    of more than `max_memory` bytes (default: a quarter of this machine's memory)."""
    with _library_advice():
        return parse_text(text, max_nodes=max_nodes, max_elements=max_elements, max_memory=max_memory)


def evaluate(
    program: str | Program,
    values: Mapping[str, object] | None = None,
    /,
    *,
    wrt: Iterable[str] | None = None,
    **named,
) -> Evaluation:
    """Evaluate a program (text or parsed) at the given input values; returns values and gradients.

    Values may be given as a mapping, as keyword arguments, or both: a number, or nested
    lists/tuples of numbers or a NumPy array (held as a float64 array; one that is float64 already
    is used, not copied). `wrt`: compute the gradients of these inputs only (`wrt=["w"]`: X and y's
    are skipped, and the nodes only they flow into get none); an input named wrt goes in the mapping.
    Raises a BackpropError kind (with line and column) for anything wrong with the program or the values.
    """
    if isinstance(program, str):
        program = parse(program)
    given = {**(values or {}), **named}
    with _library_advice():
        evaluation, unused = evaluate_given(
            program,
            {name: as_value(name, value) for name, value in given.items()},
            wrt=[wrt] if isinstance(wrt, str) else wrt,
            checked=True,
        )
    for name in unused:
        import warnings

        warnings.warn(
            f"{name} is given a value but the program never uses it", UnusedInputWarning, stacklevel=2
        )
    return evaluation


def check(
    evaluation: Evaluation, *, eps: float | None = None, tol: float | None = None, samples: int | None = None
):
    """The gradient check of an evaluation: every input's gradient against central differences
    (`backprop eval --check`); returns a CheckReport (`.passed`, `.inputs`)."""
    from .graph.check import gradient_check
    from .graph.limits import DEFAULT_EPS, DEFAULT_SAMPLES, DEFAULT_TOL

    return gradient_check(
        evaluation,
        eps=DEFAULT_EPS if eps is None else eps,
        tol=DEFAULT_TOL if tol is None else tol,
        samples=DEFAULT_SAMPLES if samples is None else samples,
    )


def trace(evaluation: Evaluation):
    """The forward and backward steps of an evaluation as data (`backprop trace`): a Trace with
    `.forward` and `.backward` steps, each with the numbers and the lecture's text."""
    from .graph.trace import trace as steps

    return steps(evaluation)


def to_dot(evaluation: Evaluation | Program) -> str:
    """The graph in Graphviz's DOT language (`backprop graph`), with values and gradients when
    given an evaluation; render it with graphviz.Source(text) or `dot -Tsvg`."""
    from .cli.render.drawing import dot_text

    if isinstance(evaluation, Program):
        return dot_text(evaluation, None, evaluation.source)
    return dot_text(evaluation.program, evaluation, evaluation.program.source)
