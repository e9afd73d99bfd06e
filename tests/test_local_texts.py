"""Issue 14: the texts students copy must be right. Every local derivative `trace` and `paths` print,
read back as maths — `·` and `×` a product, `²` a power, `[a > 0]` 1 or 0, `½` a half — at the labels'
values, is the number printed beside it: `parent.grad · local` the contribution, `local × local × …`
a path's product. The reader is a shunting-yard loop over the printed text, never eval."""

from __future__ import annotations

import math
import operator
import re

import pytest
from hypothesis import given
from profiles import examples
from programs import render_program
from strategies import cases

from backprop import evaluate, parse
from backprop.cli.render.lecture import backward_line, locals_text, path_rows
from backprop.graph.notation import factor, is_product, power_rule_text
from backprop.graph.ops import CONST, CONSTANTS, OPS
from backprop.graph.paths import path_report
from backprop.graph.trace import trace

# -- reading a printed text --------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s+"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|½)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.grad)?)"
    r"|(?P<power>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
    r"|(?P<symbol>[-+·×/^()\[\]<>=≤])"
)
_PLAIN = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_FUNCTIONS = {
    "exp": math.exp,
    "ln": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "sign": lambda x: float((x > 0) - (x < 0)),
}
_BINARY = {  # symbol: (precedence, function); an Iverson bracket's comparison is 1 or 0
    "<": (0, lambda a, b: float(a < b)),
    ">": (0, lambda a, b: float(a > b)),
    "=": (0, lambda a, b: float(a == b)),
    "≤": (0, lambda a, b: float(a <= b)),
    "+": (1, operator.add),
    "-": (1, operator.sub),
    "*": (2, operator.mul),
    "/": (2, operator.truediv),
    "^": (4, math.pow),  # right-associative; a minus sign (3) binds looser: -b² is -(b²)
}
_NEG = 3


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, token) for every token of a printed text; `·` and `×` are `*`, `[` `]` are brackets."""
    found, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        assert match is not None, f"no reading for {text[at:]!r} in {text!r}"
        at = match.end()
        if match.lastgroup is not None:
            token = match.group()
            found.append((match.lastgroup, {"·": "*", "×": "*", "[": "(", "]": ")"}.get(token, token)))
    return found


def read(text: str, values: dict[str, float]) -> float:
    """The value of a printed text at the labels' values: shunting-yard into reverse Polish, then a stack."""
    output: list = []
    stack: list = []  # "(", ("call", f), or an operator: "neg" or a symbol of _BINARY
    operand_next = True  # a `-` here is a minus sign
    found = tokens(text)
    for index, (kind, token) in enumerate(found):
        call = kind == "name" and index + 1 < len(found) and found[index + 1][1] == "("
        if call or token == "(":
            stack.append(("call", _FUNCTIONS[token]) if call else "(")
            operand_next = True
        elif kind in ("number", "name"):
            output.append(0.5 if token == "½" else float(token) if kind == "number" else values[token])
            operand_next = False
        elif kind == "power":  # a superscript binds tightest: straight after its base
            output += [float(token.translate(_PLAIN)), "^"]
        elif token == ")":
            while stack[-1] != "(":
                output.append(stack.pop())
            stack.pop()
            if stack and isinstance(stack[-1], tuple):
                output.append(stack.pop())
            operand_next = False
        elif operand_next:
            assert token == "-", f"{token!r} where an operand belongs in {text!r}"
            stack.append("neg")
        else:
            while stack and _binds_first(stack[-1], token):
                output.append(stack.pop())
            stack.append(token)
            operand_next = True
    return _run(output + stack[::-1])


def _binds_first(top, symbol: str) -> bool:
    """Whether the operator on the stack is applied before `symbol` (all left-associative but ^)."""
    if top == "neg":
        return _NEG > _BINARY[symbol][0]
    if top not in _BINARY:
        return False  # a bracket or a call
    return _BINARY[top][0] > _BINARY[symbol][0] or (_BINARY[top][0] == _BINARY[symbol][0] and symbol != "^")


def _run(program: list) -> float:
    """Reverse Polish: numbers, `neg`, calls and binary symbols."""
    stack: list[float] = []
    for item in program:
        if isinstance(item, float):
            stack.append(item)
        elif item == "neg":
            stack.append(-stack.pop())
        elif isinstance(item, tuple):
            stack.append(item[1](stack.pop()))
        else:
            right, left = stack.pop(), stack.pop()
            stack.append(_BINARY[item][1](left, right))
    assert len(stack) == 1, program
    return stack[0]


def test_the_reader_knows_precedence():
    values = {"a": 3.0, "b": 2.0, "h2": 0.5, "h2.grad": 4.0}
    assert read("-b²", values) == -4.0 and read("2^-1", values) == 0.5
    assert read("h2.grad · (1 - h2²)", values) == 3.0
    assert read("1/(2·sqrt(b))", values) == 1 / (2 * math.sqrt(2))
    assert read("a × 1/b × b", values) == 3.0 and read("a - b - 1", values) == 0.0
    assert read("([a > b] + ½·[a = b])", values) == 1.0 and read("-1·b⁻²", values) == -0.25
    assert read("sign(a - b)·cos(0)", values) == 1.0


# -- what trace and paths print ------------------------------------------------------------------


def close(read_value: float, number: float) -> bool:
    return math.isclose(read_value, number, rel_tol=1e-9, abs_tol=1e-300)


def printed(text: str) -> float:
    """A number as printed, 6 digits, maybe bracketed: `(-0.479426)`."""
    return float(text.strip("()"))


def split_top(text: str, separator: str) -> tuple[str, str]:
    """`text` at the first `separator` outside brackets (`[a = b]` holds one inside)."""
    depth = 0
    for at, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if depth == 0 and text.startswith(separator, at):
            return text[:at], text[at + len(separator) :]
    raise AssertionError(f"no {separator!r} in {text!r}")


def _same(first, value) -> bool:
    """One value: the same object, equal floats, or equal arrays (two `[0.0]` literals)."""
    if first is value or (type(first) is type(value) is float and first == value):
        return True
    shape = getattr(first, "shape", None)
    return shape is not None and shape == getattr(value, "shape", None) and bool((first == value).all())


def shared_labels(evaluation) -> set[str]:
    """Labels that name two nodes of different values (the constant e and the letter e, see below)."""
    program = evaluation.program
    seen: dict[str, object] = {}
    shared = set()
    for label, value in zip(program.labels(), evaluation.values, strict=True):
        first = seen.setdefault(label, value)
        if not _same(first, value):
            shared.add(label)
    constants, nodes = (
        set(),
        set(),
    )  # constants written by name (e in `-e`, not in `2.5e+00`), and the other labels
    for label, op in zip(program.labels(), program.ops, strict=True):
        if op is CONST:
            constants.update(re.findall(r"^[A-Za-z_]\w*$", label.lstrip("- ")))
        else:
            nodes.add(label)
    return shared | (constants & nodes)


def label_values(evaluation) -> dict[str, float]:
    """Every label that is a name, bound to its node's value (`x.grad` to its gradient): one value each.
    A negative constant's label is its text (`-pi`), read as one: the named constants are known."""
    values: dict[str, float] = {}
    for node_id, label in enumerate(evaluation.program.labels()):
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label) and type(evaluation.values[node_id]) is float:
            assert values.setdefault(label, evaluation.values[node_id]) == evaluation.values[node_id], label
            grad = evaluation.grads[node_id]
            if type(grad) is float:
                values[f"{label}.grad"] = grad
    return {**CONSTANTS, **values}


def check_trace(evaluation) -> int:
    """Each printed backward step read back: its local text is its local derivative, `parent.grad ·
    local` is the contribution, and both are the printed numbers to their 6 digits. Returns how many."""
    values, checked = label_values(evaluation), 0
    for step in trace(evaluation).backward:
        if step.formula is not None:
            continue  # a tensor's vector formula (`W2ᵀ · yhat.grad`): tests/test_tensor_trace.py
        line = backward_line(step)
        head = f"{step.child_name}.grad += "
        assert line.startswith(head), line
        product, numbers = split_top(line[len(head) :], " = ")
        parent, local = product.split(" · ", 1)
        assert parent == f"{step.parent_name}.grad" and local == step.local  # --json's `local` is printed
        assert local == factor(local), local  # bracketed unless a product of atoms
        if type(step.local_value) is not float or type(step.contribution) is not float:
            continue  # a Jacobian, or too large for a float64: no number printed to read against
        if local == f"∂{step.parent_name}/∂{step.child_name}":
            continue  # a tensor op (transpose, sum, …) has no local text: it is named, not written out
        local_number, contribution = numbers.split(" → ")[0].split(" · ")[1].split(" = ")
        assert close(read(local, values), step.local_value), (line, read(local, values))
        assert close(read(product, values), step.contribution), (line, read(product, values))
        assert math.isclose(read(product, values), printed(contribution), rel_tol=1e-5), line
        assert math.isclose(read(local, values), printed(local_number), rel_tol=1e-5), line
        checked += 1
    return checked


def check_paths(evaluation, limit: int = 20) -> int:
    """Each listed path's `local × local × …`, read back, is its product; each local, its value."""
    program, values, checked = evaluation.program, label_values(evaluation), 0
    labels = program.labels()
    for start in program.inputs.values():
        report = path_report(evaluation, start, limit)
        for path, (_, symbols) in zip(report.paths, path_rows(report, program, labels), strict=True):
            named = any(symbol.startswith("∂") for symbol in symbols)  # a tensor op's, as in trace
            for symbol, local in zip(symbols, path.locals, strict=True):
                assert symbol == factor(symbol)
                assert local is None or named or close(read(symbol, values), local), (symbol, local)
            if path.product is not None and None not in path.locals and not named:
                text = locals_text(symbols)
                assert math.isclose(read(text, values), path.product, rel_tol=1e-9, abs_tol=1e-300), text
                checked += 1
    return checked


# -- the issue's examples, as printed ---------------------------------------------------------------


def test_issue_14_examples_are_bracketed(run, run_json):
    """`h2.grad · 1 - h2²` and `b × 1 - h2² × c` were wrong maths; `· -1` read badly."""
    program, point = "h2 = tanh(a*b); L = h2*c", ("--a", "0.5", "--b", "2", "--c", "3")
    code, out, _ = run("trace", program, *point)
    assert code == 0 and "d.grad += h2.grad · (1 - h2²) = 3 · 0.419974 = 1.25992 → d.grad = 1.25992" in out
    code, out, _ = run("paths", program, *point, "--wrt", "a")
    assert code == 0 and "│ b × (1 - h2²) × c │" in out
    code, document = run_json("paths", program, *point, "--wrt", "a")
    assert code == 0 and document["paths"][0]["locals"] == ["b", "(1 - h2²)", "c"]
    code, document = run_json("trace", "(a - b)/c", "--a", "1", "--b", "2", "--c", "4")
    steps = [(step["local"], step["text"]) for step in document["backward"]]
    assert ("(-d/c²)", "c.grad += e.grad · (-d/c²) = 1 · 0.0625 = 0.0625 → c.grad = 0.0625") in steps
    assert ("(-1)", "b.grad += d.grad · (-1) = 0.25 · (-1) = -0.25 → b.grad = -0.25") in steps


# -- every op, by hand ------------------------------------------------------------------------------

EVERY_OP = [
    ("(a + b) * b**3", {"a": 7, "b": 3}),  # the lecture's
    ("h2 = tanh(a*b); L = h2*c", {"a": 0.5, "b": 2, "c": 3}),  # issue 14's
    ("(a - b)/c + -a", {"a": 0.5, "b": 2, "c": 3}),
    ("a**2.3456789 + a**-2 + 2**a + a**b + a**.5 + a**1e0 + a**0 + a**- 2 + a**-(2)", {"a": 1.5, "b": 0.7}),
    ("exp(a) + log(a) + sqrt(a) + sin(a) + cos(a) + tan(a) + sigmoid(a)", {"a": 0.3}),
    ("relu(a) + abs(b) + max(a, b) + min(a, b) + max(b, 1) * min(2, a)", {"a": 0.5, "b": -2}),
    ("relu(a) + abs(b) + max(a, b) + min(a, b)", {"a": 0, "b": 0}),  # the kinks and a tie: ½ each
    (
        "ln(a) + log2(a) + log10(a) + sinh(a) + cosh(b) + asin(a) + acos(b) + atan(b) + softplus(b)",
        {"a": 0.3, "b": -0.6},
    ),
    (
        "leaky_relu(b) + leaky_relu(a) + leaky_relu(b, a) + leaky_relu(c, a) + leaky_relu(c)",
        {"a": 0.3, "b": -2, "c": 0},
    ),
    ("sign(a) * a + sign(b)", {"a": 0.5, "b": -2}),  # the step `diff` writes kinks with
    ("a * -1 + -1/a + a*- 2 + -pi*a + x/a", {"a": 2}),  # x = 3 below: a named constant
]
EVERY_OP[-1] = ("x = 3; " + EVERY_OP[-1][0], EVERY_OP[-1][1])


def test_every_op_with_a_local_text_is_here():
    used = {op.name for source, _ in EVERY_OP for op in parse(source).ops}
    scalar = {name for name, op in OPS.items() if op.local is not None and op.shape is None}
    assert scalar <= used  # a tensor op's text is a vector formula: tests/test_tensor_trace.py


@pytest.mark.parametrize(("source", "values"), EVERY_OP, ids=[source for source, _ in EVERY_OP])
def test_every_printed_local_text_reads_back_as_its_number(source, values):
    evaluation = evaluate(source, {name: float(value) for name, value in values.items()})
    assert check_trace(evaluation) > 0 and check_paths(evaluation) > 0


@pytest.mark.parametrize(
    ("text", "as_a_factor"),
    [
        ("1 - h2²", "(1 - h2²)"),
        ("-1", "(-1)"),
        ("-sin(a)", "(-sin(a))"),
        ("-d/c²", "(-d/c²)"),
        ("[a > b] + ½·[a = b]", "([a > b] + ½·[a = b])"),
        ("(a) - (b)", "((a) - (b))"),
        ("3·b²", "3·b²"),
        ("1/(2·sqrt(x))", "1/(2·sqrt(x))"),
        ("b·(1 - b)", "b·(1 - b)"),
        ("[b > 0]", "[b > 0]"),
        ("1e-3", "1e-3"),
        ("0.5·b^(-0.5)", "0.5·b^(-0.5)"),
        ("c·b^(c-1)", "c·b^(c-1)"),
    ],
)
def test_a_local_text_is_bracketed_unless_a_product_of_atoms(text, as_a_factor):
    assert factor(text) == as_a_factor and is_product(as_a_factor)


@pytest.mark.parametrize(
    ("exponent", "text"),
    [
        ("3", "3·b²"),
        ("2", "2·b"),
        ("1", "1"),
        ("0", "0"),
        ("2.5", "2.5·b^1.5"),
        (".5", "0.5·b^(-0.5)"),
        ("2.500000e+00", "2.5·b^1.5"),
        ("2.3456789", "2.3456789·b^1.3456789"),  # exact, not 1.34568
        ("(-1)", "-1·b⁻²"),
        ("(- 2)", "-2·b⁻³"),
        ("c", "c·b^(c-1)"),
    ],
)
def test_power_rule_text(exponent, text):
    assert power_rule_text("b", exponent) == text


# -- random programs over every op ---------------------------------------------------------------


@examples(100, 2000)
@given(cases())
def test_random_programs_print_local_texts_that_read_back(case):
    generated, point = case
    source, used = render_program(generated)
    evaluation = evaluate(source, {name: point[name] for name in used})
    assert not shared_labels(evaluation)
    check_trace(evaluation)
    if all(type(value) is float for value in evaluation.values):  # paths is for scalar programs
        check_paths(evaluation)


def test_the_constant_e_and_the_letter_e_are_two_labels():
    """Letters skip the names of the constants a program uses (`e`, `-e`)."""
    evaluation = evaluate("x*sin(sin(sin(sin(e))))", {"x": 1.0})
    assert not shared_labels(evaluation)
