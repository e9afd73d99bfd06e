"""Which gradients a run computes: the inputs asked for (`wrt`), and the nodes they flow into.

The backward pass hands a node's gradient on only to inputs in the mask (engine.backward's
`needs`), so a constant, or data no wanted input depends on, costs no vector–Jacobian product.
A mask is a Python loop over the nodes, so it is made once per program and `wrt` and kept.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from .errors import NameError_
from .program import Program

_MASKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # program -> {wrt: mask}


def needs_grad_of(program: Program, names: Iterable[str]) -> bytearray:
    """1 for the nodes that the inputs `names` flow into: the only gradients a run that trains
    just them needs (backward's `needs`); data and constants then cost no gradient."""
    needs = bytearray(len(program))
    for name in names:
        needs[program.inputs[name]] = 1
    firsts, seconds, many = program.first, program.second, program.many
    for node_id in range(len(program)):
        if needs[node_id]:
            continue
        first, second = firsts[node_id], seconds[node_id]
        if first >= 0:
            needs[node_id] = needs[first] | (second >= 0 and needs[second])
        elif node_id in many:
            needs[node_id] = any(needs[i] for i in many[node_id])
    return needs


def wanted(program: Program, wrt: tuple[str, ...] | None) -> bytearray:
    """The needs mask of a run that computes the gradients of `wrt` (None: of every input), made
    once per program and `wrt` (checked names: see check_wrt)."""
    if wrt is None:
        return program.needs_grad
    masks = _MASKS.setdefault(program, {})
    key = tuple(sorted(set(wrt)))
    if key not in masks:
        masks[key] = needs_grad_of(program, key)
    return masks[key]


def check_wrt(program: Program, wrt: Iterable[str] | None) -> tuple[str, ...] | None:
    """The names asked for, in the order of the program's inputs (None for every input); a name
    that is not an input is a NameError_ naming the inputs, with the closest one."""
    if wrt is None:
        return None
    asked = list(wrt)
    for name in asked:
        if name not in program.inputs:
            raise _not_an_input(program, name)
    return tuple(name for name in program.inputs if name in asked)


def _not_an_input(program: Program, name: str) -> NameError_:
    names = ", ".join(program.inputs) or "none"
    if name in program.bindings:
        hint = f"{name} is computed by the program; ask for the gradient of an input: {names}"
    else:
        import difflib  # here, not at the top: start-up time is measured

        close = difflib.get_close_matches(name, list(program.inputs), n=1, cutoff=0.6)
        hint = (f"did you mean {close[0]}? " if close else "") + f"the inputs are: {names}"
    return NameError_(f"no gradient of {name}: the program has no input named {name}", hint=hint)
