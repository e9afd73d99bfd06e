"""The tensor operations: literals, subscripts, linear algebra, reductions (a scalar stays a float).

Registered like the ops in ops.py (whose docstring states the contract); these are the ops that are
not elementwise, so each also has a `shape` rule: the result's shape from its inputs' shapes,
with the checks of the forward kernel, for the shape pass that runs before any value exists.

Their `local` writes the whole vector-Jacobian product as the lectures do (notes §3.3), with the
node's gradient `out.grad` in it: `W2ᵀ · yhat.grad`, `h.grad · xᵀ`. The Jacobian of a tensor op is
no number to multiply by, so the text is the step's right-hand side; `·` is a matrix product
(an outer product for two vectors), `⊙` an elementwise one, `Σ` a sum along the last axis.

Their `adjoint` writes the same product as terms (graph/terms.py) for `backprop diff`, given g in
the node's whole shape. The ops spread, sum_to and scatter at the end are what those rules need and
the other ops cannot say: broadcasting, a reduction and a subscript, undone.
"""

from __future__ import annotations

from math import prod

from . import kernels as k
from .registry import ALL, op


@op("array", function=False)
class Array:
    """A list literal [x, y, …]: the elements, of one shape, stacked along a new first axis."""

    def forward(*elements):
        return k.stack(elements)

    def vjp(g, out, *elements):
        return tuple(k.like(g[i], element) for i, element in enumerate(elements))

    def adjoint(g, out, *elements):
        return tuple(g.fn("index", i) for i in range(len(elements)))  # g[0], g[1], …

    def local(out, *elements):
        return tuple(f"{out}.grad[{i}]" for i in range(len(elements)))

    def shape(*elements):
        return k.stack_shape(elements)


@op("index", function=False, static_from=1)
class Index:
    """x[i] or x[i, j]: whole-number subscripts written in the program; negative ones count from the end."""

    def forward(x, *subscripts):
        return k.take(x, subscripts)

    def vjp(g, out, x, *subscripts):
        return (k.untake(g, x, subscripts), *(None for _ in subscripts))

    def adjoint(g, out, x, *subscripts):
        return (g.fn("scatter", x, *subscripts), *(None for _ in subscripts))

    def local(out, x, *subscripts):
        return (f"{out}.grad at {x}[{', '.join(subscripts)}], 0 elsewhere", *("" for _ in subscripts))

    def shape(x, *subscripts):
        return k.take_shape(x, subscripts)


@op("matmul", symbol="@", function=False)
class MatMul:
    """x @ y with NumPy's rules: matrix·matrix, matrix·vector, vector·matrix, vector·vector (dot)."""

    def forward(x, y):
        return k.matmul(x, y)

    def vjp(g, out, x, y, wants=ALL):
        return k.matmul_vjp(g, x, y, wants)  # g @ yᵀ and xᵀ @ g

    def adjoint(g, out, x, y):
        if len(x.shape) > 2 or len(y.shape) > 2:
            from .errors import ShapeError

            raise ShapeError(
                "diff writes @ of vectors and matrices only, not of stacks of them",
                hint="get this program's gradient as numbers with `backprop eval`",
            )
        if len(x.shape) == 1 and len(y.shape) == 1:
            return y * g, x * g  # a dot product: the gradient is a scalar
        if len(y.shape) == 1:
            return _outer(g, y), x.T @ g
        if len(x.shape) == 1:
            return y @ g, _outer(x, g)
        return g @ y.T, x.T @ g

    def local(out, x, y):
        return f"{out}.grad · {y}ᵀ", f"{x}ᵀ · {out}.grad"

    def shape(x, y):
        return k.matmul_shape(x, y)


@op("transpose")
class Transpose:
    """transpose(x), also written x.T: the axes reversed (a vector stays a vector)."""

    def forward(x):
        return k.transpose(x)

    def vjp(g, out, x):
        return (k.transpose(g),)

    def adjoint(g, out, x):
        return (g.T if len(g.shape) > 1 else g,)  # a vector's transpose is itself

    def local(out, x):
        return (f"{out}.gradᵀ",)

    def shape(x):
        return x[::-1]


@op("sum", static_from=1)
class Sum:
    """sum(x): the sum of every element, a scalar; sum(x, axis): along one axis."""

    def forward(x, axis=None):
        return k.total(x, axis)

    def vjp(g, out, x, axis=None):
        grad = k.spread(g, x, axis)
        return (grad,) if axis is None else (grad, None)

    def adjoint(g, out, x, axis=None):
        return (g,) if axis is None else (_spread_back(g, x, axis), None)

    def local(out, x, axis=None):
        if axis is None:
            return (f"{out}.grad · 1, spread over {x}'s shape",)
        return f"{out}.grad · 1, spread along axis {axis} of {x}", ""

    def shape(x, axis=None):
        return k.reduced_shape(x, axis)


@op("mean", static_from=1)
class Mean:
    """mean(x): the mean of every element; mean(x, axis): along one axis."""

    def forward(x, axis=None):
        return k.total(x, axis) / k.count(x, axis)

    def vjp(g, out, x, axis=None):
        grad = k.spread(g, x, axis) / k.count(x, axis)
        return (grad,) if axis is None else (grad, None)

    def adjoint(g, out, x, axis=None):
        if axis is None:
            return (g / prod(x.shape),)
        return _spread_back(g, x, axis) / x.shape[_axis(x, axis)], None

    def local(out, x, axis=None):
        if axis is None:
            return (f"{out}.grad / n, spread over {x}'s shape (n: {x}'s elements)",)
        return f"{out}.grad / n, spread along axis {axis} of {x} (n: its length)", ""

    shape = Sum.shape  # a mean has its sum's shape


@op("logsumexp")
class LogSumExp:
    """log Σ e^x along the last axis (a vector gives a scalar)."""

    def forward(x):
        return k.logsumexp(x)

    def vjp(g, out, x):
        return (k.expand_last(g, x) * k.softmax(x),)  # ∂/∂x_i = softmax(x)_i

    def adjoint(g, out, x):
        if not x.shape:
            return (g,)  # logsumexp of a number is itself
        return (_spread_back(g, x, len(x.shape) - 1) * x.fn("softmax"),)

    def local(out, x):
        return (f"{out}.grad ⊙ softmax({x})",)

    def shape(x):
        return x[:-1]


@op("softmax")
class Softmax:
    """e^x / Σ e^x along the last axis."""

    def forward(x):
        return k.softmax(x)

    def vjp(g, out, x):
        return (out * (g - k.sum_last(g * out)),)  # J = diag(s) − s sᵀ, applied to g

    def adjoint(g, out, x):
        if not x.shape:
            return (0 * g,)  # softmax of a number is 1
        return (out * (g - _sum_last(g * out, x)),)

    def local(out, x):
        return (f"{out} ⊙ ({out}.grad - Σ {out}.grad ⊙ {out})",)

    def shape(x):
        return x


@op("log_softmax")
class LogSoftmax:
    """x − logsumexp(x) along the last axis."""

    def forward(x):
        return k.log_softmax(x)

    def vjp(g, out, x):
        return (g - k.softmax(x) * k.sum_last(g),)

    def adjoint(g, out, x):
        if not x.shape:
            return (0 * g,)  # log_softmax of a number is 0
        return (g - x.fn("softmax") * _sum_last(g, x),)

    def local(out, x):
        return (f"{out}.grad - softmax({x}) ⊙ Σ {out}.grad",)

    def shape(x):
        return x


# -- Helpers of the adjoint rules (terms, graph/terms.py) -------------------------------------------


def _outer(x, y):
    """The outer product of two vectors, as the language writes it: a column times a row."""
    return x.fn("array").T @ y.fn("array")


def _axis(x, axis) -> int:
    """The axis term `axis` of x, counted from the front."""
    return int(axis.value) % len(x.shape)


def _spread_back(g, x, axis):
    """g, reduced along `axis` of x, made to broadcast against x again: the first axis comes back by
    broadcasting alone; any other is spread (put back, and repeated along it)."""
    a = axis if isinstance(axis, int) else _axis(x, axis)
    return g if a == 0 else g.fn("spread", x, a)


def _sum_last(t, x):
    """Σ t along x's last axis, made to broadcast against x: sum(t) for a vector."""
    if len(x.shape) == 1:
        return t.fn("sum")
    last = len(x.shape) - 1
    return _spread_back(t.fn("sum", last), x, last)


# -- The ops diff writes tensor derivatives with: broadcasting and subscripts, undone -------------


@op("spread", static_from=2)
class Spread:
    """spread(g, x): g repeated to x's shape (broadcast); spread(g, x, axis): g with that axis put
    back and repeated along it. The derivative of a sum, as `backprop diff` writes it."""

    def forward(g, x, axis=None):
        return _broadcast_to(g, x, axis)

    def vjp(gg, out, g, x, axis=None):
        grad = _fit_to(gg if axis is None else k.total(gg, axis), g)
        unmoved = 0.0 * x  # x lends its shape only
        return (grad, unmoved) if axis is None else (grad, unmoved, None)

    def adjoint(gg, out, g, x, axis=None):
        if axis is None:
            return _sum_to(gg, g), None
        return gg.fn("sum", axis), None, None

    def local(out, g, x, axis=None):
        where = "" if axis is None else f" along axis {axis}"
        return (f"{out}.grad summed back{where} to {g}'s shape", "0", *([""] if axis is not None else []))

    def shape(g, x, axis=None):
        return _spread_shape(g, x, axis)


@op("sum_to")
class SumTo:
    """sum_to(g, x): g (broadcast with x) summed down to x's shape: broadcasting undone."""

    def forward(g, x):
        return _fit_to(g, x)

    def vjp(gg, out, g, x):
        return _fit_to(gg, g), 0.0 * x  # x lends its shape only

    def adjoint(gg, out, g, x):
        return _sum_to(gg, g), None

    def local(out, g, x):
        return f"{out}.grad repeated to {g}'s shape", "0"

    def shape(g, x):
        k.broadcast_shape([g, x], "sum_to")
        return x


def _broadcast_to(g, x, axis=None):
    """g repeated to x's shape (axis: put back first); a float for a float x."""
    if type(x) is float:
        return float(g)
    np = k.numpy()
    if axis is not None:  # g fills the shape x has without the axis, which then comes back
        a = k.axis_of(x.shape, axis) % x.ndim
        g = np.expand_dims(np.broadcast_to(g, x.shape[:a] + x.shape[a + 1 :]), a)
    return np.array(np.broadcast_to(g, x.shape), dtype=np.float64)


def _fit_to(g, x):
    """g broadcast with x, then summed down to x's shape; a float for a float x."""
    if type(x) is float:
        return k.total(g)
    np = k.numpy()
    g = np.broadcast_to(g, k.broadcast_shape([k.shape(g), x.shape], "sum_to"))
    return np.array(k.sum_to(g, x.shape), dtype=np.float64)


def _spread_shape(g, x, axis=None):
    """spread's shape (x's), checking that g fits it."""
    from .errors import ShapeError

    target = tuple(x)
    if axis is not None:
        a = k.axis_of(x, axis) % len(x)
        target = target[:a] + target[a + 1 :]
    if k.broadcast_shape([g, target], "spread") != target:
        raise ShapeError(f"spread: {k.describe_shape(g)} does not broadcast to {k.describe_shape(target)}")
    return x


def _sum_to(g, x):
    """g summed to x's shape (as a term), written plainly where it can be."""
    if g.shape == x.shape or k.broadcast_shape([g.shape, x.shape], "sum_to") == x.shape:
        return g  # it broadcasts to x's shape already
    return g.fn("sum") if not x.shape else g.fn("sum_to", x)


@op("scatter", static_from=2)
class Scatter:
    """scatter(g, x, i, j…): zeros of x's shape with g at x[i, j, …]: the derivative of a subscript."""

    def forward(g, x, *subscripts):
        return k.untake(g, x, subscripts)

    def vjp(gg, out, g, x, *subscripts):
        return (k.take(gg, subscripts), 0.0 * x, *(None for _ in subscripts))  # x lends its shape

    def adjoint(gg, out, g, x, *subscripts):
        return (_sum_to(gg.fn("index", *subscripts), g), None, *(None for _ in subscripts))

    def local(out, g, x, *subscripts):
        return (f"{out}.grad[{', '.join(subscripts)}]", "0", *("" for _ in subscripts))

    def shape(g, x, *subscripts):
        part = k.take_shape(x, subscripts)
        if k.broadcast_shape([g, part], "scatter") != part:
            from .errors import ShapeError

            raise ShapeError(f"scatter: {k.describe_shape(g)} does not fit x[…] of {k.describe_shape(part)}")
        return x
