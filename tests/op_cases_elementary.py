"""op_cases.py's entries for the ops of graph/elementary.py (log2, log10, sinh, cosh, asin, acos, atan,
softplus, leaky_relu), written the same way: imported at the end of op_cases.py, which registers
them in CASES beside every other op."""

from __future__ import annotations

import math

import sympy
from hypothesis import strategies as st
from op_cases import FUNCTION, KINKED, POSITIVE, _exp_of_tensor, _small_argument, case
from op_parts import SMALL, broadcast, monotone, reals, span
from oracles import each, make

# -- Logarithms, hyperbolic and inverse trigonometric functions --------------------------------------
# asin and acos see an argument in [-0.5, 0.5]: at ±1 their slope is infinite, and a squash alone
# reaches 1 exactly (cos(0), tanh(20)).


def _half(g, case):
    from programs import const  # programs.py imports op_cases

    return g.node(case.name, g.node("mul", const("0.5"), g.small(g.sub(), 1.0)))


def _half_tensor(t, case):
    a = t.sub()
    return t.call(case, make(f"0.5*tanh({a.text})", each(lambda e: sympy.tanh(e) / 2, a.oracle)))


def _cosh_bounds(a) -> tuple[float, float]:
    return span(math.cosh(a.lo), math.cosh(a.hi), *([1.0] if a.lo < 0.0 < a.hi else []))


def _softplus(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


HALF = FUNCTION | dict(domain=broadcast(reals(-0.9, 0.9)), generate=_half, tensor=_half_tensor)
HYPERBOLIC = FUNCTION | dict(
    domain=broadcast(reals(-20.0, 20.0)), generate=_small_argument(5.0), tensor=_exp_of_tensor
)
case("log2", POSITIVE, oracle=lambda a: sympy.log(a, 2), bounds=monotone(math.log2))
case("log10", POSITIVE, oracle=lambda a: sympy.log(a, 10), bounds=monotone(math.log10))
case("sinh", HYPERBOLIC, oracle=sympy.sinh, bounds=monotone(math.sinh))
case("cosh", HYPERBOLIC, oracle=sympy.cosh, bounds=_cosh_bounds)
case("asin", HALF, oracle=sympy.asin, bounds=monotone(math.asin))
case("acos", HALF, oracle=sympy.acos, bounds=monotone(math.acos))
case("atan", FUNCTION, oracle=sympy.atan, bounds=monotone(math.atan))
case("softplus", FUNCTION, oracle=lambda a: sympy.log(1 + sympy.exp(a)), bounds=monotone(_softplus))

# -- leaky_relu(x) and leaky_relu(x, slope): a kink at 0, where the slope (the left side) is taken ----


def _leaky(a, *rest):
    """leaky_relu(a) or leaky_relu(a, slope), then the side: slope·a on the left and at 0."""
    *slope, side = rest
    return a if side > 0 else (slope[0] if slope else sympy.Rational(1, 100)) * a


def _leaky_bounds(a, s=None) -> tuple[float, float]:
    """Piecewise linear in a, linear in the slope: the extremes are at a's ends or 0, the slope's ends."""
    slopes = (0.01,) if s is None else (s.lo, s.hi)
    xs = [a.lo, a.hi, *([0.0] if a.lo < 0.0 < a.hi else [])]
    return span(*(x if x > 0.0 else slope * x for x in xs for slope in slopes))


def _leaky_node(g, case):
    if g.draw(st.booleans()):
        return g.node(case.name, g.sub())
    return g.node(case.name, g.sub(), g.small(g.sub(), 1.0))


def _leaky_tensor(t, case):
    if t.draw(st.booleans()):
        return t.call(case, t.sub())
    a, slope = t.operands()
    return t.elementwise(case, f"leaky_relu({a.text}, {slope.text})", a, slope)


AWAY = reals(-100.0, 100.0, avoid=0.0)
case(
    "leaky_relu",
    KINKED,
    domain=st.one_of(broadcast(AWAY), broadcast(AWAY, SMALL)),
    kink=lambda x, *slope: x,
    oracle=_leaky,
    bounds=_leaky_bounds,
    generate=_leaky_node,
    tensor=_leaky_tensor,
)
