"""backprop: parse a program, evaluate it, and get every node's value and gradient.

>>> from backprop import evaluate
>>> evaluate("(a + b) * c", a=7, b=3, c=2).gradients
{'a': 2.0, 'b': 2.0, 'c': 10.0}

This is the package face, and what the command line uses too: `parse` is the one way text
becomes a Program. The floors beside this folder hold the rest: graph/ (the ops, the tape, the
engine and the reports computed from an evaluation), parser/ (text → tape) and cli/ (the command).
"""

from __future__ import annotations

from collections.abc import Mapping

from .graph.engine import Evaluation, NodeResult, evaluate_given
from .graph.errors import (
    ArityError,
    BackpropError,
    DomainError,
    InputError,
    LimitError,
    NameError_,
    ParseError,
    ShapeError,
)
from .graph.program import Program
from .graph.values import as_value
from .parser import parse

__version__ = "0.1.0"

__all__ = [
    "ArityError",
    "BackpropError",
    "DomainError",
    "Evaluation",
    "InputError",
    "LimitError",
    "NameError_",
    "NodeResult",
    "ParseError",
    "Program",
    "ShapeError",
    "evaluate",
    "parse",
]


def evaluate(program: str | Program, values: Mapping[str, object] | None = None, /, **named) -> Evaluation:
    """Evaluate a program (text or parsed) at the given input values; returns values and gradients.

    Values may be given as a mapping, as keyword arguments, or both: a number, or nested
    lists/tuples of numbers or a NumPy array (held as a float64 array). Raises a BackpropError kind
    (with line and column) for anything wrong with the program or the values.
    """
    if isinstance(program, str):
        program = parse(program)
    given = {**(values or {}), **named}
    evaluation, _unused = evaluate_given(
        program, {name: as_value(name, value) for name, value in given.items()}
    )
    return evaluation
