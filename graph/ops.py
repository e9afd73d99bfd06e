"""The operations of the language: one entry per op, its forward value beside its local derivative rule.

Every op is a class used as a namespace (its functions take no `self`) registered by `@op`:

    forward(*inputs) -> out
        The value, from the values of the inputs (floats, or NumPy arrays for tensors).
    vjp(g, out, *inputs) -> one gradient per input
        The vector-Jacobian product: given g = dL/d(out), return dL/d(input) for each input,
        i.e. g times the local derivative d(out)/d(input). A rule may use g, out and the inputs.
        The engine sums contributions with `+`, so a node used twice just works.
        A binary rule may also take `wants=ALL`: where one input needs no gradient (a constant,
        or data that is not trained), the engine passes which do, and the rule may skip the other
        and return None for it (matmul's g @ yᵀ for a data matrix is the costly one).

    adjoint(g, out, *inputs) -> one term per input
        The vjp once more, written as terms (graph/terms.py) rather than computed: g, out and the
        inputs are Terms, combined with + - * / ** @ .T and `x.fn("cos")`, so that `backprop diff`
        can print the backward pass as a program. A kink is written with sign(), the same
        convention vjp takes (relu' = sign(relu(x)), 0 at 0). `diff` refuses a program with an op
        that has none (a test lists them).

Optional functions:
    kink(*inputs) -> bool, or an array of bools for tensors
            True where the derivative is a convention rather than a limit (relu at 0): there
            eval, trace and batch warn, and the gradient check does not fail a numeric difference.
    sides(*inputs) -> one (left, right) pair per input, for an op with a kink
            The one-sided derivatives ∂out/∂input at the kink, that input alone moving down (left)
            or up (right); given the inputs at one kinked element (floats). The convention taken
            there is the vjp itself (with g = 1), never a second formula.
    shape(*input_shapes) -> the output's shape
            For ops that are not elementwise (those broadcast their inputs' shapes): the shape of
            the result from the shapes of the inputs (tuples; a static input, such as an axis, is
            its value), raising the ShapeError forward would. The shape pass (graph/shapes.py)
            runs these before any value is computed, to judge the run's memory.
    local(out, *inputs) -> one text per input
            The local derivative ∂out/∂input written out for `backprop trace` (`3·b²` for b**3),
            given the labels (strings) of the node and its inputs. Text only: every number shown
            beside it comes from vjp (with g = 1), never from a second formula. Write it
            unbracketed: the trace brackets a text that is not a product of atoms (`(1 - b²)`).

The arity is read from forward's signature: parameters with defaults are optional (`sum(x)` or
`sum(x, axis)`) and `*rest` takes any number. The options of `@op` (symbol, domain, function,
static_from, elementwise) are described in graph/registry.py.
Broadcasting is undone by the engine, not the rules: every gradient is summed back to the shape
of its input (kernels.sum_to), so a rule may return g in the broadcast shape.

Adding an op is one class here; the engine, the parser and the CLI find it by name.
"""

from __future__ import annotations

import operator

from . import kernels as k
from .notation import power_rule_text
from .registry import ALL, CONST, CONSTANTS, FUNCTIONS, INPUT, OPS, REBINDABLE, Op, op

# Import the tables from here, not from registry.py: importing this module is what fills them.
__all__ = ["CONST", "CONSTANTS", "FUNCTIONS", "INPUT", "OPS", "REBINDABLE", "Op"]


# -- Arithmetic (infix); forward is an `operator` C function: no Python frame per node -------------


@op("add", symbol="+", function=False, elementwise=True)
class Add:
    forward = operator.add  # x + y

    def vjp(g, out, x, y):
        return g, g

    def adjoint(g, out, x, y):
        return g, g

    def local(out, x, y):
        return "1", "1"


@op("sub", symbol="-", function=False, elementwise=True)
class Sub:
    forward = operator.sub  # x - y

    def vjp(g, out, x, y, wants=ALL):
        return g, -g if wants[1] else None

    def adjoint(g, out, x, y):
        return g, -g

    def local(out, x, y):
        return "1", "-1"


@op("mul", symbol="*", function=False, elementwise=True)
class Mul:
    forward = operator.mul  # x * y

    def vjp(g, out, x, y, wants=ALL):
        return g * y if wants[0] else None, g * x if wants[1] else None

    def adjoint(g, out, x, y):
        return y * g, x * g

    def local(out, x, y):
        return y, x


@op("div", symbol="/", domain="the divisor must not be 0", function=False, elementwise=True)
class Div:
    forward = operator.truediv  # x / y

    def vjp(g, out, x, y, wants=ALL):
        # d(x/y)/dx = 1/y,  d(x/y)/dy = -x/y² = -out/y
        return g / y if wants[0] else None, -g * out / y if wants[1] else None

    def adjoint(g, out, x, y):
        return g / y, -(x * g) / y**2

    def local(out, x, y):
        return f"1/{y}", f"-{x}/{y}²"


@op("neg", symbol="-", function=False, elementwise=True)
class Neg:
    forward = operator.neg  # -x

    def vjp(g, out, x):
        return (-g,)

    def adjoint(g, out, x):
        return (-g,)

    def local(out, x):
        return ("-1",)


@op(
    "pow",
    symbol="**",
    domain="x**y needs x > 0, or a whole-number y (and y ≥ 0 when x = 0)",
    function=False,
    elementwise=True,
)
class Pow:
    def forward(x, y):
        out = k.power(x, y)  # x**y; on arrays a small whole y is multiplications (kernels.WHOLE_POWERS)
        if type(out) is complex:  # Python's float power of a negative base; NumPy gives NaN
            raise ValueError("negative base with a non-integer exponent")
        return out

    def vjp(g, out, x, y, wants=ALL):
        # d(x^y)/dx = y·x^(y-1) (kernels.power_slope);  d(x^y)/dy = x^y·ln x, which exists only
        # for x > 0 (kernels.log_of_base)
        dx = g * k.power_slope(x, y) if wants[0] else None
        return dx, g * out * k.log_of_base(x) if wants[1] else None

    def adjoint(g, out, x, y):
        # ln x as log_of_base takes it: 0 at x = 0, where max(x, 1 - |sign x|) is 1 (and x elsewhere)
        base = x if x.is_const() and x.value > 0 else x.fn("max", 1 - x.fn("sign").fn("abs"))
        return y * x ** (y - 1) * g, out * base.fn("log") * g

    def local(out, x, y):
        return power_rule_text(x, y), f"{out}·ln({x})"


# -- Elementary functions (called by name) ---------------------------------------------------------


@op("exp", elementwise=True)
class Exp:
    def forward(x):
        return k.exp(x)

    def vjp(g, out, x):
        return (g * out,)

    def adjoint(g, out, x):
        return (out * g,)

    def local(out, x):
        return (f"exp({x})",)


@op("log", domain="log needs its argument > 0", elementwise=True)
class Log:
    """Natural logarithm."""

    def forward(x):
        return k.log(x)

    def vjp(g, out, x):
        return (g / x,)

    def adjoint(g, out, x):
        return (g / x,)

    def local(out, x):
        return (f"1/{x}",)


@op("sqrt", domain="sqrt needs its argument ≥ 0 (and > 0 for its derivative)", elementwise=True)
class Sqrt:
    def forward(x):
        return k.sqrt(x)

    def vjp(g, out, x):
        return (g / (2.0 * out),)

    def adjoint(g, out, x):
        return (g / (2 * out),)

    def local(out, x):
        return (f"1/(2·sqrt({x}))",)


@op("sin", elementwise=True)
class Sin:
    def forward(x):
        return k.sin(x)

    def vjp(g, out, x):
        return (g * k.cos(x),)

    def adjoint(g, out, x):
        return (x.fn("cos") * g,)

    def local(out, x):
        return (f"cos({x})",)


@op("cos", elementwise=True)
class Cos:
    def forward(x):
        return k.cos(x)

    def vjp(g, out, x):
        return (-g * k.sin(x),)

    def adjoint(g, out, x):
        return (-(x.fn("sin") * g),)

    def local(out, x):
        return (f"-sin({x})",)


@op("tan", elementwise=True)
class Tan:
    def forward(x):
        return k.tan(x)

    def vjp(g, out, x):
        return (g * (1.0 + out * out),)  # tan' = 1 + tan²

    def adjoint(g, out, x):
        return ((1 + out**2) * g,)

    def local(out, x):
        return (f"1 + {out}²",)


@op("tanh", elementwise=True)
class Tanh:
    def forward(x):
        return k.tanh(x)

    def vjp(g, out, x):
        return (g * (1.0 - out * out),)  # tanh' = 1 - tanh²

    def adjoint(g, out, x):
        return ((1 - out**2) * g,)

    def local(out, x):
        return (f"1 - {out}²",)


@op("sigmoid", elementwise=True)
class Sigmoid:
    """σ(x) = 1 / (1 + e^-x)."""

    def forward(x):
        # Written so that neither branch overflows: e^-|x| ≤ 1.
        z = k.exp(-abs(x))
        return k.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))

    def vjp(g, out, x):
        return (g * out * (1.0 - out),)  # σ' = σ(1 - σ)

    def adjoint(g, out, x):
        return (out * (1 - out) * g,)

    def local(out, x):
        return (f"{out}·(1 - {out})",)


# -- Piecewise functions: derivatives at the kinks follow the lecture's conventions ----------------


@op("relu", elementwise=True)
class Relu:
    def forward(x):
        return k.where(x > 0.0, x, 0.0)

    def vjp(g, out, x):
        return (k.where(x > 0.0, g, 0.0),)  # relu'(0) = 0, as in the lecture

    def adjoint(g, out, x):
        return (x.fn("sign").fn("relu") * g,)  # relu(sign(x)): 1 for x > 0, else 0

    def local(out, x):
        return (f"[{x} > 0]",)

    def kink(x):
        return x == 0.0

    def sides(x):
        return ((0.0, 1.0),)  # flat on the left, slope 1 on the right; vjp takes relu'(0) = 0


@op("abs", elementwise=True)
class Abs:
    def forward(x):
        return abs(x)

    def vjp(g, out, x):
        return (g * k.sign(x),)  # abs'(0) = 0

    def adjoint(g, out, x):
        return (x.fn("sign") * g,)

    def local(out, x):
        return (f"sign({x})",)

    def kink(x):
        return x == 0.0

    def sides(x):
        return ((-1.0, 1.0),)  # vjp takes abs'(0) = sign(0) = 0, halfway between


@op("max", elementwise=True)
class Max:
    def forward(x, y):
        return k.where(x >= y, x, y)

    def vjp(g, out, x, y, wants=ALL):
        share = k.where(x > y, 1.0, k.where(x == y, 0.5, 0.0))  # x's share: a tie splits it equally
        return g * share if wants[0] else None, g * (1.0 - share) if wants[1] else None

    def adjoint(g, out, x, y):
        step = (x - y).fn("sign")  # x's share is 1, 0, or ½ on a tie
        return (step + 1) / 2 * g, (1 - step) / 2 * g

    def local(out, x, y):
        return f"[{x} > {y}] + ½·[{x} = {y}]", f"[{y} > {x}] + ½·[{x} = {y}]"  # a tie: ½ each

    def kink(x, y):
        return x == y

    def sides(x, y):
        return (0.0, 1.0), (0.0, 1.0)  # an input is the max once it moves above the other


@op("min", elementwise=True)
class Min:
    def forward(x, y):
        return k.where(x <= y, x, y)

    def vjp(g, out, x, y, wants=ALL):
        share = k.where(x < y, 1.0, k.where(x == y, 0.5, 0.0))  # x's share: a tie splits it equally
        return g * share if wants[0] else None, g * (1.0 - share) if wants[1] else None

    def adjoint(g, out, x, y):
        step = (x - y).fn("sign")  # x's share is 1 when x < y, 0, or ½ on a tie
        return (1 - step) / 2 * g, (step + 1) / 2 * g

    def local(out, x, y):
        return f"[{x} < {y}] + ½·[{x} = {y}]", f"[{y} < {x}] + ½·[{x} = {y}]"  # a tie: ½ each

    def kink(x, y):
        return x == y

    def sides(x, y):
        return (1.0, 0.0), (1.0, 0.0)  # an input is the min once it moves below the other


# The tensor ops are in tensor_ops.py, more elementary functions (log2, asin, softplus…) in elementary.py,
# the step sign(x) that `backprop diff` writes kinks with in steps.py; importing them here puts them
# in the tables after these, so `from .ops import OPS` sees every op.
from . import elementary, steps, tensor_ops  # noqa: E402, F401
