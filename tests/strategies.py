"""Random programs of the backprop language, for test_properties, test_differential and the fuzzers.

A program is generated as a structure (programs.py) from the ops' own entries (op_cases.py): every
`Expr` carries a bound [lo, hi] on its value over the whole input box `BOX`, and each op's rule uses it
to keep the op in its domain by construction: log, sqrt and a real exponent's base see only arguments
≥ 0.5, a divisor or the base of a negative power stays outside (-0.5, 0.5), exp and tan see small
arguments, and any subexpression that could grow past `LARGEST` is squashed (tanh, sin, sigmoid)
before it is used again.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from op_cases import CASES
from profiles import sized
from programs import BOX, PI, E, Expr, GeneratedProgram, Statement, Style, const, inputs, ref

POINTS = (-2.0, 2.0)
"""Points are drawn from here, inside the box, so x ± h stays inside too."""
assert BOX[0] < POINTS[0] and POINTS[1] < BOX[1]

LARGEST = 1e3
"""A subexpression whose bound exceeds this is squashed before it is used again."""

STATEMENTS, DEPTH = sized((3, 3), (5, 5))
"""How big a random program gets: up to 3 statements 3 ops deep, 5 and 5 in the long run."""

INPUT_NAMES = ("x", "y", "a", "b", "t0", "x_1", "Beta", "_z", "E", "expo", "e_", "pi2", "sine", "inf", "nan")
"""Input names, including ones that look like numbers, constants or functions to a careless lexer
(`e` itself is the constant e, and `2e3` must stay a number beside it: constants() draws it)."""

STATEMENT_NAMES = ("u", "v", "w", "h1", "z_", "L", "out", "tmp", "maxi", "e2")


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


def constants(largest: float = 10.0) -> st.SearchStrategy[Expr]:
    """A non-negative literal in one of the README's spellings (a negative one is `neg`), `pi` or `e`."""
    values = st.one_of(st.sampled_from(NICE_NUMBERS), st.floats(0.0, largest, allow_subnormal=False))
    literals = st.builds(spell, values, st.sampled_from(SPELLINGS)).map(const)
    return st.one_of(literals, literals, literals, st.just(PI), st.just(E))


# ------------------------------------------------------------------------------------------------
# Nodes, kept in their domains
# ------------------------------------------------------------------------------------------------


def build(op: str, *args: Expr, style: Style | None = None) -> Expr:
    """A node of `op` with its bounds and size from op_cases."""
    case = CASES[op]
    lo, hi = case.bounds(*args)
    return Expr(op, args, lo=lo, hi=hi, style=style or Style(), size=case.size(*args))


def magnitude(e: Expr) -> float:
    return max(abs(e.lo), abs(e.hi))


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


class Grow:
    """What an op's `generate` rule (op_cases) builds with: `sub()` draws a fresh subexpression, and
    the helpers below keep a node in its domain."""

    def __init__(self, draw, sub: Callable[[], Expr]):
        self.draw, self.sub = draw, sub

    def node(self, op: str, *args: Expr) -> Expr:
        """A styled node; anything that could grow past LARGEST is squashed."""
        built = build(op, *args, style=self.draw(styles(op)))
        return self.squash(built) if magnitude(built) > LARGEST else built

    def squash(self, e: Expr) -> Expr:
        """e through a bounded function: its value lands in [-1, 1]."""
        assert not e.size, "vectors are kept small by construction"
        return self.node(self.draw(st.sampled_from(("tanh", "sin", "sigmoid", "cos"))), e)

    def small(self, e: Expr, limit: float) -> Expr:
        """e, or e squashed into [-1, 1] when it could leave [-limit, limit]."""
        return e if magnitude(e) <= limit else self.squash(e)

    def positive(self, e: Expr) -> Expr:
        """e if it is ≥ 0.5 over the whole box, else one of several ways to make it so."""
        if e.lo >= 0.5:
            return e
        e = self.small(e, 500.0)  # so that abs(e) + 2.5 is not squashed either
        way = self.draw(st.integers(0, 4))
        half = const(self.draw(st.sampled_from(("0.5", "1", "2.5", ".75"))))
        squares = magnitude(e) <= 30  # e*e stays below LARGEST, so it is not squashed (and stays ≥ 0)
        node = self.node
        if way == 1 and squares:
            return node("add", node("mul", e, e), const("1"))
        if way == 2:
            return node("exp", node("sigmoid", e))
        if way == 3:
            return node("add", node("sigmoid", e), half)
        if way == 4 and squares:
            return node("sqrt", node("add", node("mul", e, e), half))
        return node("add", node("abs", e), half)

    def away_from_zero(self, e: Expr) -> Expr:
        """e if it stays outside (-0.5, 0.5) over the whole box (either sign), else made positive."""
        if e.lo >= 0.5 or e.hi <= -0.5:
            return e
        return self.positive(e)

    def whole_exponent(self) -> Expr:
        """A whole-number literal exponent -3..4, spelt any way (`2`, `2.`, `2e0`); negative ones as `-n`."""
        negative = self.draw(st.booleans())
        n = self.draw(st.integers(1 if negative else 0, 4))
        spelt = const(spell(float(n), self.draw(st.sampled_from(SPELLINGS))))
        return build("neg", spelt) if negative else spelt

    def small_array(self, size: int | None = None) -> Expr:
        """A literal [a, b, …] of 1 to 3 elements in [-5, 5] (so that exp of them stays small)."""
        size = self.draw(st.integers(1, 3)) if size is None else size
        return self.node("array", *[self.small(self.sub(), 5.0) for _ in range(size)])

    def vector(self) -> Expr:
        """A small literal, maybe through softmax, log_softmax or a transpose."""
        vector = self.small_array()
        way = self.draw(st.sampled_from(("array", "softmax", "log_softmax", "transpose")))
        return vector if way == "array" else self.node(way, vector)

    def scalar_or_vector(self) -> Expr:
        return self.vector() if self.draw(st.booleans()) else self.sub()

    def index(self, vector: Expr) -> Expr:
        """vector[i], i counted from the front or (negative) from the back."""
        i = self.draw(st.integers(-vector.size, vector.size - 1))
        return build("index", vector, const(str(i)), style=self.draw(styles("index")))


# ------------------------------------------------------------------------------------------------
# Programs
# ------------------------------------------------------------------------------------------------


def grow(draw, op: str, leaves: tuple[Expr, ...], depth: int) -> Expr:
    """A node of `op` over random subexpressions of `leaves`, `depth` ops deep at most, by op_cases' rule."""
    case = CASES[op]
    return case.generate(Grow(draw, lambda: draw(expressions(leaves, depth))), case)


@st.composite
def expressions(draw, leaves: tuple[Expr, ...], depth: int) -> Expr:
    """A random expression over `leaves` (inputs and references) and constants, `depth` ops deep at most."""
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        if draw(st.integers(0, 3)) == 0:
            return draw(constants())
        return draw(st.sampled_from(leaves))
    return grow(draw, draw(st.sampled_from(sorted(CASES))), leaves, depth - 1)


LEADING = ("", "", "\n", "# a program\n", "\n\n", ";", " ", "\t# tab\n")
BETWEEN = (";", "; ", " ;", "\n", "\n\n", ";\n", "\r\n", "  # note\n", "\n# note\n\n", "\t;\t", ";;", "\n;\n")
TRAILING = ("", "", ";", "\n", ";\n", "\n\n", "  # end", "\n# end\n", "\r\n")


@st.composite
def programs(draw, max_statements: int = STATEMENTS, depth: int = DEPTH) -> GeneratedProgram:
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
def cases(draw, max_statements: int = STATEMENTS, depth: int = DEPTH) -> tuple[GeneratedProgram, dict]:
    """A program and a point at which to evaluate it."""
    program = draw(programs(max_statements, depth))
    return program, draw(points(program.inputs))


def kink_arguments(evaluation) -> list[float]:
    """For every node of a piecewise op (op_cases' `kink`) the number whose sign picks its piece
    (0 = exactly at the kink)."""
    nodes = evaluation.nodes
    found = []
    for row in nodes:
        case = CASES.get(row.op)
        if case is not None and case.kink is not None:
            found.append(case.kink(*(nodes[i].value for i in row.inputs)))
    return found


# ------------------------------------------------------------------------------------------------
# Programs of names used again (for trace and paths)
# ------------------------------------------------------------------------------------------------

BINARY = ("+", "-", "*")
UNARY = ("sin", "tanh", "sigmoid", "relu")


@st.composite
def dags(draw) -> tuple[str, dict[str, float]]:
    """A random program whose names are reused, so nodes have several parents (and `v * v` two edges)."""
    given = ["a", "b", "c"][: draw(st.integers(1, 3))]
    names = list(given)
    statements = []
    for i in range(draw(st.integers(1, 7))):
        left, right = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        if draw(st.booleans()):
            expr = f"{left} {draw(st.sampled_from(BINARY))} {right}"
        else:
            expr = f"{draw(st.sampled_from(UNARY))}({left})"
        statements.append(f"v{i} = {expr}")
        names.append(f"v{i}")
    values = {
        name: draw(st.floats(-1.5, 1.5, allow_nan=False).filter(lambda x: abs(x) > 1e-3)) for name in given
    }
    return "; ".join(statements), values
