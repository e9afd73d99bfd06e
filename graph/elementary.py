"""More elementary functions, the ones students type beside exp and log: logarithms to bases 2 and 10,
hyperbolic and inverse trigonometric functions, softplus and leaky_relu, and the names other tools use
for ops we already have (`ln`, `pow`).

Registered like the ops in ops.py, whose docstring states the contract (forward, vjp, local, kink,
sides); ops.py imports this module at its end, so `from .ops import OPS` sees these too. Every forward
goes through graph/kernels.py, which batch.py routes to the C library, so `batch` and `eval` agree to
the last bit.
"""

from __future__ import annotations

import math

from . import kernels as k
from .registry import FUNCTIONS, OPS, op

LN2, LN10 = math.log(2.0), math.log(10.0)

# -- Other names for ops we have: the same op, so the same domain errors and derivative ----------
# A node keeps its op's name in tables and traces: `ln(x)` is a log node, `pow(x, y)` a pow node
# (the expression column shows the program's own text).
FUNCTIONS["ln"] = OPS["log"]
FUNCTIONS["pow"] = OPS["pow"]


# -- Logarithms to other bases -------------------------------------------------------------------


@op("log2", domain="log2 needs its argument > 0", elementwise=True)
class Log2:
    def forward(x):
        return k.log2(x)  # the C library's log2, exact at powers of 2 (log(x)/ln 2 is not)

    def vjp(g, out, x):
        return (g / (x * LN2),)  # log2 x = ln x / ln 2

    def adjoint(g, out, x):
        return (g / (x * x.table.const(2).fn("log")),)

    def local(out, x):
        return (f"1/({x}·ln(2))",)


@op("log10", domain="log10 needs its argument > 0", elementwise=True)
class Log10:
    def forward(x):
        return k.log10(x)

    def vjp(g, out, x):
        return (g / (x * LN10),)

    def adjoint(g, out, x):
        return (g / (x * x.table.const(10).fn("log")),)

    def local(out, x):
        return (f"1/({x}·ln(10))",)


# -- Hyperbolic functions ------------------------------------------------------------------------


@op("sinh", elementwise=True)
class Sinh:
    def forward(x):
        return k.sinh(x)

    def vjp(g, out, x):
        return (g * k.cosh(x),)

    def adjoint(g, out, x):
        return (x.fn("cosh") * g,)

    def local(out, x):
        return (f"cosh({x})",)


@op("cosh", elementwise=True)
class Cosh:
    def forward(x):
        return k.cosh(x)

    def vjp(g, out, x):
        return (g * k.sinh(x),)

    def adjoint(g, out, x):
        return (x.fn("sinh") * g,)

    def local(out, x):
        return (f"sinh({x})",)


# -- Inverse trigonometric functions -------------------------------------------------------------
# (1 - x)(1 + x) rather than 1 - x²: near ±1, x² rounds and the slope would lose its digits.
# At x = ±1 the value exists but the slope is infinite; the engine refuses it with its place.

ARC_DOMAIN = "{} needs its argument in [-1, 1] (and inside (-1, 1) for its derivative)"


@op("asin", domain=ARC_DOMAIN.format("asin"), elementwise=True)
class Asin:
    def forward(x):
        return k.asin(x)

    def vjp(g, out, x):
        return (g / k.sqrt((1.0 - x) * (1.0 + x)),)

    def adjoint(g, out, x):
        return (g / ((1 - x) * (1 + x)).fn("sqrt"),)

    def local(out, x):
        return (f"1/sqrt(1 - {x}²)",)


@op("acos", domain=ARC_DOMAIN.format("acos"), elementwise=True)
class Acos:
    def forward(x):
        return k.acos(x)

    def vjp(g, out, x):
        return (-g / k.sqrt((1.0 - x) * (1.0 + x)),)

    def adjoint(g, out, x):
        return (-g / ((1 - x) * (1 + x)).fn("sqrt"),)

    def local(out, x):
        return (f"-1/sqrt(1 - {x}²)",)


@op("atan", elementwise=True)
class Atan:
    def forward(x):
        return k.atan(x)

    def vjp(g, out, x):
        return (g / (1.0 + x * x),)

    def adjoint(g, out, x):
        return (g / (1 + x**2),)

    def local(out, x):
        return (f"1/(1 + {x}²)",)


# -- Smooth and leaky rectifiers ---------------------------------------------------------------

_sigmoid = OPS["sigmoid"].forward  # softplus' = σ, computed the way sigmoid is (never overflows)


@op("softplus", elementwise=True)
class Softplus:
    """softplus(x) = ln(1 + e^x)."""

    def forward(x):
        # ln(1 + e^x) = ln(1 + e^-|x|) + max(x, 0): e^-|x| ≤ 1, so nothing overflows at x = 1000,
        # and log1p keeps the digits of e^-|x| when it is tiny.
        return k.log1p(k.exp(-abs(x))) + k.where(x > 0.0, x, 0.0)

    def vjp(g, out, x):
        return (g * _sigmoid(x),)

    def adjoint(g, out, x):
        return (x.fn("sigmoid") * g,)

    def local(out, x):
        return (f"sigmoid({x})",)


DEFAULT_SLOPE = 0.01
"""leaky_relu's slope below 0 when the program gives none, as in PyTorch and TensorFlow."""


@op("leaky_relu", elementwise=True)
class LeakyRelu:
    """leaky_relu(x) = x for x > 0, slope·x otherwise; leaky_relu(x, slope) with a slope of one's own."""

    def forward(x, slope=DEFAULT_SLOPE):
        # A sum rather than where(x > 0, x, slope·x): a scalar x with a vector slope broadcasts.
        # One term is always exactly 0, so the sum is exact.
        return k.where(x > 0.0, x, 0.0) + slope * k.where(x > 0.0, 0.0, x)

    def vjp(g, out, x, slope=None):
        # leaky_relu'(0) = slope: the left side, as relu'(0) = 0 is relu's left side.
        above = k.where(x > 0.0, 1.0, 0.0)
        s = DEFAULT_SLOPE if slope is None else slope
        dx = g * (above + s * (1.0 - above))
        return (dx,) if slope is None else (dx, g * k.where(x > 0.0, 0.0, x))

    def adjoint(g, out, x, slope=None):
        above = x.fn("sign").fn("relu")  # 1 for x > 0, else 0: the left side at 0, as vjp
        s = x.table.const(DEFAULT_SLOPE) if slope is None else slope
        dx = (above + s * (1 - above)) * g
        return (dx,) if slope is None else (dx, x * (1 - above) * g)

    def local(out, x, slope=None):
        s = str(DEFAULT_SLOPE) if slope is None else slope
        dx = f"[{x} > 0] + {s}·[{x} ≤ 0]"
        return (dx,) if slope is None else (dx, f"{x}·[{x} ≤ 0]")

    def kink(x, slope=None):
        at = x == 0.0
        return at if slope is None else at & (slope == slope)  # `&` broadcasts it to a slope vector

    def sides(x, slope=None):
        s = DEFAULT_SLOPE if slope is None else slope
        below = ((s, 1.0),)  # slope s on the left, 1 on the right; vjp takes the left
        return below if slope is None else (*below, (0.0, 0.0))  # at x = 0 the slope moves nothing
