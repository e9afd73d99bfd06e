"""The step sign(x): -1, 0 or 1. `backprop diff` writes the derivatives at the kinks with it, in the
conventions the vjps take (relu′ = relu(sign(x)), 0 at 0; max's share of x = (sign(x - y) + 1)/2, ½
on a tie), so a derivative program evaluates to the engine's gradient there too.

Registered like the ops in ops.py (whose docstring states the contract); ops.py imports this module
at its end, so `from .ops import OPS` sees it.
"""

from __future__ import annotations

from . import kernels as k
from .registry import op


@op("sign", elementwise=True)
class Sign:
    """-1, 0 or 1: the step the derivatives of relu, abs, max and min are written with (`diff`)."""

    def forward(x):
        return k.sign(x)

    def vjp(g, out, x):
        return (0.0 * g,)  # flat on each side of 0

    def adjoint(g, out, x):
        return (0 * g,)

    def local(out, x):
        return ("0",)

    def kink(x):
        return x == 0.0

    def sides(x):
        # A jump, not a kink: no one-sided difference quotient is finite at 0. These are the slopes
        # of the two flat pieces beside it, and the gradient check does not judge sign at 0.
        return ((0.0, 0.0),)
