"""The operations of the language: one entry per op, its forward value beside its local derivative rule.

Every op is a class used as a namespace (its functions take no `self`) and registered by `@op`:

    forward(*inputs) -> out
        The value, from the values of the inputs (floats, or NumPy arrays for tensors).
    vjp(g, out, *inputs) -> one gradient per input
        The vector-Jacobian product: given g = dL/d(out), return dL/d(input) for each input,
        i.e. g times the local derivative d(out)/d(input). A rule may use g, out and the inputs.
        The engine sums contributions with `+`, so a node used twice just works.

Optional attributes:
    symbol  the infix spelling (`+`) for rendering; ops without one are called as functions `exp(x)`.
    domain  what the inputs must satisfy, said in words, for the error when forward fails.
    kink(*inputs) -> bool
            True where the derivative is a convention rather than a limit (relu at 0), so the
            gradient check can warn that a numeric difference may disagree there.
    local(out, *inputs) -> one text per input
            The local derivative ∂out/∂input written out for `backprop trace` (`3·b²` for b**3),
            given the labels (strings) of the node and its inputs. Text only: every number shown
            beside it comes from vjp (with g = 1), never from a second formula.

The arity is read from forward's signature. Arithmetic ops use the `operator` module's C functions
as their forward (`forward = operator.add` is `x + y`): no Python frame per node on the hot path. Adding an op is one class here; the engine,
the parser and the CLI find it by name.
"""

from __future__ import annotations

import inspect
import operator
from dataclasses import dataclass
from typing import Callable

from . import kernels as k


@dataclass(frozen=True, slots=True)
class Op:
    """A named primitive: forward value, vector-Jacobian product, and how to talk about it."""

    name: str
    arity: int
    forward: Callable | None
    vjp: Callable | None
    symbol: str | None = None
    domain: str | None = None
    kink: Callable | None = None
    local: Callable | None = None
    callable_by_name: bool = False

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


OPS: dict[str, Op] = {}
"""Every op by name, including the leaves `input` and `const`."""

FUNCTIONS: dict[str, Op] = {}
"""The ops a program may call by name, e.g. `sigmoid(x)`."""


def op(name: str, *, symbol: str | None = None, domain: str | None = None, function: bool = True):
    """Register the decorated class's `forward`/`vjp` (and optional `kink`, `local`) as the op `name`."""

    def register(namespace: type) -> Op:
        forward = namespace.forward
        entry = Op(
            name=name,
            arity=len(inspect.signature(forward).parameters),
            forward=forward,
            vjp=namespace.vjp,
            symbol=symbol,
            domain=domain,
            kink=getattr(namespace, "kink", None),
            local=getattr(namespace, "local", None),
            callable_by_name=function,
        )
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice")
        OPS[name] = entry
        if function:
            FUNCTIONS[name] = entry
        return entry

    return register


# Leaves: their values come from the caller (inputs) or the program text (constants).
INPUT = OPS["input"] = Op("input", 0, None, None)
CONST = OPS["const"] = Op("const", 0, None, None)


# ----------------------------------------------------------------------------------------------
# Arithmetic (infix)
# ----------------------------------------------------------------------------------------------


@op("add", symbol="+", function=False)
class Add:
    forward = operator.add  # x + y

    def vjp(g, out, x, y):
        return g, g

    def local(out, x, y):
        return "1", "1"


@op("sub", symbol="-", function=False)
class Sub:
    forward = operator.sub  # x - y

    def vjp(g, out, x, y):
        return g, -g

    def local(out, x, y):
        return "1", "-1"


@op("mul", symbol="*", function=False)
class Mul:
    forward = operator.mul  # x * y

    def vjp(g, out, x, y):
        return g * y, g * x

    def local(out, x, y):
        return y, x


@op("div", symbol="/", domain="the divisor must not be 0", function=False)
class Div:
    forward = operator.truediv  # x / y

    def vjp(g, out, x, y):
        # d(x/y)/dx = 1/y,  d(x/y)/dy = -x/y² = -out/y
        return g / y, -g * out / y

    def local(out, x, y):
        return f"1/{y}", f"-{x}/{y}²"


@op("neg", symbol="-", function=False)
class Neg:
    forward = operator.neg  # -x

    def vjp(g, out, x):
        return (-g,)

    def local(out, x):
        return ("-1",)


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _power_rule_text(x: str, y: str) -> str:
    """d(x^y)/dx as text: `3·b²` when the exponent is a number literal, else `y·x^(y-1)`."""
    if not (y[:1].isdigit() or y[:1] == "."):  # a name or a letter: no literal to subtract 1 from
        return f"{y}·{x}^({y}-1)"
    n = float(y)
    if n == 0.0:
        return "0"
    m = n - 1.0
    if m == 0.0:
        return "1"
    if m == 1.0:
        return f"{y}·{x}"
    power = f"{m:g}".translate(_SUPERSCRIPT) if m.is_integer() and abs(m) < 1e6 else f"^{m:g}"
    return f"{y}·{x}{power}"


@op(
    "pow",
    symbol="**",
    domain="x**y needs x > 0, or a whole-number y (and y ≥ 0 when x = 0)",
    function=False,
)
class Pow:
    def forward(x, y):
        out = x**y
        if type(out) is complex:  # Python's float power of a negative base; NumPy gives NaN
            raise ValueError("negative base with a non-integer exponent")
        return out

    def vjp(g, out, x, y):
        # d(x^y)/dx = y·x^(y-1);  d(x^y)/dy = x^y·ln x, which exists only for x > 0
        # (at x = 0 it is 0 for y > 0; for x < 0 it is undefined: NaN, reported only if y needs it).
        dx = g * y * x ** (y - 1.0) if k.any_true(y != 0.0) else 0.0 * g  # x^0 is flat, even at 0
        positive = x > 0.0
        log_x = k.log(k.where(positive, x, 1.0))
        dy = g * out * k.where(positive, log_x, k.where(x == 0.0, 0.0, float("nan")))
        return dx, dy

    def local(out, x, y):
        return _power_rule_text(x, y), f"{out}·ln {x}"


# ----------------------------------------------------------------------------------------------
# Elementary functions (called by name)
# ----------------------------------------------------------------------------------------------


@op("exp")
class Exp:
    def forward(x):
        return k.exp(x)

    def vjp(g, out, x):
        return (g * out,)

    def local(out, x):
        return (f"exp({x})",)


@op("log", domain="log needs its argument > 0")
class Log:
    """Natural logarithm."""

    def forward(x):
        return k.log(x)

    def vjp(g, out, x):
        return (g / x,)

    def local(out, x):
        return (f"1/{x}",)


@op("sqrt", domain="sqrt needs its argument ≥ 0 (and > 0 for its derivative)")
class Sqrt:
    def forward(x):
        return k.sqrt(x)

    def vjp(g, out, x):
        return (g / (2.0 * out),)

    def local(out, x):
        return (f"1/(2·sqrt({x}))",)


@op("sin")
class Sin:
    def forward(x):
        return k.sin(x)

    def vjp(g, out, x):
        return (g * k.cos(x),)

    def local(out, x):
        return (f"cos({x})",)


@op("cos")
class Cos:
    def forward(x):
        return k.cos(x)

    def vjp(g, out, x):
        return (-g * k.sin(x),)

    def local(out, x):
        return (f"-sin({x})",)


@op("tan")
class Tan:
    def forward(x):
        return k.tan(x)

    def vjp(g, out, x):
        return (g * (1.0 + out * out),)  # tan' = 1 + tan²

    def local(out, x):
        return (f"1 + {out}²",)


@op("tanh")
class Tanh:
    def forward(x):
        return k.tanh(x)

    def vjp(g, out, x):
        return (g * (1.0 - out * out),)  # tanh' = 1 - tanh²

    def local(out, x):
        return (f"1 - {out}²",)


@op("sigmoid")
class Sigmoid:
    """σ(x) = 1 / (1 + e^-x)."""

    def forward(x):
        # Written so that neither branch overflows: e^-|x| ≤ 1.
        z = k.exp(-abs(x))
        return k.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))

    def vjp(g, out, x):
        return (g * out * (1.0 - out),)  # σ' = σ(1 - σ)

    def local(out, x):
        return (f"{out}·(1 - {out})",)


# ----------------------------------------------------------------------------------------------
# Piecewise functions: derivatives at the kinks follow the lecture's conventions
# ----------------------------------------------------------------------------------------------


@op("relu")
class Relu:
    def forward(x):
        return k.where(x > 0.0, x, 0.0)

    def vjp(g, out, x):
        return (k.where(x > 0.0, g, 0.0),)  # relu'(0) = 0, as in the lecture

    def local(out, x):
        return (f"[{x} > 0]",)

    def kink(x):
        return k.any_true(x == 0.0)


@op("abs")
class Abs:
    def forward(x):
        return abs(x)

    def vjp(g, out, x):
        return (g * k.sign(x),)  # abs'(0) = 0

    def local(out, x):
        return (f"sign({x})",)

    def kink(x):
        return k.any_true(x == 0.0)


def _first_share(x_wins, tie):
    """The share of the gradient that goes to the first argument of max/min: 1, ½ at a tie, or 0."""
    return k.where(x_wins, 1.0, k.where(tie, 0.5, 0.0))


@op("max")
class Max:
    def forward(x, y):
        return k.where(x >= y, x, y)

    def vjp(g, out, x, y):
        share = _first_share(x > y, x == y)  # a tie splits the gradient equally
        return g * share, g * (1.0 - share)

    def local(out, x, y):
        return f"[{x} > {y}] (½ at a tie)", f"[{y} > {x}] (½ at a tie)"

    def kink(x, y):
        return k.any_true(x == y)


@op("min")
class Min:
    def forward(x, y):
        return k.where(x <= y, x, y)

    def vjp(g, out, x, y):
        share = _first_share(x < y, x == y)  # a tie splits the gradient equally
        return g * share, g * (1.0 - share)

    def local(out, x, y):
        return f"[{x} < {y}] (½ at a tie)", f"[{y} < {x}] (½ at a tie)"

    def kink(x, y):
        return k.any_true(x == y)
