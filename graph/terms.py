"""A small algebra of terms: the derivative of a program, written as a hash-consed DAG.

A Term is an op of graph/ops.py applied to earlier terms (or a leaf: an input by name, a constant).
Terms are built by one Terms table, which returns the existing term for a repeated construction:
equal subexpressions are one object, so the printed derivative never repeats one. Ids are given in
build order, so a term's arguments always have smaller ids: walking the ids upwards is a
topological order, and nothing here recurses.

The constructors simplify only where the result is the number the engine would compute from the
unsimplified term, exactly: `x*1`, `x + 0`, `x - x`, `x + x = 2*x`, `-(-x)`, `-(a - b) = b - a`,
`x + -c = x - c`, `x**1`; a constant moved to the front of a product and a minus sign out of one;
two constant factors multiplied when one is a power of two (short of underflow); constants folded
by the op's own forward, kept only when the number is short to read. `0*x` becomes 0: exact wherever
the engine can evaluate x, since it refuses values that are not finite.

The ops' `adjoint` rules (ops.py) are written with these terms: `+ - * / ** @`, unary minus, and
`x.fn("cos")` for a function.

Every term knows its shape (() for a scalar), from the inputs' shapes the table is given and the
ops' shape rules, so a tensor rule can choose what to write (`g @ y.T`, or `[g].T @ [y]` for two
vectors). A simplified term may have a smaller shape than the one it stands for (`0*x` is 0, and
`x*1` is x where 1 was a tensor of ones): it broadcasts to it, and adjoint.py spreads it out
where an op needs the whole shape.
"""

from __future__ import annotations

import math

from .kernels import broadcast_shape
from .ops import CONST, INPUT, OPS, Op

SHORT = 8
"""A folded constant is kept if its text is at most this long (or it is a whole number): `1/3`
reads better than 0.3333333333333333."""


class Term:
    """One node of a derivative: an op over argument terms, or a leaf (`value`: a name or a number)."""

    __slots__ = ("table", "op", "args", "value", "id", "shape")

    def __init__(self, table: Terms, op: Op, args: tuple[Term, ...], value, term_id: int, shape) -> None:
        self.table, self.op, self.args, self.value, self.id = table, op, args, value, term_id
        self.shape: tuple[int, ...] = shape

    def __repr__(self) -> str:
        if self.op is CONST or self.op is INPUT:
            return f"Term({self.value!r})"
        return f"Term({self.op.name}#{self.id})"

    def is_const(self, value: float | None = None) -> bool:
        """True for a constant (equal to `value`, when given)."""
        return self.op is CONST and (value is None or self.value == value)

    def fn(self, name: str, *others: Term | float) -> Term:
        """The op `name` applied to this term (and `others`): `x.fn("cos")`, `x.fn("max", y)`."""
        return self.table.apply(name, self, *others)

    def __add__(self, other):
        return self.table.add(self, other)

    def __radd__(self, other):
        return self.table.add(other, self)

    def __sub__(self, other):
        return self.table.sub(self, other)

    def __rsub__(self, other):
        return self.table.sub(other, self)

    def __mul__(self, other):
        return self.table.mul(self, other)

    def __rmul__(self, other):
        return self.table.mul(other, self)

    def __truediv__(self, other):
        return self.table.div(self, other)

    def __rtruediv__(self, other):
        return self.table.div(other, self)

    def __pow__(self, other):
        return self.table.pow(self, other)

    def __rpow__(self, other):
        return self.table.pow(other, self)

    def __neg__(self):
        return self.table.neg(self)

    def __matmul__(self, other):
        return self.table.apply("matmul", self, other)

    def __rmatmul__(self, other):
        return self.table.apply("matmul", other, self)

    @property
    def T(self) -> Term:  # noqa: N802 - the language's spelling of a transpose
        return self.table.apply("transpose", self)


class Terms:
    """The table that builds terms: one object per distinct construction."""

    def __init__(self, shapes: dict[str, tuple[int, ...]] | None = None) -> None:
        self.terms: list[Term] = []
        self._known: dict[tuple, Term] = {}
        self.shapes = shapes or {}  # each input's shape; an input not in it is a scalar

    def _make(self, op: Op, args: tuple[Term, ...], value=None) -> Term:
        key = (op.name, tuple(a.id for a in args), value)
        term = self._known.get(key)
        if term is None:
            term = Term(self, op, args, value, len(self.terms), _shape(self, op, args, value))
            self.terms.append(term)
            self._known[key] = term
        return term

    def const(self, value: float) -> Term:
        return self._make(CONST, (), float(value) + 0.0)  # + 0.0: -0.0 and 0.0 are one constant

    def input(self, name: str) -> Term:
        return self._make(INPUT, (), name)

    def _term(self, x: Term | float) -> Term:
        return x if isinstance(x, Term) else self.const(x)

    def apply(self, name: str, *args: Term | float) -> Term:
        """The op `name` over `args`, folded when every argument is a constant and the result short."""
        op = OPS[name]
        terms = tuple(self._term(a) for a in args)
        if op.elementwise and all(a.op is CONST for a in terms):
            folded = _fold(op, [a.value for a in terms])
            if folded is not None:
                return self.const(folded)
        return self._make(op, terms)

    # -- the arithmetic, with its exact simplifications ------------------------------------------

    def add(self, x, y) -> Term:
        x, y = self._term(x), self._term(y)
        if x.is_const(0.0):
            return y
        if y.is_const(0.0):
            return x
        if x is y:
            return self.mul(2.0, x)  # x + x == 2·x exactly
        if y.op.name == "neg":
            return self.sub(x, y.args[0])
        if x.op.name == "neg":
            return self.sub(y, x.args[0])
        if y.op is CONST and y.value < 0.0 and x.op is not CONST:
            return self.sub(x, -y.value)  # x + -2 is x - 2
        return self.apply("add", x, y)

    def sub(self, x, y) -> Term:
        x, y = self._term(x), self._term(y)
        if y.is_const(0.0):
            return x
        if x.is_const(0.0):
            return self.neg(y)
        if x is y:
            return self.const(0.0)
        if y.op.name == "neg":
            return self.add(x, y.args[0])
        if y.op is CONST and y.value < 0.0 and x.op is not CONST:
            return self.add(x, -y.value)
        return self.apply("sub", x, y)

    def mul(self, x, y) -> Term:
        x, y = self._term(x), self._term(y)
        if y.op is CONST and x.op is not CONST:
            x, y = y, x  # the constant first, as a formula is written: 3*b**2
        if x.is_const(0.0) or y.is_const(0.0):
            return self.const(0.0)
        if x.is_const(1.0) or y.is_const(1.0):
            return y if x.is_const(1.0) else x
        if x.op is CONST and x.value < 0.0 and y.op is not CONST:
            return self.neg(self.mul(-x.value, y))
        if x.op.name == "neg":
            return self.neg(self.mul(x.args[0], y))
        if y.op.name == "neg":
            return self.neg(self.mul(x, y.args[0]))
        if x.op is CONST and y.op.name == "mul" and y.args[0].op is CONST:
            # 3*(2*x) is 6*x when one factor is a power of two (it only moves the exponent)
            c = y.args[0].value
            if (_power_of_two(x.value) or _power_of_two(c)) and _short(x.value * c):
                return self.mul(x.value * c, y.args[1])
        return self.apply("mul", x, y)

    def div(self, x, y) -> Term:
        x, y = self._term(x), self._term(y)
        if y.is_const(1.0):
            return x
        if x.is_const(0.0):
            return x
        if x.op.name == "neg":
            return self.neg(self.div(x.args[0], y))
        if y.op.name == "neg":
            return self.neg(self.div(x, y.args[0]))
        if x.op is CONST and x.value < 0.0 and y.op is not CONST:
            return self.neg(self.div(-x.value, y))
        return self.apply("div", x, y)

    def neg(self, x) -> Term:
        x = self._term(x)
        if x.op is CONST:
            return self.const(-x.value)
        if x.op.name == "neg":
            return x.args[0]
        if x.op.name == "sub":
            return self.sub(x.args[1], x.args[0])  # -(a - b) == b - a exactly
        return self._make(OPS["neg"], (x,))

    def pow(self, x, y) -> Term:
        x, y = self._term(x), self._term(y)
        if y.is_const(1.0):
            return x
        if y.is_const(0.0) or x.is_const(1.0):
            return self.const(1.0)
        return self.apply("pow", x, y)


def _shape(table: Terms, op: Op, args: tuple[Term, ...], value) -> tuple[int, ...]:
    """The shape of op over args, by the rules of the shape pass (graph/shapes.py)."""
    if op is INPUT:
        return tuple(table.shapes.get(value, ()))
    if op is CONST:
        return ()
    if op.shape is None:
        return broadcast_shape([a.shape for a in args], op.symbol or op.name)
    static = len(args) if op.static_from is None else op.static_from
    return op.shape(*[a.shape for a in args[:static]], *[a.value for a in args[static:]])


def _power_of_two(value: float) -> bool:
    mantissa, _ = math.frexp(value)
    return abs(mantissa) == 0.5


def _fold(op: Op, values: list[float]) -> float | None:
    """op's forward at constant arguments, if finite and short to write; None otherwise."""
    try:
        result = float(op.forward(*values))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return result if _short(result) else None


def _short(value: float) -> bool:
    """True for a finite number short to read: a whole one, or one of few digits."""
    return math.isfinite(value) and (value.is_integer() and abs(value) < 1e15 or len(repr(value)) <= SHORT)
