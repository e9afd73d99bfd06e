"""Every JSON document of the contract: an evaluation, a check, answers, a trace, paths, a batch
line and the error object. Strict JSON: floats as they are, never NaN or infinity (the engine lets
none through), never -0.0; tensors as nested lists.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ...graph.errors import BackpropError
from ...graph.kernels import shape

if TYPE_CHECKING:
    from ...graph.check import CheckReport
    from ...graph.engine import Evaluation, Kink
    from ...graph.expect import ExpectReport
    from ...graph.paths import PathReport
    from ...graph.program import Program
    from ...graph.trace import Trace


def number(value):
    """A value for JSON: floats as they are (never -0.0), None as null, a tensor as nested lists."""
    if value is None:
        return None
    value = value + 0.0  # -0.0 + 0.0 is 0.0, in a tensor element by element
    return value.tolist() if hasattr(value, "tolist") else value


WHOLE_ELEMENTS = 1000
"""`eval --json` gives a node's tensor value or gradient whole up to this many elements; a larger
one is summarized (shape, min, mean, max) unless --full. The inputs' gradients are always whole."""


def evaluation_json(
    evaluation: Evaluation,
    expression: str,
    check: CheckReport | None = None,
    *,
    full: bool = False,
    kinks: list[Kink] | None = None,
) -> dict:
    """`eval --json`: its "nodes" is an iterator, written one node at a time by print_json. `kinks`:
    the kink_points, found here when not given. A tensor output: null gradients and a "note"."""
    program = evaluation.program
    labels = program.labels()
    document = {
        "expression": expression,
        "output": labels[program.output],
        "value": number(evaluation.value),
        "gradients": {name: number(grad) for name, grad in evaluation.gradients.items()},
        "kinks": kinks_json(_kinks_of(evaluation) if kinks is None else kinks, program, labels),
    }
    if not evaluation.has_gradients:  # a tensor output: values only, and why (before the long nodes)
        document |= {"gradients": None, "note": evaluation.no_gradients_note}
    document["nodes"] = (_node_json(evaluation, i, labels[i], full) for i in range(len(program)))
    if check is not None:
        document["check"] = check_json(check)
    return document


def kinks_json(kinks: list[Kink], program: Program, labels: list | None = None) -> list[dict]:
    """The "kinks" list: each node whose derivative was taken at a kink, the first element there,
    one (left, right, taken) number per input (graph/engine.py's Kink), and the warning's words."""
    if not kinks:
        return []
    from .text import kink_text

    labels = program.labels() if labels is None else labels
    return [
        {
            "node": labels[kink.node],
            "id": kink.node,
            "op": program.ops[kink.node].name,
            "expr": program.expr(kink.node),
            "index": None if kink.index is None else list(kink.index),
            "count": kink.count,
            "at": [number(x) for x in kink.inputs],
            "left": [number(x) for x in kink.left],
            "right": [number(x) for x in kink.right],
            "taken": [number(x) for x in kink.taken],
            "text": kink_text(kink, program),
        }
        for kink in kinks
    ]


def _kinks_of(evaluation: Evaluation) -> list[Kink]:
    from ...graph.engine import kink_points

    return kink_points(evaluation.program, evaluation.values, evaluation.grads)


def _node_json(evaluation: Evaluation, node_id: int, label: str | None, full: bool) -> dict:
    program, value = evaluation.program, evaluation.values[node_id]
    show = number if full else _proportional
    return {
        "id": node_id,
        "name": label,
        "op": program.ops[node_id].name,
        "expr": program.expr(node_id),
        "inputs": list(program.inputs_of(node_id)),
        "shape": list(shape(value)),
        "value": show(value),
        "grad": show(evaluation.grad_of(node_id)),
    }


def _proportional(value):
    """A value whole, or a large tensor as {"summary": true, "min", "mean", "max"} (its shape is
    the node's "shape")."""
    if value is None or type(value) is float or value.size <= WHOLE_ELEMENTS:
        return number(value)
    from ...graph.values import summary

    low, mean, high = summary(value)
    return {"summary": True, "min": low + 0.0, "mean": mean + 0.0, "max": high + 0.0}


def check_json(check: CheckReport) -> dict:
    """The check as JSON; a tensor input's entry is its worst element, plus every checked element."""
    from ...graph.check import input_status

    return {
        "passed": check.passed,
        "not_checkable": check.not_checkable,
        "eps": check.eps,
        "tolerance": check.tolerance,
        "max_abs_error": check.max_abs_error,
        "max_rel_error": check.max_rel_error,
        "inputs": {
            item.name: {
                "numeric": number(item.numeric),
                "analytic": number(item.analytic),
                "abs_error": number(item.abs_error),
                "rel_error": number(item.rel_error),
                **_verdict(input_status(item)),
                "at_kink": item.at_kink,
                **({"note": item.note} if item.note else {}),
                **(_elements_json(item) if item.elements is not None else {}),
            }
            for item in check.inputs
        },
    }


def _verdict(mark: str) -> dict:
    """ "status" (passed, failed, kink, not checkable) and "passed" (true, false, or null for not
    checkable), told as the table and the exit status tell them: a kink is not a failure."""
    from ...graph.check import AT_KINK, NOT_CHECKABLE, PASSED

    return {"status": mark, "passed": None if mark == NOT_CHECKABLE else mark in (PASSED, AT_KINK)}


def _elements_json(item) -> dict:
    from ...graph.check import status

    return {
        "checked": len(item.elements),
        "size": item.size,
        "elements": [
            {
                "index": list(each.index),
                "numeric": number(each.numeric),
                "analytic": number(each.analytic),
                "abs_error": number(each.abs_error),
                "rel_error": number(each.rel_error),
                **_verdict(status(each, item.at_kink)),
                **({"note": each.note} if each.note else {}),
            }
            for each in item.elements
        ],
    }


def error_json(error: BackpropError) -> dict:
    return error_object(error.kind, error.message, error.line, error.column, error.hint)


def error_object(kind: str, message: str, line: int | None, column: int | None, hint: str | None) -> dict:
    """The same five keys on every error (`hint` null when there is none), so scripts need not probe."""
    return {"error": {"type": kind, "message": message, "line": line, "column": column, "hint": hint or None}}


_ENCODE = json.JSONEncoder(allow_nan=False).encode
"""Strict JSON (allow_nan=False: the engine never lets a NaN or an infinity through, and this
makes sure), with json.dumps's separators; one encoder, made once."""


def json_line(document: dict) -> str:
    """One document as a line of strict JSON."""
    return _ENCODE(document) + "\n"


def print_json(document: dict) -> None:
    """One document as a line of strict JSON on stdout. A value that is an iterator (eval's nodes)
    is written as a list one item at a time, so the whole text is never held in memory."""
    if not any(isinstance(value, Iterator) for value in document.values()):
        sys.stdout.write(json_line(document))
        return
    write = sys.stdout.write
    with _interrupt_after():
        for position, (key, value) in enumerate(document.items()):
            write(("{" if position == 0 else ", ") + _ENCODE(key) + ": ")
            if isinstance(value, Iterator):
                write("[")
                for count, item in enumerate(value):
                    write((", " if count else "") + _ENCODE(item))
                write("]")
            else:
                write(_ENCODE(value))
        write("}\n")


@contextmanager
def _interrupt_after():
    """Ctrl-C while a document is being written takes effect after its last byte, so what is out
    is whole JSON (and the run then ends as an interrupted one, 130)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


def batch_line(
    line: int, result, kinks: list[dict] | None = None, carried: dict | None = None, nodes: list | None = None
) -> dict:
    """`batch`'s line for input line `line`: its value and gradients (and check), or its error.
    `kinks` (kinks_json of the point's) appears only when the point is at a kink; `carried` (the
    point's names that are not inputs) only when it has some; `nodes` ((id, label) pairs, for
    --nodes) adds every one's value and gradient by label."""
    head = {"line": line, "carried": carried} if carried else {"line": line}
    if result.error is not None:
        return {**head, **error_json(result.error)}
    document = {
        **head,
        "value": number(result.value),
        "gradients": {name: number(grad) for name, grad in result.gradients.items()},
    }
    if nodes is not None:
        document["nodes"] = {
            label: {"value": number(result.nodes[i][0]), "grad": number(result.nodes[i][1])}
            for i, label in nodes
        }
    if kinks:
        document["kinks"] = kinks
    if result.check is not None:
        document["check"] = check_json(result.check)
    return document


def expect_json(report: ExpectReport) -> dict:
    """The answers, keyed as written (`c`, `c.value`, `value`), each saying what it checks."""
    return {
        "passed": report.passed,
        "tolerance": report.tolerance,
        "rounded": report.rounded,
        "items": {
            item.name: {
                "node": item.node,
                "kind": item.kind,
                "expected": number(item.expected),
                "got": number(item.got),
                "abs_error": number(item.abs_error),
                "passed": item.passed,
                **({"note": item.note} if item.note else {}),
                **({"diagnosis": _diagnosis_json(item.diagnosis)} if item.diagnosis else {}),
            }
            for item in report.items
        },
        "first_mistake": report.first_mistake,
    }


def _diagnosis_json(diagnosis) -> dict:
    return {"kind": diagnosis.kind, "text": diagnosis.text, "nodes": list(diagnosis.nodes)}


def trace_json(trace: Trace, expression: str, kinks: list[Kink] | None = None) -> dict:
    """`trace --json`; `kinks`: the evaluation's kink_points, found here when not given."""
    from .lecture import backward_line, forward_line, seed_line  # the words of each step, as printed

    evaluation = trace.evaluation
    kinks = _kinks_of(evaluation) if kinks is None else kinks
    return {
        "expression": expression,
        "output": trace.output,
        "value": number(evaluation.value),
        "gradients": {name: number(grad) for name, grad in evaluation.gradients.items()},
        "kinks": kinks_json(kinks, evaluation.program, trace.labels),
        "forward": (  # iterators: print_json writes them a step at a time
            {
                "id": step.id,
                "name": step.name,
                "op": step.op,
                "expr": step.expr,
                "formula": step.formula,
                "operands": step.operands,
                "value": number(step.value),
                "text": forward_line(step),
            }
            for step in trace.forward
        ),
        "seed": {
            "name": trace.output,
            "grad": number(evaluation.grads[evaluation.program.output]),
            "text": seed_line(trace),
        },
        "backward": (
            {
                "parent": step.parent_name,
                "parent_id": step.parent,
                "child": step.child_name,
                "child_id": step.child,
                "position": step.position,
                "local": step.local,
                "local_value": number(step.local_value),
                **({"local_note": step.local_note} if step.local_note else {}),
                **({"formula": step.formula} if step.formula else {}),  # a tensor step's vector formula
                "parent_grad": number(step.parent_grad),
                "contribution": number(step.contribution),
                "previous": number(step.previous),
                "total": number(step.total),
                "text": backward_line(step),
            }
            for step in trace.backward
        ),
    }


def paths_json(report: PathReport, evaluation: Evaluation, expression: str, max_paths: int) -> dict:
    """`paths --json`: a number too large for a float64 (or not finite) is null, with a note in words."""
    from .lecture import path_note, path_rows  # the words of each path, as printed

    program = evaluation.program
    labels = program.labels()
    return {
        "expression": expression,
        "wrt": labels[report.start],
        "output": labels[program.output],
        "gradient": number(report.gradient),
        "count": report.count,
        "count_log10": report.count_log10,
        "listed": len(report.paths),
        "complete": report.complete,
        "max_paths": max_paths,
        "sum": number(report.total),
        **({"sum_note": report.weight.words()} if report.total is None else {}),
        "paths": [
            {
                "nodes": [labels[i] for i in path.nodes],
                "ids": list(path.nodes),
                "positions": list(path.positions),
                "locals": symbols,
                "local_values": [number(value) for value in path.locals],
                "product": number(path.product),
                **({"note": path_note(path)} if path_note(path) else {}),
            }
            for path, (_, symbols) in zip(report.paths, path_rows(report, program, labels), strict=True)
        ],
    }


def training_json(training, expression: str, stride: int, check: CheckReport | None = None) -> dict:
    """`minimize --json`: the run, its final parameters (tensors as nested lists) and its losses
    (steps 1, 1 + stride, …: what minimize kept). `training` is None when a failed --check stopped it before a step."""
    document: dict = {"program": expression}
    if training is not None:
        document.update(
            wrt=list(training.wrt),
            method=training.method,
            lr=training.lr,
            steps=training.steps,
            stopped=training.stopped,
            loss={"start": training.loss_start, "final": training.loss_final},
            grad_norm=training.grad_norm,
            params={name: number(value) for name, value in training.params.items()},
            history=training.history,
            history_stride=stride,
            reason=training.reason,
        )
    if check is not None:
        document["check"] = check_json(check)
    return document
