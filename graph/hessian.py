"""Exact second derivatives: the Hessian as the gradient of each first derivative.

`derivative` (adjoint.py) writes ∂f/∂x_i for every input as one program; the ordinary engine's
backward pass over it, from root i, gives row i of the Hessian. That is one forward pass and n
backward passes over a tape of the program's size: exact up to rounding, no finite differences.
The matrix then says what the point is: its eigenvalues, and where the gradient is zero, whether
the point is a minimum, a maximum, a saddle, or cannot be told apart (degenerate).

Tensor inputs: the matrix is over their elements (`W[0,1]`), up to MAX_ELEMENTS of them; each row
is a Hessian–vector product with a unit vector. A product H·v is itself the gradient of one more
program, Σ sum(d_NAME * v_NAME) over the inputs: exact, at the cost of one gradient (`hvp`), so it
has no size limit but the engine's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from . import engine
from .adjoint import as_program, derivative
from .errors import BackpropError, DomainError, InputError
from .program import Program

ZERO_GRADIENT = 1e-8
"""The gradient is zero (the point is stationary) when every |∂f/∂x| is at most this (--gtol)."""

ZERO_EIGENVALUE = 1e-8
"""An eigenvalue is 0 when |λ| ≤ this × max(1, the largest |λ|): the point is then degenerate."""

MAX_INPUTS = 400
"""The most inputs of a full matrix (n backward passes, n² numbers), elements of tensors counted."""


class Hessian(NamedTuple):
    """The second derivatives of a program's output at one point."""

    inputs: list[str]
    matrix: list[list[float]]  # matrix[i][j] = ∂²f/∂x_i∂x_j
    value: float
    gradient: dict[str, float]
    eigenvalues: list[float]  # of (H + Hᵀ)/2, ascending
    kind: str | None  # minimum | maximum | saddle | degenerate; None where the gradient is not 0
    symmetry_error: float  # max |H − Hᵀ|: rounding only, as the exact matrix is symmetric


def hessian(program: Program, values: Mapping[str, object], *, gtol: float = ZERO_GRADIENT) -> Hessian:
    """The Hessian of the program's output at `values`: over the inputs, or over their elements
    where one is a tensor (at most MAX_INPUTS in all)."""
    evaluation, _ = engine.evaluate_given(program, values)
    _refuse_too_many(program, evaluation.inputs)
    _refuse_kinks(program, evaluation)
    names, point = list(program.inputs), evaluation.inputs
    if all(type(point[name]) is float for name in names):
        matrix = rows(program, point, names)
        return describe(names, matrix, evaluation.value, evaluation.gradients, gtol)
    labels = element_labels(point, names)
    product = HessianVectorProduct(program, point)
    matrix = []
    for _, unit in units(point, names):
        matrix.append(flatten(product(unit), names))
    gradient = dict(zip(labels, flatten(evaluation.gradients, names)))
    return describe(labels, matrix, evaluation.value, gradient, gtol)


class HessianVectorProduct:
    """H·v at one point, for any v: the gradient of Σ sum(d_NAME * v_NAME), one program built once."""

    def __init__(self, program: Program, point: Mapping[str, object]) -> None:
        from .kernels import shape

        names = list(program.inputs)
        self.names, self.point = names, point
        shapes = {name: shape(point[name]) for name in names}
        first = derivative(program, names, shapes)
        table = first.terms
        total = table.const(0.0)
        for name, root in zip(names, first.roots):
            table.shapes[VECTOR + name] = shapes[name]
            total = total + (root * table.input(VECTOR + name)).fn("sum")
        self.tape, _ = as_program(first._replace(roots=[total]))

    def __call__(self, vectors: Mapping[str, object]) -> dict[str, object]:
        """H·v, v given per input (every input: zeros where none is meant)."""
        given = {**self.point, **{VECTOR + name: v for name, v in vectors.items()}}
        try:
            values = engine.forward(self.tape, {name: given[name] for name in self.tape.inputs})
            grads = engine.backward(self.tape, values)
        except BackpropError as failure:
            raise DomainError(
                f"the second derivative is not defined at this point ({failure.message})",
                hint="try a point inside the domain of every function, away from its edge",
            ) from None
        ids = self.tape.inputs
        return {name: _grad_or_zero(grads, ids.get(name), self.point[name]) for name in self.names}


VECTOR = "v "
"""The prefix of the vector's inputs in the product's program: with a space, no name of the user's."""


def _grad_or_zero(grads: list, node: int | None, value):
    grad = None if node is None else grads[node]
    if grad is None:
        return 0.0 * value
    return engine.fit_gradient(grad, value)


def hvp(program: Program, values: Mapping[str, object], vectors: Mapping[str, object]):
    """(H·v per input, the evaluation at the point): v is zero for an input `vectors` leaves out."""
    evaluation, _ = engine.evaluate_given(program, values)
    point = evaluation.inputs
    for name, v in vectors.items():
        _check_vector(program, point, name, v)
    _refuse_kinks(program, evaluation)
    full = {name: vectors.get(name, 0.0 * point[name]) for name in program.inputs}
    return HessianVectorProduct(program, point)(full), evaluation


def _check_vector(program: Program, point, name: str, v) -> None:
    from .kernels import describe_shape, shape

    if name not in program.inputs:
        raise InputError(
            f"--hvp {name}: the program has no input named {name}",
            hint=f"the inputs are: {', '.join(program.inputs)}",
        )
    if shape(v) != shape(point[name]):
        raise InputError(
            f"--hvp {name}: the vector has {describe_shape(shape(v))}, {name} has {describe_shape(shape(point[name]))}",
            hint=f"give --hvp {name}=… a value of {name}'s shape",
        )


def element_labels(point: Mapping[str, object], names: list[str]) -> list[str]:
    """Every element of every input, in order: `x`, `v[1]`, `W[0,1]`."""
    from .kernels import numpy

    labels = []
    for name in names:
        value = point[name]
        if type(value) is float:
            labels.append(name)
        else:
            labels.extend(f"{name}[{','.join(map(str, i))}]" for i in numpy().ndindex(value.shape))
    return labels


def flatten(values: Mapping[str, object], names: list[str]) -> list[float]:
    """The elements of each named value, in the order of element_labels."""
    out: list[float] = []
    for name in names:
        value = values[name]
        out.extend([value] if type(value) is float else [float(x) for x in value.reshape(-1)])
    return out


def units(point: Mapping[str, object], names: list[str]):
    """The unit vectors over every element of the inputs, one at a time: (the element's value at
    the point, the vector as one value per input)."""
    zeros = {name: 0.0 * point[name] for name in names}
    for name in names:
        if type(point[name]) is float:
            yield point[name], {**zeros, name: 1.0}
            continue
        for k in range(point[name].size):
            unit = zeros[name].copy()
            unit.reshape(-1)[k] = 1.0
            yield float(point[name].reshape(-1)[k]), {**zeros, name: unit}


def rows(program: Program, point: Mapping[str, float], names: list[str]) -> list[list[float]]:
    """Row i: the engine's gradient of ∂f/∂names[i], over the derivative program."""
    tape, roots = as_program(derivative(program, names))
    try:
        values = engine.forward(tape, {name: point[name] for name in tape.inputs})
        matrix = []
        for root in roots:
            tape.output = root
            grads = engine.backward(tape, values)
            ids = tape.inputs
            matrix.append(
                [0.0 if name not in ids or grads[ids[name]] is None else grads[ids[name]] for name in names]
            )
    except BackpropError as failure:
        raise DomainError(
            f"the second derivative is not defined at this point ({failure.message})",
            hint="try a point inside the domain of every function, away from its edge",
        ) from None
    return matrix


def describe(names: list[str], matrix, value: float, gradient: dict, gtol: float) -> Hessian:
    """Eigenvalues, the kind of point and the symmetry error of a Hessian."""
    from .kernels import numpy

    np = numpy()
    h = np.array(matrix, dtype=float).reshape(len(names), len(names))
    eigenvalues = [float(x) for x in np.linalg.eigvalsh((h + h.T) / 2)]
    stationary = all(abs(g) <= gtol for g in gradient.values())
    kind = _kind(eigenvalues) if stationary else None
    asymmetry = float(np.max(np.abs(h - h.T))) if h.size else 0.0
    return Hessian(names, h.tolist(), value, dict(gradient), eigenvalues, kind, asymmetry)


def _kind(eigenvalues: list[float]) -> str:
    scale = max([1.0, *(abs(x) for x in eigenvalues)])
    if any(abs(x) <= ZERO_EIGENVALUE * scale for x in eigenvalues):
        if eigenvalues[0] < -ZERO_EIGENVALUE * scale and eigenvalues[-1] > ZERO_EIGENVALUE * scale:
            return "saddle"  # both signs: a saddle whatever the flat directions do
        return "degenerate"
    if eigenvalues[0] > 0:
        return "minimum"
    return "maximum" if eigenvalues[-1] < 0 else "saddle"


def _refuse_too_many(program: Program, point: Mapping[str, object]) -> None:
    from .kernels import size

    total = sum(size(point[name]) for name in program.inputs)
    if total > MAX_INPUTS:
        raise InputError(
            f"hessian prints the full matrix for at most {MAX_INPUTS} input elements, not {total}",
            hint="ask for a Hessian–vector product instead: --hvp NAME=VALUE (one per input)",
        )


def _refuse_kinks(program: Program, evaluation) -> None:
    """A kink reached by the gradient (relu at 0, a max tie): the first derivative jumps there, so
    the second does not exist (said even where it happens to, as for |x|³ at 0)."""
    kinks = engine.kink_points(program, evaluation.values, evaluation.grads)
    if kinks:
        node = kinks[0].node
        name = program.ops[node].name
        raise DomainError(
            f"the second derivative does not exist here: {program.expr(node, limit=60)} is at a kink, where {name}′ jumps",
            hint="move the point off the kink (e.g. an input a little away from 0, or from a tie)",
        ).at(program.source, program.starts[node], program.ends[node])


def central_differences(
    program: Program, point: Mapping[str, object], names: list[str], eps: float
) -> list[list[float]]:
    """Row k: (∇f(x + h·e_k) − ∇f(x − h·e_k)) / 2h over every element, h = eps·max(1, |x_k|)."""
    matrix = []
    for element, unit in units(point, names):
        step = eps * max(1.0, abs(element))
        sides = [
            engine.evaluate(program, {n: point[n] + sign * step * unit[n] for n in names}).gradients
            for sign in (1.0, -1.0)
        ]
        matrix.append(
            [(a - b) / (2 * step) for a, b in zip(flatten(sides[0], names), flatten(sides[1], names))]
        )
    return matrix


def hvp_differences(program: Program, point: Mapping[str, object], vectors: Mapping[str, object], eps: float):
    """(∇f(x + h·v) − ∇f(x − h·v)) / 2h per input, h = eps·max(1, |x|) / max(1, |v|) (largest elements)."""
    from .kernels import numpy

    np, names = numpy(), list(program.inputs)
    full = {name: vectors.get(name, 0.0 * point[name]) for name in names}
    largest = max([1.0, *(float(np.max(np.abs(point[n]))) for n in names)])
    longest = max([1.0, *(float(np.max(np.abs(full[n]))) for n in names)])
    step = eps * largest / longest
    sides = [
        engine.evaluate(program, {n: point[n] + sign * step * full[n] for n in names}).gradients
        for sign in (1.0, -1.0)
    ]
    return {n: (sides[0][n] - sides[1][n]) / (2 * step) for n in names}
