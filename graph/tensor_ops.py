"""The tensor operations: literals, subscripts, linear algebra, reductions (a scalar stays a float).

Registered like the ops in ops.py (whose docstring states the contract); these are the ops that are
not elementwise, so each also has a `shape` rule: the result's shape from its inputs' shapes,
with the checks of the forward kernel, for the shape pass that runs before any value exists.

Their `local` writes the whole vector-Jacobian product as the lectures do (notes §3.3), with the
node's gradient `out.grad` in it: `W2ᵀ · yhat.grad`, `h.grad · xᵀ`. The Jacobian of a tensor op is
no number to multiply by, so the text is the step's right-hand side; `·` is a matrix product
(an outer product for two vectors), `⊙` an elementwise one, `Σ` a sum along the last axis.
"""

from __future__ import annotations

from . import kernels as k
from .registry import ALL, op


@op("array", function=False)
class Array:
    """A list literal [x, y, …]: the elements, of one shape, stacked along a new first axis."""

    def forward(*elements):
        return k.stack(elements)

    def vjp(g, out, *elements):
        return tuple(k.like(g[i], element) for i, element in enumerate(elements))

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

    def local(out, x):
        return (f"{out}.grad - softmax({x}) ⊙ Σ {out}.grad",)

    def shape(x):
        return x
