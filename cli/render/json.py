"""Every JSON document of the contract: an evaluation, a check, answers, a trace, paths, a batch
line and the error object. Strict JSON: floats as they are, never NaN or infinity (the engine lets
none through), never -0.0; tensors as nested lists.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from ...graph.errors import BackpropError
from ...graph.kernels import shape

if TYPE_CHECKING:
    from ...graph.check import CheckReport
    from ...graph.engine import Evaluation
    from ...graph.expect import ExpectReport
    from ...graph.paths import PathReport
    from ...graph.trace import Trace


def number(value):
    """A value for JSON: floats as they are (never -0.0), None as null, a tensor as nested lists."""
    if value is None:
        return None
    value = value + 0.0  # -0.0 + 0.0 is 0.0, in a tensor element by element
    return value.tolist() if hasattr(value, "tolist") else value


def evaluation_json(evaluation: Evaluation, expression: str, check: CheckReport | None = None) -> dict:
    program = evaluation.program
    labels = program.labels()
    document = {
        "expression": expression,
        "output": labels[program.output],
        "value": number(evaluation.value),
        "gradients": {name: number(grad) for name, grad in evaluation.gradients.items()},
        "nodes": [
            {
                "id": row.id,
                "name": row.name,
                "op": row.op,
                "expr": row.expr,
                "inputs": list(row.inputs),
                "shape": list(shape(row.value)),
                "value": number(row.value),
                "grad": number(row.grad),
            }
            for row in evaluation.nodes
        ],
    }
    if check is not None:
        document["check"] = check_json(check)
    return document


def check_json(check: CheckReport) -> dict:
    """The check as JSON; a tensor input's entry is its worst element, plus every checked element."""
    return {
        "passed": check.passed,
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
                "passed": item.passed,
                "at_kink": item.at_kink,
                **({"note": item.note} if item.note else {}),
                **(_elements_json(item) if item.elements is not None else {}),
            }
            for item in check.inputs
        },
    }


def _elements_json(item) -> dict:
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
                "passed": each.passed,
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


def json_line(document: dict) -> str:
    """One document as a line of strict JSON (allow_nan=False: the engine never lets a NaN or an
    infinity through, and this makes sure)."""
    return json.dumps(document, allow_nan=False) + "\n"


def print_json(document: dict) -> None:
    sys.stdout.write(json_line(document))


def batch_line(line: int, result) -> dict:
    """`batch`'s line for input line `line`: its value and gradients (and check), or its error."""
    if result.error is not None:
        return {"line": line, **error_json(result.error)}
    document = {
        "line": line,
        "value": number(result.value),
        "gradients": {name: number(grad) for name, grad in result.gradients.items()},
    }
    if result.check is not None:
        document["check"] = check_json(result.check)
    return document


def expect_json(report: ExpectReport) -> dict:
    return {
        "passed": report.passed,
        "tolerance": report.tolerance,
        "items": {
            item.name: {
                "expected": number(item.expected),
                "got": number(item.got),
                "abs_error": number(item.abs_error),
                "passed": item.passed,
                **({"note": item.note} if item.note else {}),
            }
            for item in report.items
        },
    }


def trace_json(trace: Trace, expression: str) -> dict:
    from .lecture import backward_line, forward_line, seed_line  # the words of each step, as printed

    evaluation = trace.evaluation
    return {
        "expression": expression,
        "output": trace.output,
        "value": number(evaluation.value),
        "gradients": {name: number(grad) for name, grad in evaluation.gradients.items()},
        "forward": [
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
        ],
        "seed": {
            "name": trace.output,
            "grad": number(evaluation.grads[evaluation.program.output]),
            "text": seed_line(trace),
        },
        "backward": [
            {
                "parent": step.parent_name,
                "parent_id": step.parent,
                "child": step.child_name,
                "child_id": step.child,
                "position": step.position,
                "local": step.local,
                "local_value": number(step.local_value),
                "parent_grad": number(step.parent_grad),
                "contribution": number(step.contribution),
                "previous": number(step.previous),
                "total": number(step.total),
                "text": backward_line(step),
            }
            for step in trace.backward
        ],
    }


def paths_json(report: PathReport, evaluation: Evaluation, expression: str, max_paths: int) -> dict:
    from .lecture import path_rows  # the words of each path, as printed

    program = evaluation.program
    labels = program.labels()
    return {
        "expression": expression,
        "wrt": labels[report.start],
        "output": labels[program.output],
        "gradient": number(report.gradient),
        "count": report.count,
        "listed": len(report.paths),
        "complete": report.complete,
        "max_paths": max_paths,
        "sum": number(report.total),
        "paths": [
            {
                "nodes": [labels[i] for i in path.nodes],
                "ids": list(path.nodes),
                "positions": list(path.positions),
                "locals": symbols,
                "local_values": [number(value) for value in path.locals],
                "product": number(path.product),
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
