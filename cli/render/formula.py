"""A derivative (graph/adjoint.py) written out: in the language itself, in LaTeX, or as Python.

The plan says which terms are statements; a spelling says how each op is written and how tightly
it binds. Texts are made in one sweep over the terms in id order (arguments first), each from its
arguments' texts, so nothing recurses, and the plan keeps every inline text short.
"""

from __future__ import annotations

import keyword
import math

from ...graph.adjoint import Derivative, Plan, plan
from ...graph.errors import InputError
from ...graph.ops import CONST, INPUT

SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(1, 7)
"""The grammar's precedence levels, loosest first: `a + b`, `a * b`, `-a`, `a**b`, `a.T`, atoms."""

FORMATS = ("program", "latex", "python")


def render(derivative: Derivative, form: str = "program") -> str:
    """The derivative as text in `form` (one of FORMATS)."""
    spelling = {"program": Program, "latex": Latex, "python": Python}[form](derivative)
    steps = plan(derivative)
    texts = _texts(steps, spelling)
    lines = []
    for statement in steps.statements:
        term = statement.term
        own = statement.name is not None and steps.named.get(term.id) == statement.name
        if own or term.id not in steps.named:
            text = texts[term.id][0]
        else:
            text = spelling.name(steps.named[term.id])
        lines.append((statement.name, text))
    results = [
        spelling.name(steps.named[r.id]) if r.id in steps.named else texts[r.id][0] for r in derivative.roots
    ]
    return spelling.document(lines, results)


def _texts(steps: Plan, spelling) -> dict[int, tuple[str, int]]:
    """(text, level) of every term reached, a named argument written as its name."""
    texts: dict[int, tuple[str, int]] = {}
    table = spelling.derivative.terms.terms
    for term_id in steps.reached:
        term = table[term_id]
        if term.op is CONST:
            texts[term_id] = spelling.number(term.value)
        elif term.op is INPUT:
            texts[term_id] = (spelling.name(term.value), ATOM)
        else:
            args = [
                (spelling.name(steps.named[a.id]), ATOM) if a.id in steps.named else texts[a.id]
                for a in term.args
            ]
            texts[term_id] = spelling.apply(term.op.name, args)
    return texts


def wrap(arg: tuple[str, int], level: int, left: str = "(", right: str = ")") -> str:
    """The text of an argument, bracketed if it binds more loosely than `level` needs."""
    text, own = arg
    return text if own >= level else f"{left}{text}{right}"


def operand(arg: tuple[str, int]) -> str:
    """The operand of a postfix `.T` or `[i]`: a number is bracketed too, as `0.T` reads as `0.` `T`."""
    text = wrap(arg, POSTFIX)
    return f"({text})" if text[:1].isdigit() else text


def number_text(value: float) -> str:
    """A number as the language reads it back exactly: `3`, `0.5`, `1e-05`."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class Program:
    """The tool's own language: what `backprop eval` reads back."""

    times, over, pi = "*", "/", "pi"

    def __init__(self, derivative: Derivative) -> None:
        self.derivative = derivative

    def number(self, value: float) -> tuple[str, int]:
        if abs(value) == math.pi:  # the program's pi, which no program can rebind
            return ("-" if value < 0 else "") + self.pi, UNARY if value < 0 else ATOM
        text = number_text(value)
        return text, UNARY if value < 0 else ATOM

    def name(self, name: str) -> str:
        return name

    def apply(self, op: str, args: list[tuple[str, int]]) -> tuple[str, int]:
        if op in ("add", "sub"):
            sign = "+" if op == "add" else "-"
            return f"{wrap(args[0], SUM)} {sign} {wrap(args[1], PRODUCT)}", SUM
        if op in ("mul", "div", "matmul"):
            sign = {"mul": self.times, "div": self.over, "matmul": " @ "}[op]
            return f"{wrap(args[0], PRODUCT)}{sign}{wrap(args[1], UNARY)}", PRODUCT
        if op == "neg":
            return self.negate(args[0])
        if op == "pow":
            return f"{wrap(args[0], POSTFIX)}**{wrap(args[1], UNARY)}", POWER
        if op == "transpose":
            return f"{operand(args[0])}.T", POSTFIX
        if op == "array":
            return f"[{', '.join(text for text, _ in args)}]", ATOM
        if op == "index":
            return f"{operand(args[0])}[{', '.join(text for text, _ in args[1:])}]", POSTFIX
        return self.call(op, [text for text, _ in args]), ATOM

    def negate(self, arg: tuple[str, int]) -> tuple[str, int]:
        # -(x*y) is written -x*y: (-x)*y is the same number, as the sign of a product is exact.
        text, level = arg
        if level == PRODUCT and not text.startswith("-"):
            return f"-{text}", PRODUCT
        return f"-{wrap(arg, UNARY)}", UNARY

    def call(self, op: str, args: list[str]) -> str:
        return f"{op}({', '.join(args)})"

    def document(self, lines: list[tuple[str | None, str]], results: list[str]) -> str:
        return "\n".join(text if name is None else f"{name} = {text}" for name, text in lines)


PYTHON_FUNCTIONS = {
    "exp": "math.exp", "log": "math.log", "sqrt": "math.sqrt", "sin": "math.sin", "cos": "math.cos",
    "tan": "math.tan", "tanh": "math.tanh", "abs": "abs", "max": "max", "min": "min",
    "log2": "math.log2", "log10": "math.log10", "sinh": "math.sinh", "cosh": "math.cosh",
    "asin": "math.asin", "acos": "math.acos", "atan": "math.atan",
    "sigmoid": "_sigmoid", "relu": "_relu", "sign": "_sign", "softplus": "_softplus",
    "leaky_relu": "_leaky_relu",
}  # fmt: skip
"""Each op called by name, as plain Python writes it (the helpers are defined in the output)."""

PYTHON_HELPERS = {
    "_sigmoid": "def _sigmoid(x):\n    z = math.exp(-abs(x))\n    return 1 / (1 + z) if x >= 0 else z / (1 + z)",
    "_relu": "def _relu(x):\n    return x if x > 0 else 0.0",
    "_sign": "def _sign(x):\n    return float((x > 0) - (x < 0))",
    "_softplus": "def _softplus(x):\n    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))",
    "_leaky_relu": "def _leaky_relu(x, slope=0.01):\n    return x if x > 0 else slope * x",
}


class Python(Program):
    """A plain Python function `gradient(inputs…)` using only `math`."""

    times, over, pi = " * ", " / ", "math.pi"

    def __init__(self, derivative: Derivative) -> None:
        super().__init__(derivative)
        if any(term.shape or not term.op.elementwise and term.args for term in derivative.terms.terms):
            raise InputError(
                "--format python writes scalar programs only (a plain function of floats)",
                hint="use --format program, which `backprop eval` reads back, or latex",
            )
        self.helpers: set[str] = set()
        program = derivative.program
        taken = set(program.inputs) | set(program.bindings) | {"math"} | set(PYTHON_HELPERS)
        self.renamed = {}
        for name in [*program.inputs, *program.bindings]:
            if keyword.iskeyword(name) or name in ("math", "gradient") or name in PYTHON_HELPERS:
                fresh = name + "_"
                while fresh in taken:
                    fresh += "_"
                taken.add(fresh)
                self.renamed[name] = fresh

    def name(self, name: str) -> str:
        return self.renamed.get(name, name)

    def call(self, op: str, args: list[str]) -> str:
        if op not in PYTHON_FUNCTIONS:
            raise InputError(f"--format python cannot write {op} yet", hint="use --format program or latex")
        function = PYTHON_FUNCTIONS[op]
        if function in PYTHON_HELPERS:
            self.helpers.add(function)
        return f"{function}({', '.join(args)})"

    def document(self, lines: list[tuple[str | None, str]], results: list[str]) -> str:
        derivative = self.derivative
        parameters = ", ".join(self.name(name) for name in derivative.program.inputs)
        body = [f"    {name} = {text}" for name, text in lines if name is not None]
        if len(derivative.wrt) > 1:
            pairs = ", ".join(f'"{w}": {text}' for w, text in zip(derivative.wrt, results))
            body.append(f"    return {{{pairs}}}")
        else:
            body.append(f"    return {results[0]}")
        wrt = ", ".join(f"∂f/∂{w}" for w in derivative.wrt)
        head = f'def gradient({parameters}):\n    """{wrt} of f = {_one_line(derivative)}."""'
        helpers = [PYTHON_HELPERS[name] for name in sorted(self.helpers)]
        return "\n\n\n".join(["import math", *helpers, head + "\n" + "\n".join(body)]) + "\n"


def _one_line(derivative: Derivative) -> str:
    text = derivative.program.text(limit=60)
    return text.replace("\\", "\\\\").replace('"""', "'''")


LATEX_FUNCTIONS = {
    "log": r"\ln", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "tanh": r"\tanh",
    "sinh": r"\sinh", "cosh": r"\cosh", "asin": r"\arcsin", "acos": r"\arccos", "atan": r"\arctan",
    "max": r"\max", "min": r"\min", "sigmoid": r"\sigma", "log2": r"\log_{2}", "log10": r"\log_{10}",
}  # fmt: skip


GREEK = set(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi rho sigma tau upsilon phi chi psi omega"
    " Gamma Delta Theta Lambda Xi Sigma Upsilon Phi Psi Omega".split()
)  # pi is the constant
"""Names LaTeX writes as Greek letters: `alpha` is α."""


class Latex(Program):
    """LaTeX: one equation for one short formula, an align* block of statements otherwise."""

    pi = r"\pi"

    def number(self, value: float) -> tuple[str, int]:
        text, level = super().number(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
            level = min(level, PRODUCT)
        return text, level

    def name(self, name: str) -> str:
        wrt = self.derivative.wrt
        if name.startswith("d_") and name[2:] in wrt:
            return rf"\frac{{\partial f}}{{\partial {self.name(name[2:])}}}"
        if name.startswith("d_") and len(name) > 2:
            return rf"\bar{{{self.name(name[2:])}}}"  # the adjoint ∂f/∂c, written c̄
        head = name.rstrip("0123456789")
        if head != name and len(head.rstrip("_")) == 1:
            return f"{head[0]}_{{{name[len(head) :]}}}"  # x12 and t_2 are x₁₂ and t₂
        if len(name) == 1:
            return name
        if name in GREEK:
            return "\\" + name
        return r"\mathit{" + name.replace("_", r"\_") + "}"

    def apply(self, op: str, args: list[tuple[str, int]]) -> tuple[str, int]:
        if op == "mul":
            left, right = wrap(args[0], PRODUCT), wrap(args[1], UNARY)
            joint = r" \cdot " if right[:1].isdigit() or right[:1] == "-" else " "
            return f"{left}{joint}{right}", PRODUCT
        if op == "div":
            return rf"\frac{{{args[0][0]}}}{{{args[1][0]}}}", POWER
        if op == "pow":
            return f"{wrap(args[0], POSTFIX)}^{{{args[1][0]}}}", POWER
        if op == "exp":
            return f"e^{{{args[0][0]}}}", POWER
        if op == "sqrt":
            return rf"\sqrt{{{args[0][0]}}}", ATOM
        if op == "abs":
            return rf"\lvert {args[0][0]} \rvert", ATOM
        return super().apply(op, args)

    def call(self, op: str, args: list[str]) -> str:
        function = LATEX_FUNCTIONS.get(op, r"\operatorname{" + op.replace("_", r"\_") + "}")
        return rf"{function}\left({', '.join(args)}\right)"

    def document(self, lines: list[tuple[str | None, str]], results: list[str]) -> str:
        result = self.name(f"d_{self.derivative.wrt[-1]}")
        if lines[-1][0] is None and lines[-1][1] == result:
            lines = lines[:-1]  # the last statement already says it
        if len(lines) == 1:
            return f"{result} = {lines[0][1]}"
        rows = [rf"{result if name is None else self.name(name)} &= {text}" for name, text in lines]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
