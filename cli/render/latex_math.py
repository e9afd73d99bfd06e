"""LaTeX notation from the graph: names (`W_{1}`, `\\alpha`), numbers (`1.5 \\times 10^{-7}`, `pmatrix`),
every op over its operands by the table OPS (`b^{3}`, `\\cdot`, `\\sigma`, `\\operatorname{relu}`, `\\frac{…}{…}`)
and every op's local derivatives by LOCALS; the program's text is never rewritten. latex.py writes
the write-ups with these.

An expression is a text and a precedence: an operand of lower precedence than its place needs is
bracketed, and so is a right operand (or a power's base) that starts with a minus sign.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...graph.ops import CONST, CONSTANTS
from ...graph.values import COMPACT_DIGITS, COMPACT_ELEMENTS, shape_text, summary, value_text

if TYPE_CHECKING:
    from ...graph.program import Program

ADD, MUL, NEG, POW, CALL, ATOM = 50, 60, 55, 90, 95, 100
EXPANDED = 120
"""An unnamed node's expression is written out in its users' up to this many characters; past it,
by its label (the table names every node), so that a deep program's texts stay small."""

GREEK = set(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon "
    "phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
)


# -- names and numbers ------------------------------------------------------------------------------


def latex_name(label: str) -> str:
    """A node's label in math: `x`, `W_{1}`, `\\alpha`, `\\mathit{yhat}`, `x_{\\mathit{hat}}`; a
    constant's label (its literal) as a number."""
    if re.fullmatch(r"-?[0-9.]+(?:[eE][-+]?[0-9]+)?", label):
        return latex_number_text(label)
    if label.lstrip("-") in CONSTANTS:
        return label.replace("pi", "\\pi")
    head, _, tail = label.partition("_")
    letters = re.fullmatch(r"([A-Za-z]+)([0-9]*)", head)
    if letters is None:
        return "\\mathit{" + label.replace("_", "\\_") + "}"
    word, digits = letters.groups()
    text = f"\\{word}" if word in GREEK else (word if len(word) == 1 else f"\\mathit{{{word}}}")
    below = ",".join(part for part in (digits, _subscript(tail)) if part)
    return f"{text}_{{{below}}}" if below else text


def _subscript(tail: str) -> str:
    if not tail:
        return ""
    return tail if tail.isdigit() else "\\mathit{" + tail.replace("_", "\\_") + "}"


def latex_number_text(text: str) -> str:
    """A number as value_text writes it, in math: `1.5e-07` → `1.5 \\times 10^{-7}`."""
    if text == "not finite":
        return "\\text{not finite}"
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


def latex_number(value, column: bool = False) -> str:
    """A value as the tables write it: a scalar to 6 digits; a small tensor as a `pmatrix` (a vector
    as a row, or with `column` as a column); a larger one as its shape and min, mean, max."""
    if isinstance(value, float):
        return latex_number_text(value_text(value))
    if value.ndim <= 2 and value.size <= COMPACT_ELEMENTS:
        rows = value.reshape(-1 if column else 1, 1 if column else -1) if value.ndim == 1 else value
        body = " \\\\ ".join(
            " & ".join(latex_number_text(f"{x + 0.0:.{COMPACT_DIGITS}g}") for x in row)
            for row in rows.tolist()
        )
        return f"\\begin{{pmatrix}} {body} \\end{{pmatrix}}"
    low, mean, high = (latex_number_text(f"{x + 0.0:.{COMPACT_DIGITS}g}") for x in summary(value))
    shape = shape_text(value)
    return f"\\text{{shape {shape}}},\\ \\min {low},\\ \\operatorname{{mean}} {mean},\\ \\max {high}"


def partial(of: str, by: str) -> str:
    """∂of/∂by, both already in math."""
    return f"\\frac{{\\partial {of}}}{{\\partial {by}}}"


# -- the op table: an op over its operands, each a (text, precedence) ------------------------------


def wrap(operand: tuple[str, int], least: int, signed: bool = True) -> str:
    """The operand's text, bracketed if its precedence is below `least` or (`signed`) it starts with -."""
    text, precedence = operand
    if precedence < least or (signed and text.startswith("-")):
        return f"\\left({text}\\right)"
    return text


def _call(command: str):
    def write(*operands):
        return f"{command}\\left({', '.join(text for text, _ in operands)}\\right)", CALL

    return write


def _infix(symbol: str, precedence: int, right_least: int):
    def write(x, y):
        return f"{wrap(x, precedence, signed=False)} {symbol} {wrap(y, right_least)}", precedence

    return write


def _neg(x):
    return f"-{wrap(x, MUL)}", NEG


def _div(x, y):
    return f"\\frac{{{x[0]}}}{{{y[0]}}}", ATOM


def _pow(x, y):
    return f"{wrap(x, ATOM)}^{{{y[0]}}}", POW


def _sqrt(x):
    return f"\\sqrt{{{x[0]}}}", ATOM


def _abs(x):
    return f"\\left|{x[0]}\\right|", ATOM


def _transpose(x):
    return f"{wrap(x, ATOM)}^{{\\top}}", POW


def _index(x, *subscripts):
    return f"{{{wrap(x, ATOM)}}}_{{{', '.join(text for text, _ in subscripts)}}}", ATOM


def _array(*elements):
    return f"\\begin{{pmatrix}} {' & '.join(text for text, _ in elements)} \\end{{pmatrix}}", ATOM


def _reduction(command: str):
    def write(x, axis=None):
        below = "" if axis is None else f"_{{\\text{{axis }} {axis[0]}}}"
        return f"{command}{below}\\left({x[0]}\\right)", CALL

    return write


OPS = {
    "add": _infix("+", ADD, ADD),
    "sub": _infix("-", ADD, MUL),
    "mul": _infix("\\cdot", MUL, MUL),
    "matmul": _infix("\\,", MUL, MUL),
    "div": _div,
    "neg": _neg,
    "pow": _pow,
    "exp": _call("\\exp"),  # not e^{x}: a node may be labelled e
    "sqrt": _sqrt,
    "abs": _abs,
    "transpose": _transpose,
    "index": _index,
    "array": _array,
    "sum": _reduction("\\sum"),
    "mean": _reduction("\\operatorname{mean}"),
    "sigmoid": _call("\\sigma"),
    "log": _call("\\log"),
    "ln": _call("\\ln"),
    "log2": _call("\\log_{2}"),
    "log10": _call("\\log_{10}"),
    "max": _call("\\max"),
    "min": _call("\\min"),
    "asin": _call("\\arcsin"),
    "acos": _call("\\arccos"),
    "atan": _call("\\arctan"),
    **{name: _call(f"\\{name}") for name in ("sin", "cos", "tan", "sinh", "cosh", "tanh")},
}
"""op name → how it is written over its operands. An op not here is `\\operatorname{name}(…)`."""


def apply(op_name: str, operands: list[tuple[str, int]]) -> tuple[str, int]:
    """An op over operand texts, with its precedence."""
    write = OPS.get(op_name) or _call("\\operatorname{" + op_name.replace("_", "\\_") + "}")
    return write(*operands)


def latex_expressions(program: Program, labels: list[str], upto: int | None = None) -> list[tuple[str, int]]:
    """Every node's expression (up to node `upto`), by id: an unnamed node's inputs written out,
    a named one's (or a long one's) by its name. One pass in id order, no recursion."""
    texts: list[tuple[str, int]] = []
    referred: list[tuple[str, int]] = []  # how a node is written inside its users' expressions
    last = len(program) - 1 if upto is None else upto
    for node_id in range(last + 1):
        op = program.ops[node_id]
        if op is CONST:
            text = _constant(program, labels[node_id], node_id)
        elif not program.inputs_of(node_id):
            text = (latex_name(labels[node_id]), ATOM)
        else:
            text = apply(op.name, [referred[i] for i in program.inputs_of(node_id)])
        texts.append(text)
        named = node_id in program.names or len(text[0]) > EXPANDED
        referred.append((latex_name(labels[node_id]), ATOM) if named and op is not CONST else text)
    return texts


def _constant(program: Program, label: str, node_id: int) -> tuple[str, int]:
    value = program.constants[node_id]
    if type(value) is float and label.strip().lstrip("-").strip() in CONSTANTS:
        return latex_name(label.replace(" ", "")), ATOM
    return latex_number(value), ATOM


def latex_expression(program: Program, node_id: int, labels: list[str]) -> str:
    """One node's expression in LaTeX (see latex_expressions)."""
    return latex_expressions(program, labels, upto=node_id)[node_id][0]


def operand_name(program: Program, labels: list[str], node_id: int) -> str:
    """How a node is named in a formula over its inputs: its label, a constant's value."""
    if program.ops[node_id] is CONST:
        return _constant(program, labels[node_id], node_id)[0]
    return latex_name(labels[node_id])


def formula(program: Program, node_id: int, operands: list[str]) -> str:
    """A node's op over the given operand texts (its inputs' names, or their values)."""
    return apply(program.ops[node_id].name, [(text, ATOM) for text in operands])[0]


# -- local derivatives: ∂out/∂input written over the labels, for the trace and the paths ------------


def local_derivative(program: Program, labels: list[str], node_id: int, position: int) -> tuple[str, int]:
    """∂node/∂input in LaTeX, over the labels; ∂node/∂input itself for an op not in LOCALS."""
    op = program.ops[node_id]
    inputs = program.inputs_of(node_id)
    rule = LOCALS.get(op.name)
    if rule is None:
        return partial(latex_name(labels[node_id]), latex_name(labels[inputs[position]])), ATOM
    out = (latex_name(labels[node_id]), ATOM)
    names = [(operand_name(program, labels, i), ATOM) for i in inputs]
    constant = program.source[program.starts[inputs[-1]] : program.ends[inputs[-1]]]
    return rule(out, *names, exponent=constant if program.ops[inputs[-1]] is CONST else None)[position]


def _power_local(out, x, y, exponent=None):
    from decimal import Decimal, InvalidOperation

    try:
        n = Decimal(exponent.replace(" ", "")) if exponent is not None else None
    except InvalidOperation:
        n = None
    if n is None:
        dx = (f"{wrap(y, MUL)} \\cdot {wrap(x, ATOM)}^{{{y[0]} - 1}}", MUL)
    else:
        less = format((n - 1).normalize(), "f")
        dx = (f"{n.normalize():f} {wrap(x, ATOM)}" + ("" if less == "1" else f"^{{{less}}}"), MUL)
        dx = ("1", ATOM) if n == 1 else (("0", ATOM) if n == 0 else dx)
    return dx, (f"{wrap(out, MUL)} \\cdot \\ln\\left({x[0]}\\right)", MUL)


def _tie_shares(x, y, wins: str) -> tuple:
    """max's (`>`) or min's (`<`) local derivatives: 1 for the input that wins, ½ each at a tie."""
    tie = f"\\tfrac{{1}}{{2}} [{x[0]} = {y[0]}]"
    return (f"[{x[0]} {wins} {y[0]}] + {tie}", ADD), (f"[{y[0]} {wins} {x[0]}] + {tie}", ADD)


def _one(*_):
    return ("1", ATOM)


LOCALS = {
    "add": lambda out, x, y, **_: (_one(), _one()),
    "sub": lambda out, x, y, **_: (_one(), ("-1", ATOM)),
    "mul": lambda out, x, y, **_: (y, x),
    "div": lambda out, x, y, **_: (_div(_one(), y), (f"-\\frac{{{x[0]}}}{{{_pow(y, ('2', ATOM))[0]}}}", NEG)),
    "neg": lambda out, x, **_: (("-1", ATOM),),
    "pow": _power_local,
    "exp": lambda out, x, **_: (_call("\\exp")(x),),
    "log": lambda out, x, **_: (_div(_one(), x),),
    "sqrt": lambda out, x, **_: ((f"\\frac{{1}}{{2\\sqrt{{{x[0]}}}}}", ATOM),),
    "sin": lambda out, x, **_: (_call("\\cos")(x),),
    "cos": lambda out, x, **_: ((f"-\\sin\\left({x[0]}\\right)", NEG),),
    "tan": lambda out, x, **_: ((f"1 + {_pow(out, ('2', ATOM))[0]}", ADD),),
    "tanh": lambda out, x, **_: ((f"1 - {_pow(out, ('2', ATOM))[0]}", ADD),),
    "sigmoid": lambda out, x, **_: ((f"{out[0]} \\left(1 - {out[0]}\\right)", MUL),),
    "relu": lambda out, x, **_: ((f"[{x[0]} > 0]", ATOM),),
    "abs": lambda out, x, **_: (_call("\\operatorname{sign}")(x),),
    "max": lambda out, x, y, **_: _tie_shares(x, y, ">"),
    "min": lambda out, x, y, **_: _tie_shares(x, y, "<"),
    "log2": lambda out, x, **_: ((f"\\frac{{1}}{{{wrap(x, MUL)} \\ln 2}}", ATOM),),
    "log10": lambda out, x, **_: ((f"\\frac{{1}}{{{wrap(x, MUL)} \\ln 10}}", ATOM),),
    "sinh": lambda out, x, **_: (_call("\\cosh")(x),),
    "cosh": lambda out, x, **_: (_call("\\sinh")(x),),
    "asin": lambda out, x, **_: ((f"\\frac{{1}}{{\\sqrt{{1 - {_pow(x, ('2', ATOM))[0]}}}}}", ATOM),),
    "acos": lambda out, x, **_: ((f"-\\frac{{1}}{{\\sqrt{{1 - {_pow(x, ('2', ATOM))[0]}}}}}", NEG),),
    "atan": lambda out, x, **_: ((f"\\frac{{1}}{{1 + {_pow(x, ('2', ATOM))[0]}}}", ATOM),),
    "softplus": lambda out, x, **_: (_call("\\sigma")(x),),
}
"""op name → ∂out/∂input for each input, over the labels (as ops.py's `local` texts, in LaTeX)."""
