"""The derivative of a program as a program: the backward pass written out with terms.

`derivative` walks the tape once forwards, making each node's term, and once backwards, handing
every input of a node its share through the op's `adjoint` rule (ops.py) and summing the shares with
`+` in the engine's order, so the result is the engine's backward pass with the numbers left as
formulas. Terms are hash-consed (terms.py), so the result is a DAG of the same size as the
program: linear, where expanding it into a tree (as a computer algebra system does) is exponential
on shared nodes.

`plan` decides how to write it as statements: a term used more than once, or too big to read
inline, or the adjoint of a node the user named, gets a statement of its own; every other term is
written inside the one that uses it, so a small program reads like the formula a student writes.
The renderers (cli/render/formula.py) only spell the plan out.
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

from .engine import needs_grad_of
from .errors import InputError, ShapeError
from .kernels import describe_shape
from .ops import CONST, CONSTANTS, FUNCTIONS, INPUT, OPS
from .program import Program
from .terms import Term, Terms

INLINE = 12
"""A term of more ops than this written inline gets a statement of its own: deep nesting reads badly,
and it keeps every printed expression short (so the printers never go deep either)."""


class Derivative(NamedTuple):
    """The derivatives of a program's output with respect to `wrt`, as terms of one table."""

    program: Program
    terms: Terms
    wrt: list[str]
    roots: list[Term]  # ∂output/∂wrt[i]
    names: dict[int, str]  # term id → the user's name for it (a `name = …` statement)
    adjoint_names: dict[int, str]  # term id → d_<label>, the adjoint of the node it is first for
    adjoints: frozenset[int]  # ids of terms that are the adjoint of a node the user named


class Statement(NamedTuple):
    """`name = term`; name None for the last, unnamed expression."""

    name: str | None
    term: Term


class Plan(NamedTuple):
    """The derivative as straight-line statements: `named` maps a term id to its statement's name."""

    statements: list[Statement]
    named: dict[int, str]
    reached: list[int]  # ids of every term the statements use, in order (a topological one)


def unsupported_ops(program: Program) -> list[str]:
    """Names of the ops of `program` that have no adjoint rule (leaves excepted)."""
    found = {op.name for op in program.ops if op.adjoint is None and op is not INPUT and op is not CONST}
    return sorted(found)


def derivative(program: Program, wrt: list[str], shapes: dict | None = None) -> Derivative:
    """The terms of ∂output/∂name for each name in `wrt` (inputs of the program); `shapes` gives
    each input's shape (a scalar where none is given), which the tensor rules are written for."""
    _check_wrt(program, wrt)
    missing = unsupported_ops(program)
    if missing:
        raise ShapeError(
            f"diff has no symbolic rule yet for {', '.join(missing)}",
            hint="evaluate the program's gradient with `backprop eval` instead",
        )
    table, labels = Terms(shapes), program.labels()
    names: dict[int, str] = {}
    adjoint_names: dict[int, str] = {}
    terms = _forward_terms(program, table, names)
    _check_scalar_output(program, terms[program.output])
    wanted = needs_grad_of(program, wrt)  # nodes on a path from a `wrt` input: only their adjoints
    adjoint: list[Term | None] = [None] * len(program)
    adjoint[program.output] = table.const(1.0)
    bound = set(program.bindings.values())
    named_adjoints: set[int] = set()
    for node_id in range(program.output, -1, -1):
        g = adjoint[node_id]
        if g is None or not wanted[node_id]:
            continue
        adjoint_names.setdefault(g.id, f"d_{labels[node_id]}")
        if node_id in bound:
            named_adjoints.add(g.id)
        inputs = program.inputs_of(node_id)
        if not inputs:
            continue
        op, out = program.ops[node_id], terms[node_id]
        for i, share in zip(inputs, _shares(program, node_id, g, terms), strict=True):
            if share is not None and wanted[i] and not share.is_const(0.0):
                share = _fitted(share, terms[i], out, op.elementwise)
                adjoint[i] = share if adjoint[i] is None else adjoint[i] + share
    roots = [_root(table, adjoint[program.inputs[name]], terms[program.inputs[name]]) for name in wrt]
    for name, root in zip(wrt, roots):
        raw, own = adjoint[program.inputs[name]], f"d_{labels[program.inputs[name]]}"
        if raw is not None and root is not raw and adjoint_names.get(raw.id) == own:
            adjoint_names[root.id] = adjoint_names.pop(raw.id)  # d_x names x's whole gradient
    return Derivative(program, table, list(wrt), roots, names, adjoint_names, frozenset(named_adjoints))


def _shares(program: Program, node_id: int, g: Term, terms: list[Term]) -> tuple:
    """The op's adjoint rule at a node: a share of g for each input (None for none)."""
    op, out = program.ops[node_id], terms[node_id]
    if not op.elementwise and g.shape != out.shape:
        g = g.fn("spread", out)  # a tensor rule needs g in its node's whole shape
    try:
        return op.adjoint(g, out, *[terms[i] for i in program.inputs_of(node_id)])
    except ShapeError as failure:
        from .failures import placed

        raise placed(program, node_id, failure) from None


def _fitted(share: Term, x: Term, out: Term, elementwise: bool) -> Term:
    """A share of x's gradient that broadcasts to x's shape and stands for that broadcast. A term
    smaller than its node stands for its broadcast to the node's shape (`x*1` is x); an elementwise
    rule's share stands for one of its output's shape, which is summed down where x was broadcast
    in the op, and spread out first where it is smaller (exact shapes only where shapes differ)."""
    if not elementwise or x.shape == out.shape:
        return share
    if share.shape != out.shape:
        share = share.fn("spread", out)
    return share.fn("sum") if not x.shape else share.fn("sum_to", x)


def _root(table: Terms, gradient: Term | None, x: Term) -> Term:
    """∂output/∂x in x's own shape: 0 where no path leads from x, spread where it is smaller."""
    gradient = gradient or table.const(0.0)
    return gradient if gradient.shape == x.shape else gradient.fn("spread", x)


def _check_scalar_output(program: Program, output: Term) -> None:
    if output.shape:
        raise ShapeError(
            f"the output has {describe_shape(output.shape)}; a derivative is of a scalar",
            hint="reduce it to a number first, e.g. sum(...) or mean(...)",
        ).at(program.source, program.starts[program.output], program.ends[program.output])


def _check_wrt(program: Program, wrt: list[str]) -> None:
    if not program.inputs:
        raise InputError(
            "the program has no inputs, so its derivative is 0",
            hint="write the values you would vary as names, e.g. x**2 rather than 3**2",
        )
    for name in wrt:
        if name in program.inputs:
            continue
        names = ", ".join(program.inputs)
        close = difflib.get_close_matches(name, list(program.inputs), n=1, cutoff=0.6)
        if name in program.bindings:
            hint = f"{name} is computed by the program; differentiate with respect to an input: {names}"
        else:
            hint = (f"did you mean {close[0]}? " if close else "") + f"the inputs are: {names}"
        raise InputError(f"--wrt {name}: the program has no input named {name}", hint=hint)


def _forward_terms(program: Program, table: Terms, names: dict[int, str]) -> list[Term]:
    """Every node's term, in id order; the user's names for them are remembered in `names`."""
    terms: list[Term] = []
    for node_id, op in enumerate(program.ops):
        if op is INPUT:
            term = table.input(program.names[node_id])
        elif op is CONST:
            term = _constant(table, program.constants[node_id])
        else:
            term = table.apply(op.name, *[terms[i] for i in program.inputs_of(node_id)])
        name = program.names.get(node_id)
        if name is not None and op is not INPUT:
            names.setdefault(term.id, name)
        terms.append(term)
    return terms


def _constant(table: Terms, value) -> Term:
    """A number's term; an array constant (a literal of numbers) is written as its literal again."""
    if type(value) is float:
        return table.const(value)
    items = [table.const(float(v)) for v in value.reshape(-1)]
    for size in reversed(value.shape):  # group the innermost axis first: rows, then the matrix
        items = [table.apply("array", *items[i : i + size]) for i in range(0, len(items), size)]
    return items[0]


def plan(derivative: Derivative) -> Plan:
    """Which terms become statements, their names, and the statements in a valid order. A
    statement whose name is not its term's own (`d_b = d_c`, or the last line `s`) refers to it."""
    roots, table = derivative.roots, derivative.terms.terms
    uses, reached = _uses(table, roots)
    several = len(roots) > 1
    preferred = dict(derivative.adjoint_names)
    preferred_roots = set()
    if several:
        for name, root in zip(reversed(derivative.wrt), reversed(roots)):
            preferred[root.id] = f"d_{name}"  # the first wrt of a shared root wins
            preferred_roots.add(root.id)
    preferred.update(derivative.names)  # the user's own names first
    taken = _reserved(derivative.program)
    named: dict[int, str] = {}
    size: dict[int, int] = {}
    statements: list[Statement] = []
    for term_id in reached:
        term = table[term_id]
        if not term.args:
            continue  # inputs and constants are written as they are
        size[term_id] = 1 + sum(size.get(a.id, 0) for a in term.args if a.id not in named)
        shared_root = several and uses[term_id] and term_id in preferred_roots  # d_x = -d_y: d_y first
        if size[term_id] > INLINE or uses[term_id] > 1 or term_id in derivative.adjoints or shared_root:
            named[term_id] = taken.fresh(preferred.get(term_id) or "t")
            statements.append(Statement(named[term_id], term))
    _finish(derivative, statements, named, taken)
    return Plan(statements, named, reached)


def _finish(derivative: Derivative, statements: list[Statement], named: dict[int, str], taken) -> None:
    """The last lines: one statement per wrt (when several), the output last."""
    roots = derivative.roots
    if len(roots) == 1:
        root = roots[0]
        if root.id in named or not statements:
            statements.append(Statement(None, root))
        else:
            statements.append(Statement(taken.fresh(f"d_{derivative.wrt[0]}"), root))
            if root.args:
                named[root.id] = statements[-1].name
        return
    for name, root in zip(derivative.wrt, roots, strict=True):
        if root.id in named and named[root.id] == f"d_{name}":
            continue  # already written under its own name
        statements.append(Statement(taken.fresh(f"d_{name}"), root))
        if root.args and root.id not in named:
            named[root.id] = statements[-1].name
    last = statements[-1]
    if last.name is None or last.term is not roots[-1]:
        statements.append(Statement(None, roots[-1]))


def _uses(table: list[Term], roots: list[Term]) -> tuple[list[int], list[int]]:
    """How many times each term is an argument of a reached term, and the reached ids in order."""
    reached = bytearray(len(table))
    for root in roots:
        reached[root.id] = 1
    uses = [0] * len(table)
    for term_id in range(len(table) - 1, -1, -1):  # arguments have smaller ids: one sweep down
        if reached[term_id]:
            for arg in table[term_id].args:
                reached[arg.id] = 1
                uses[arg.id] += 1
    return uses, [i for i in range(len(table)) if reached[i]]


def _reserved(program: Program) -> _Names:
    """Names a statement may not take: the inputs (they stay inputs), functions and constants."""
    return _Names(set(program.inputs) | set(FUNCTIONS) | set(CONSTANTS) | set(OPS))


class _Names:
    """The names given so far, and fresh ones: `t`, `t_2`, `t_3`… (the next number of each stem is
    remembered, so a thousand t's cost no quadratic search)."""

    def __init__(self, taken: set[str]) -> None:
        self.taken, self.next = taken, {}

    def fresh(self, name: str) -> str:
        candidate, count = name, self.next.get(name, 1)
        if count > 1:
            candidate = f"{name}_{count}"
        while candidate in self.taken:
            count += 1
            candidate = f"{name}_{count}"
        self.next[name] = count + 1
        self.taken.add(candidate)
        return candidate


def as_program(derivative: Derivative) -> tuple[Program, list[int]]:
    """The derivative as a tape the engine runs (every root in one program), and each root's node
    id; its source is the text of the original program, which its nodes do not point into."""
    program = derivative.program
    tape = Program("", max_elements=program.max_elements, max_memory=program.max_memory)
    node: dict[int, int] = {}
    table = derivative.terms.terms
    _, reached = _uses(table, derivative.roots)
    for term_id in reached:
        term = table[term_id]
        if term.op is INPUT:
            node[term_id] = tape.variable(term.value, 0, 0)
        elif term.op is CONST:
            node[term_id] = tape.add_constant(term.value, 0, 0)
        else:
            node[term_id] = tape.add(term.op, tuple(node[a.id] for a in term.args), 0, 0)
    roots = [node[root.id] for root in derivative.roots]
    tape.output = roots[-1]
    return tape, roots
