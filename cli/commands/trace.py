"""`backprop trace`: the lecture's two passes, node by node and edge by edge."""

from __future__ import annotations

from ...graph.errors import LimitError
from ..options import PROGRAM_SETTINGS, ProgramInputs, takes_program

EXAMPLES = """
Examples:

  backprop trace "(a + b) * b**3" --a 7 --b 3

  backprop trace "z = x + y; b = sigmoid(x); L = z * b" --x 1 --y 2

  backprop trace "(a + relu(b)) * c" --a 7 --b -3 --c 2 --json | jq '.backward[].text'
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


@takes_program()
def command(given: ProgramInputs) -> None:
    """Show the forward pass node by node, then the backward pass edge by edge, as the lecture does.

    Forward: every node in topological order with its value (c = a + b = 7 + 3 = 10). Backward: from ∂L/∂L = 1, every edge in reverse topological order as child.grad += parent.grad · ∂parent/∂child, with the child's running total, so a node with two parents receives two contributions.

    Nodes are named by the program's own names, else by letters a, b, c, … in topological order. A local derivative too large for a float64 (1/x at x = 5e-324) is shown in full and said so, never as inf. Exit codes: 0 success, 2 an error in the program, the values or the options.
    """
    from ...graph.trace import trace

    evaluation = given.evaluate()
    try:
        steps = trace(evaluation)
        if given.json:
            from ..render.json import print_json, trace_json

            print_json(trace_json(steps, given.source))
        else:
            from ..render.lecture import print_trace

            print_trace(steps, given.source)
    except MemoryError:
        raise LimitError(
            f"the trace of {len(evaluation.program):,} nodes needs more memory than this machine has",
            hint="trace a smaller program; `backprop eval` gives the same gradients in far less memory",
        ) from None
