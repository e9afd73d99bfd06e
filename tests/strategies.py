"""Random programs of the backprop language, shared by test_properties, test_differential and test_fuzz.

A program is generated as a structure (`Expr` trees inside `Statement`s) and only then rendered:
to our text by `GeneratedProgram.text()`, and to SymPy by test_differential's own converter, so
neither oracle ever reads our text. Every `Expr` carries a bound [lo, hi] on its value over the
whole input box `BOX`, and the generator uses it to keep every op in its domain by construction:
log, sqrt and a real exponent's base see only arguments ≥ 0.5, a divisor or the base of a negative
power stays outside (-0.5, 0.5), exp and tan see small arguments, and any subexpression that could
grow past `LARGEST` is squashed (tanh, sin, sigmoid) before it is used again.

Rendering is precedence-aware with as few brackets as the grammar allows, so the traps
(`-x**2`, `2**-1`, `a**b**c`, `a - (b - c)`, `a/b/c`) come out exactly as a person would write them.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from hypothesis import strategies as st

from backprop import BackpropError

BOX = (-2.5, 2.5)
"""Bounds are computed over this box; points are drawn from the smaller `POINTS`, so x ± h stays inside."""

POINTS = (-2.0, 2.0)

LARGEST = 1e3
"""A subexpression whose bound exceeds this is squashed before it is used again."""

INPUT_NAMES = ("x", "y", "a", "b", "t0", "x_1", "Beta", "_z", "e", "E", "expo", "pi2", "sine", "inf", "nan")
"""Input names, including ones that look like numbers, constants or functions to a careless lexer."""

STATEMENT_NAMES = ("u", "v", "w", "h1", "z_", "L", "out", "tmp", "maxi", "e2")

KINDS = ("syntax", "name", "arity", "domain", "shape", "limit", "input")
"""The error kinds of the README's table (plus shape and limit, which the CLI may also report)."""


# ------------------------------------------------------------------------------------------------
# The structure
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How one node is written: none of it changes the value."""

    parens: bool = False  # extra brackets around the node
    plus: bool = False  # a unary + in front
    caret: bool = False  # `^` instead of `**`
    gap: str = " "  # around a binary operator, after a comma
    brk: str = ""  # a line break after a binary operator (the expression goes on)
    pad: str = ""  # inside a call's brackets
    postfix: bool = False  # transpose as `x.T` rather than `transpose(x)`


@dataclass(frozen=True)
class Expr:
    """A node of a generated program: an op of graph.ops, or a leaf `input`, `const` or `ref`."""

    op: str
    args: tuple[Expr, ...] = ()
    lo: float = 0.0
    hi: float = 0.0
    text: str = ""  # a leaf's spelling: the number as written, `pi`, the name; a subscript
    value: float = 0.0  # a constant's value (float(text), or math.pi); a subscript's
    style: Style = Style()
    size: int = 0  # 0 for a scalar, n for a vector of n elements

    @property
    def uses_inputs(self) -> bool:
        """True if some input flows into this node (through references too)."""
        if self.op == "input":
            return True
        return any(arg.uses_inputs for arg in self.args)


def expanded_size(e: Expr, memo: dict[int, int] | None = None) -> int:
    """The number of nodes with every reference written out in full (what an inlining oracle sees)."""
    memo = {} if memo is None else memo
    if id(e) not in memo:
        memo[id(e)] = 1 + sum(expanded_size(arg, memo) for arg in e.args)
    return memo[id(e)]


@dataclass(frozen=True)
class Statement:
    name: str | None  # None: a bare expression (only the last statement)
    expr: Expr


@dataclass(frozen=True)
class GeneratedProgram:
    statements: tuple[Statement, ...]
    separators: tuple[str, ...]  # before the first statement, between statements, after the last
    inputs: tuple[str, ...]  # the input names the generator could use (not all need appear)

    def text(self) -> str:
        return render_program(self)[0]

    def used_inputs(self) -> list[str]:
        """The inputs that appear in the text, in order of first use."""
        return render_program(self)[1]

    @property
    def output(self) -> Expr:
        return self.statements[-1].expr


# ------------------------------------------------------------------------------------------------
# Bounds: interval arithmetic over the input box
# ------------------------------------------------------------------------------------------------


def _span(values) -> tuple[float, float]:
    values = list(values)
    return min(values), max(values)


def _corners(fn, a: Expr, b: Expr) -> tuple[float, float]:
    return _span(fn(p, q) for p in (a.lo, a.hi) for q in (b.lo, b.hi))


def _monotone(fn) -> Callable:
    return lambda a: (fn(a.lo), fn(a.hi))


def _abs_bounds(a: Expr) -> tuple[float, float]:
    if a.lo >= 0:
        return a.lo, a.hi
    if a.hi <= 0:
        return -a.hi, -a.lo
    return 0.0, max(-a.lo, a.hi)


def _mul_bounds(a: Expr, b: Expr) -> tuple[float, float]:
    if a is b:  # e*e: a square is never negative
        low, high = _abs_bounds(a)
        return low * low, high * high
    return _corners(lambda p, q: p * q, a, b)


def _pow_bounds(a: Expr, b: Expr) -> tuple[float, float]:
    if b.lo != b.hi:  # a real exponent: the base is ≥ 0.5, and x**y is monotone in each argument
        return _corners(lambda p, q: p**q, a, b)
    n = b.lo  # a constant exponent; a negative whole one only meets a base outside (-0.5, 0.5)
    candidates = [a.lo**n, a.hi**n]
    if a.lo < 0 < a.hi and n > 0:
        candidates.append(0.0)
    return _span(candidates)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _sum_bounds(a: Expr) -> tuple[float, float]:
    n = max(a.size, 1)
    return n * a.lo, n * a.hi


def _logsumexp_bounds(a: Expr) -> tuple[float, float]:
    return a.lo, a.hi + math.log(max(a.size, 1))  # max ≤ logsumexp ≤ max + log n


def _softmax_bounds(a: Expr) -> tuple[float, float]:
    return (0.0, 1.0) if a.size else (1.0, 1.0)


def _log_softmax_bounds(a: Expr) -> tuple[float, float]:
    return (a.lo - a.hi - math.log(a.size), 0.0) if a.size else (0.0, 0.0)


def _dot_bounds(a: Expr, b: Expr) -> tuple[float, float]:
    low, high = _corners(lambda p, q: p * q, a, b)
    return a.size * low, a.size * high


BOUNDS: dict[str, Callable[..., tuple[float, float]]] = {
    "add": lambda a, b: (a.lo + b.lo, a.hi + b.hi),
    "sub": lambda a, b: (a.lo - b.hi, a.hi - b.lo),
    "mul": _mul_bounds,
    "div": lambda a, b: _corners(lambda p, q: p / q, a, b),
    "neg": lambda a: (-a.hi, -a.lo),
    "pow": _pow_bounds,
    "exp": _monotone(math.exp),
    "log": _monotone(math.log),
    "sqrt": _monotone(math.sqrt),
    "sin": lambda a: (-1.0, 1.0),
    "cos": lambda a: (-1.0, 1.0),
    "tan": _monotone(math.tan),
    "tanh": _monotone(math.tanh),
    "sigmoid": _monotone(_sigmoid),
    "relu": lambda a: (max(a.lo, 0.0), max(a.hi, 0.0)),
    "abs": _abs_bounds,
    "max": lambda a, b: (max(a.lo, b.lo), max(a.hi, b.hi)),
    "min": lambda a, b: (min(a.lo, b.lo), min(a.hi, b.hi)),
    # the tensor family, on scalars and on small vectors
    "array": lambda *elements: _span([e.lo for e in elements] + [e.hi for e in elements]),
    "sum": _sum_bounds,
    "mean": lambda a: (a.lo, a.hi),
    "logsumexp": _logsumexp_bounds,
    "softmax": _softmax_bounds,
    "log_softmax": _log_softmax_bounds,
    "transpose": lambda a: (a.lo, a.hi),
    "index": lambda a: (a.lo, a.hi),
    "matmul": _dot_bounds,
}

# The size of each op's result: a vector stays a vector through these; everything else is a scalar.
KEEPS_SIZE = {"softmax", "log_softmax", "transpose"}


def magnitude(e: Expr) -> float:
    return max(abs(e.lo), abs(e.hi))


# ------------------------------------------------------------------------------------------------
# Leaves
# ------------------------------------------------------------------------------------------------

# Every spelling the README lists: 3, 2.5, .5, 3., 1e-3, 1E3, 1e+3 (and 2.e0, 007, 25e-1).
SPELLINGS = ("repr", "no-leading-zero", "trailing-dot", "integer", "e", "E", "exact", "tenths", "zeros")

NICE_NUMBERS = (0.0, 0.5, 1.0, 2.0, 3.0, 0.1, 0.25, 1.5, 2.5, 10.0, 0.001, 100.0, 0.3, 7.0)


def spell(value: float, way: str) -> str:
    """A decimal literal of the language for a non-negative value (falls back to repr)."""
    plain = repr(value)
    whole = value.is_integer() and value < 1e15
    if way == "no-leading-zero" and plain.startswith("0."):
        return plain[1:]  # .5
    if way == "trailing-dot" and whole:
        return f"{int(value)}."  # 3.
    if way == "integer" and whole:
        return str(int(value))  # 3
    if way == "e":
        return f"{value:e}"  # 2.500000e+00
    if way == "E":
        return f"{value:E}".replace("E+", "E")  # 2.500000E00
    if way == "exact":
        return f"{value:.17e}"
    if way == "tenths" and "e" not in f"{value * 10:g}":
        return f"{value * 10:g}e-1"  # 25e-1
    if way == "zeros" and "e" not in plain:
        return f"00{plain}"  # 002.5
    return plain


def const(text: str) -> Expr:
    value = float(text)
    return Expr("const", lo=value, hi=value, text=text, value=value)


PI = Expr("const", lo=math.pi, hi=math.pi, text="pi", value=math.pi)


def constants(largest: float = 10.0) -> st.SearchStrategy[Expr]:
    """A non-negative literal in one of the README's spellings (a negative one is `neg`), or `pi`."""
    values = st.one_of(st.sampled_from(NICE_NUMBERS), st.floats(0.0, largest, allow_subnormal=False))
    literals = st.builds(spell, values, st.sampled_from(SPELLINGS)).map(const)
    return st.one_of(literals, literals, literals, st.just(PI))


def whole_exponents() -> st.SearchStrategy[Expr]:
    """A whole-number literal exponent -3..4, spelt any way (`2`, `2.`, `2e0`); negative ones as `-n`."""
    spelt = st.builds(spell, st.integers(0, 4).map(float), st.sampled_from(SPELLINGS)).map(const)
    return st.one_of(spelt, spelt.filter(lambda e: e.value > 0).map(lambda e: build("neg", e)))


def inputs(name: str) -> Expr:
    return Expr("input", lo=BOX[0], hi=BOX[1], text=name)


def ref(name: str, expr: Expr) -> Expr:
    """A use of the statement `name = expr`: written as the name, valued as the expression."""
    return Expr("ref", (expr,), lo=expr.lo, hi=expr.hi, text=name)


# ------------------------------------------------------------------------------------------------
# Nodes, kept in their domains
# ------------------------------------------------------------------------------------------------


def build(op: str, *args: Expr, style: Style = Style()) -> Expr:
    lo, hi = BOUNDS[op](*args)
    size = len(args) if op == "array" else args[0].size if op in KEEPS_SIZE else 0
    return Expr(op, args, lo=lo, hi=hi, style=style, size=size)


def tree(op: str, *args: Expr) -> Expr:
    """A node written by hand in a test: no bounds (the test picks an in-domain point itself)."""
    return Expr(op, args, lo=math.nan, hi=math.nan)


@st.composite
def styles(draw, op: str) -> Style:
    def rarely(n: int) -> bool:
        return draw(st.integers(0, n - 1)) == 0

    return Style(
        parens=rarely(8),
        plus=rarely(16),
        caret=op == "pow" and draw(st.booleans()),
        gap=draw(st.sampled_from((" ", "", " ", "  ", "\t", "\f"))),
        brk=draw(st.sampled_from(("", "", "", "", "", "", "\n", " # and\n", "\n\n"))),
        pad=draw(st.sampled_from(("", "", "", " ", "\n", " \t"))),
        postfix=draw(st.booleans()),
    )


def node(draw, op: str, *args: Expr) -> Expr:
    """A styled node; anything that could grow past LARGEST is squashed."""
    built = build(op, *args, style=draw(styles(op)))
    return squash(draw, built) if magnitude(built) > LARGEST else built


def squash(draw, e: Expr) -> Expr:
    """e through a bounded function: its value lands in [-1, 1]."""
    assert not e.size, "vectors are kept small by construction"
    return node(draw, draw(st.sampled_from(("tanh", "sin", "sigmoid", "cos"))), e)


def small(draw, e: Expr, limit: float) -> Expr:
    """e, or e squashed into [-1, 1] when it could leave [-limit, limit]."""
    return e if magnitude(e) <= limit else squash(draw, e)


def positive(draw, e: Expr) -> Expr:
    """e if it is ≥ 0.5 over the whole box, else one of several ways to make it so."""
    if e.lo >= 0.5:
        return e
    e = small(draw, e, 500.0)  # so that abs(e) + 2.5 is not squashed either
    way = draw(st.integers(0, 4))
    half = const(draw(st.sampled_from(("0.5", "1", "2.5", ".75"))))
    squares = magnitude(e) <= 30  # e*e stays below LARGEST, so it is not squashed (and stays ≥ 0)
    if way == 1 and squares:
        return node(draw, "add", node(draw, "mul", e, e), const("1"))
    if way == 2:
        return node(draw, "exp", node(draw, "sigmoid", e))
    if way == 3:
        return node(draw, "add", node(draw, "sigmoid", e), half)
    if way == 4 and squares:
        return node(draw, "sqrt", node(draw, "add", node(draw, "mul", e, e), half))
    return node(draw, "add", node(draw, "abs", e), half)


def away_from_zero(draw, e: Expr) -> Expr:
    """e if it stays outside (-0.5, 0.5) over the whole box (either sign), else made positive."""
    if e.lo >= 0.5 or e.hi <= -0.5:
        return e
    return positive(draw, e)


# One rule per operation: how to build it from random subexpressions so that it stays defined.
# `sub()` draws a fresh subexpression.


def _binary(op: str):
    return lambda draw, sub: node(draw, op, sub(), sub())


def _unary(op: str):
    return lambda draw, sub: node(draw, op, sub())


def _small_array(draw, sub, size: int | None = None) -> Expr:
    """A literal [a, b, …] of 1 to 3 elements in [-5, 5] (so that exp of them stays small)."""
    size = draw(st.integers(1, 3)) if size is None else size
    return node(draw, "array", *[small(draw, sub(), 5.0) for _ in range(size)])


def _vector(draw, sub) -> Expr:
    """A small literal, maybe through softmax, log_softmax or a transpose."""
    vector = _small_array(draw, sub)
    way = draw(st.sampled_from(("array", "softmax", "log_softmax", "transpose")))
    return vector if way == "array" else node(draw, way, vector)


def _scalar_or_vector(draw, sub) -> Expr:
    return _vector(draw, sub) if draw(st.booleans()) else sub()


def _index(draw, vector: Expr) -> Expr:
    """vector[i], i counted from the front or (negative) from the back."""
    i = draw(st.integers(-vector.size, vector.size - 1))
    built = build("index", vector, style=draw(styles("index")))
    return Expr("index", (vector,), lo=built.lo, hi=built.hi, text=str(i), value=i, style=built.style)


def _reduce(op: str):
    """op(x) of a scalar (sum(x) = x) or of a small vector."""
    return lambda draw, sub: node(draw, op, _scalar_or_vector(draw, sub))


def _normalise(op: str):
    """softmax/log_softmax: of a scalar (1 and 0), or one element of a vector's."""

    def rule(draw, sub):
        if draw(st.booleans()):
            return node(draw, op, small(draw, sub(), 5.0))
        return _index(draw, node(draw, op, _small_array(draw, sub)))

    return rule


def _dot(draw, sub) -> Expr:
    """[a, b] @ [c, d]: a vector·vector product is a scalar."""
    size = draw(st.integers(1, 3))
    return node(draw, "matmul", _small_array(draw, sub, size), _small_array(draw, sub, size))


def _power(draw, sub) -> Expr:
    """x**n for a whole literal n and any base (a negative n: the base stays away from 0),
    or b**y for a positive base b and any small exponent y."""
    if draw(st.booleans()):
        exponent = draw(whole_exponents())
        base = small(draw, sub(), 10.0)
        if exponent.hi < 0:
            base = away_from_zero(draw, base)
        return node(draw, "pow", base, exponent)
    return node(draw, "pow", positive(draw, small(draw, sub(), 10.0)), small(draw, sub(), 2.0))


RULES: dict[str, Callable] = {
    "add": _binary("add"),
    "sub": _binary("sub"),
    "mul": _binary("mul"),
    "div": lambda draw, sub: node(draw, "div", sub(), away_from_zero(draw, sub())),
    "neg": _unary("neg"),
    "pow": lambda draw, sub: _power(draw, sub),
    "exp": lambda draw, sub: node(draw, "exp", small(draw, sub(), 5.0)),
    "log": lambda draw, sub: node(draw, "log", positive(draw, sub())),
    "sqrt": lambda draw, sub: node(draw, "sqrt", positive(draw, sub())),
    "sin": _unary("sin"),
    "cos": _unary("cos"),
    "tan": lambda draw, sub: node(draw, "tan", small(draw, sub(), 1.2)),
    "tanh": _unary("tanh"),
    "sigmoid": _unary("sigmoid"),
    "relu": _unary("relu"),
    "abs": _unary("abs"),
    "max": _binary("max"),
    "min": _binary("min"),
    "sum": _reduce("sum"),
    "mean": _reduce("mean"),
    "logsumexp": _reduce("logsumexp"),
    "softmax": _normalise("softmax"),
    "log_softmax": _normalise("log_softmax"),
    "transpose": _unary("transpose"),
    "index": lambda draw, sub: _index(draw, _vector(draw, sub)),
    "array": lambda draw, sub: _index(draw, node(draw, "array", sub(), sub())),
    "matmul": _dot,
}


@st.composite
def expressions(draw, leaves: tuple[Expr, ...], depth: int) -> Expr:
    """A random expression over `leaves` (inputs and references) and constants, `depth` ops deep at most."""
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        if draw(st.integers(0, 3)) == 0:
            return draw(constants())
        return draw(st.sampled_from(leaves))
    rule = RULES[draw(st.sampled_from(sorted(RULES)))]
    return rule(draw, lambda: draw(expressions(leaves, depth - 1)))


LEADING = ("", "", "\n", "# a program\n", "\n\n", ";", " ", "\t# tab\n")
BETWEEN = (";", "; ", " ;", "\n", "\n\n", ";\n", "\r\n", "  # note\n", "\n# note\n\n", "\t;\t", ";;", "\n;\n")
TRAILING = ("", "", ";", "\n", ";\n", "\n\n", "  # end", "\n# end\n", "\r\n")


@st.composite
def programs(draw, max_statements: int = 3, depth: int = 3) -> GeneratedProgram:
    """A multi-statement program; later statements use earlier names, so the graph is a DAG."""
    names = draw(st.lists(st.sampled_from(INPUT_NAMES), min_size=1, max_size=3, unique=True))
    count = draw(st.integers(1, max_statements))
    bound = draw(st.lists(st.sampled_from(STATEMENT_NAMES), min_size=count, max_size=count, unique=True))
    leaves = [inputs(name) for name in names]
    statements = []
    for i in range(count):
        expr = draw(expressions(tuple(leaves), depth))
        last = i == count - 1
        name = None if last and draw(st.booleans()) else bound[i]
        statements.append(Statement(name, expr))
        if name is not None:
            leaves.extend([ref(name, expr)] * 2)  # references are drawn as often as two inputs
    separators = (
        draw(st.sampled_from(LEADING)),
        *(draw(st.sampled_from(BETWEEN)) for _ in range(count - 1)),
        draw(st.sampled_from(TRAILING)),
    )
    return GeneratedProgram(tuple(statements), separators, tuple(names))


def points(names) -> st.SearchStrategy[dict[str, float]]:
    """A value for every input name, inside POINTS."""
    coordinate = st.floats(*POINTS, allow_nan=False, allow_infinity=False)
    return st.fixed_dictionaries({name: coordinate for name in names})


@st.composite
def cases(draw, max_statements: int = 3, depth: int = 3) -> tuple[GeneratedProgram, dict[str, float]]:
    """A program and a point at which to evaluate it."""
    program = draw(programs(max_statements, depth))
    return program, draw(points(program.inputs))


# ------------------------------------------------------------------------------------------------
# Rendering to our text
# ------------------------------------------------------------------------------------------------

SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(1, 7)
INFIX = {
    "add": ("+", SUM),
    "sub": ("-", SUM),
    "mul": ("*", PRODUCT),
    "div": ("/", PRODUCT),
    "matmul": ("@", PRODUCT),
}


def render_program(program: GeneratedProgram) -> tuple[str, list[str]]:
    """(the program text, its inputs in order of first use)."""
    seen: dict[str, None] = {}
    parts = [program.separators[0]]
    for i, statement in enumerate(program.statements):
        if i:
            parts.append(program.separators[i])
        text = render(statement.expr, seen)
        parts.append(text if statement.name is None else f"{statement.name} = {text}")
    parts.append(program.separators[-1])
    return "".join(parts), list(seen)


def render(e: Expr, seen: dict[str, None] | None = None) -> str:
    return _render(e, {} if seen is None else seen)[0]


def _at(e: Expr, level: int, seen) -> str:
    """e written so that it parses as (at least) `level`: bracketed if it binds looser."""
    text, own = _render(e, seen)
    return text if own >= level else f"({text})"


def _operand(e: Expr, seen) -> str:
    """The operand of a postfix `[i]` or `.T`: `2.T` would lex as `2.` then `T`, so numbers get brackets."""
    text = _at(e, POSTFIX, seen)
    return f"({text})" if e.op == "const" and e.text != "pi" else text


def _render(e: Expr, seen: dict[str, None]) -> tuple[str, int]:
    s = e.style
    if e.op in ("const", "ref"):
        text, level = e.text, ATOM
    elif e.op == "input":
        seen.setdefault(e.text)
        text, level = e.text, ATOM
    elif e.op in INFIX:
        symbol, level = INFIX[e.op]
        left = _at(e.args[0], level, seen)
        right = _at(e.args[1], level + 1, seen)  # left-associative: a - (b - c) keeps its brackets
        text = f"{left}{s.gap}{symbol}{s.brk or s.gap}{right}"
    elif e.op == "neg":
        text, level = "-" + _at(e.args[0], UNARY, seen), UNARY
    elif e.op == "pow":
        base = _at(e.args[0], POSTFIX, seen)
        exponent = _at(e.args[1], UNARY, seen)  # right-associative, and 2**-1 needs no brackets
        text, level = f"{base}{'^' if s.caret else '**'}{s.brk}{exponent}", POWER
    elif e.op == "array":
        text, level = f"[{s.pad}{f',{s.gap}'.join(_at(arg, SUM, seen) for arg in e.args)}{s.pad}]", ATOM
    elif e.op == "index":
        text, level = f"{_operand(e.args[0], seen)}[{e.text}]", POSTFIX
    elif e.op == "transpose" and s.postfix:
        text, level = f"{_operand(e.args[0], seen)}.T", POSTFIX
    else:
        arguments = f",{s.gap}".join(_at(arg, SUM, seen) for arg in e.args)
        text, level = f"{e.op}({s.pad}{arguments}{s.pad})", ATOM
    if s.plus:
        text, level = "+" + (text if level >= UNARY else f"({text})"), UNARY
    if s.parens:
        text, level = f"({text})", ATOM
    return text, level


# ------------------------------------------------------------------------------------------------
# Oracle helpers: central differences, kinks, strict JSON
# ------------------------------------------------------------------------------------------------


def central_difference(f: Callable[[float], float], x: float, step: float = 1e-6) -> tuple[float, float]:
    """The slope of f at x from central differences, and how far the step was from converged.

    D(h) = (f(x + h) − f(x − h)) / 2h, h = step·max(1, |x|), is off by c·h² + O(h⁴); Richardson's
    (4·D(h/2) − D(h)) / 3 cancels the h² term, so a sharply curved f (sin of a large argument) is
    still measured well. Returns (that estimate, |D(h) − D(h/2)|).
    """
    h = step * max(1.0, abs(x))
    coarse = (f(x + h) - f(x - h)) / (2 * h)
    fine = (f(x + h / 2) - f(x - h / 2)) / h
    return (4 * fine - coarse) / 3, abs(coarse - fine)


def kink_arguments(evaluation) -> list[float]:
    """For every relu/abs node its argument, for every max/min node the difference of its two:
    the numbers whose sign picks the piece (0 = exactly at the kink)."""
    nodes = evaluation.nodes
    found = []
    for row in nodes:
        if row.op in ("relu", "abs"):
            found.append(nodes[row.inputs[0]].value)
        elif row.op in ("max", "min"):
            found.append(nodes[row.inputs[0]].value - nodes[row.inputs[1]].value)
    return found


def _reject_constant(token: str):
    raise ValueError(f"not strict JSON: {token}")


def strict_json(text: str):
    """Parse stdout as one strict JSON document: NaN, Infinity and -Infinity are refused."""
    return json.loads(text, parse_constant=_reject_constant)


def assert_clean_error(error: BackpropError, source: str | None = None) -> None:
    """A BackpropError that the CLI can print: a known kind, a message, a place inside the text."""
    assert error.kind in KINDS, error.kind
    assert isinstance(error.message, str) and error.message.strip()
    assert error.hint is None or isinstance(error.hint, str)
    assert (error.line is None) == (error.column is None)
    if error.line is not None and source is not None:
        assert 1 <= error.line <= source.count("\n") + 1, (error.line, source)
        assert error.column >= 1


def finite(value) -> bool:
    """A float, or every element of an array, is neither NaN nor infinite."""
    numbers = value.ravel().tolist() if hasattr(value, "ravel") else [value]
    return all(math.isfinite(number) for number in numbers)


def assert_finite_evaluation(evaluation) -> None:
    """Never lie: every value and every gradient that comes out is finite."""
    assert finite(evaluation.value)
    for name, grad in evaluation.gradients.items():
        assert finite(grad), (name, grad)
    for row in evaluation.nodes:
        assert finite(row.value), row
        assert row.grad is None or finite(row.grad), row


# ------------------------------------------------------------------------------------------------
# Counting what a run tried (printed with -s at the end of each module)
# ------------------------------------------------------------------------------------------------

TALLY: Counter = Counter()


def tally(kind: str) -> None:
    TALLY[kind] += 1


@pytest.fixture(scope="module", autouse=True)
def report_tally(request):
    """After each test module, print what it tried (visible with -s), then start counting afresh."""
    yield
    if TALLY:
        counts = "".join(f"\n    {kind}: {count}" for kind, count in sorted(TALLY.items()))
        sys.stdout.write(f"\n[{request.module.__name__}] inputs tried:{counts}\n")
    TALLY.clear()


@contextmanager
def time_limit(seconds: float):
    """Fail (rather than hang) if the block runs longer than `seconds` (Unix: SIGALRM; elsewhere a no-op)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
