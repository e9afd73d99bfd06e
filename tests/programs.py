"""A generated program as a structure, and its text.

A program is generated as a structure (`Expr` trees inside `Statement`s, strategies.py) and only then
rendered: to our text here, and to SymPy by test_differential's own converter, so neither oracle ever
reads our text. Rendering is precedence-aware with as few brackets as the grammar allows, so the traps
(`-x**2`, `2**-1`, `a**b**c`, `a - (b - c)`, `a/b/c`) come out exactly as a person would write them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from op_cases import ATOM, CASES, POSTFIX, POWER, SUM, UNARY


@dataclass(frozen=True)
class Style:
    """How one node is written: none of it changes the value."""

    parens: bool = False  # extra brackets around the node
    plus: bool = False  # a unary + in front
    caret: bool = False  # `^` instead of `**`
    gap: str = " "  # around a binary operator, after a comma
    brk: str = ""  # a line break after a binary operator (the expression goes on)
    pad: str = ""  # inside a call's brackets
    postfix: bool = False  # transpose as `x.T` rather than `transpose(x)`


@dataclass(frozen=True)
class Expr:
    """A node of a generated program: an op of op_cases, or a leaf `input`, `const` or `ref`."""

    op: str
    args: tuple[Expr, ...] = ()
    lo: float = 0.0
    hi: float = 0.0
    text: str = ""  # a leaf's spelling: the number as written, `pi`, the name
    value: float = 0.0  # a constant's value (float(text), or math.pi)
    style: Style = Style()
    size: int = 0  # 0 for a scalar, n for a vector of n elements

    @property
    def uses_inputs(self) -> bool:
        """True if some input flows into this node (through references too)."""
        if self.op == "input":
            return True
        return any(arg.uses_inputs for arg in self.args)


def expanded_size(e: Expr, memo: dict[int, int] | None = None) -> int:
    """The number of nodes with every reference written out in full (what an inlining oracle sees)."""
    memo = {} if memo is None else memo
    if id(e) not in memo:
        memo[id(e)] = 1 + sum(expanded_size(arg, memo) for arg in e.args)
    return memo[id(e)]


@dataclass(frozen=True)
class Statement:
    name: str | None  # None: a bare expression (only the last statement)
    expr: Expr


@dataclass(frozen=True)
class GeneratedProgram:
    statements: tuple[Statement, ...]
    separators: tuple[str, ...]  # before the first statement, between statements, after the last
    inputs: tuple[str, ...]  # the input names the generator could use (not all need appear)

    def text(self) -> str:
        return render_program(self)[0]

    def used_inputs(self) -> list[str]:
        """The inputs that appear in the text, in order of first use."""
        return render_program(self)[1]

    @property
    def output(self) -> Expr:
        return self.statements[-1].expr


# ------------------------------------------------------------------------------------------------
# Leaves, and nodes written by hand
# ------------------------------------------------------------------------------------------------


def const(text: str) -> Expr:
    value = float(text)
    return Expr("const", lo=value, hi=value, text=text, value=value)


PI = Expr("const", lo=math.pi, hi=math.pi, text="pi", value=math.pi)
E = Expr("const", lo=math.e, hi=math.e, text="e", value=math.e)
NAMED_CONSTANTS = ("pi", "e")


BOX = (-2.5, 2.5)
"""An input's bounds: the generator keeps every op in its domain over this whole box (strategies)."""


def inputs(name: str) -> Expr:
    return Expr("input", lo=BOX[0], hi=BOX[1], text=name)


def ref(name: str, expr: Expr) -> Expr:
    """A use of the statement `name = expr`: written as the name, valued as the expression."""
    return Expr("ref", (expr,), lo=expr.lo, hi=expr.hi, text=name)


def tree(op: str, *args: Expr) -> Expr:
    """A node written by hand in a test: no bounds (the test picks an in-domain point itself)."""
    return Expr(op, args, lo=math.nan, hi=math.nan)


# ------------------------------------------------------------------------------------------------
# Rendering to our text
# ------------------------------------------------------------------------------------------------


def render_program(program: GeneratedProgram) -> tuple[str, list[str]]:
    """(the program text, its inputs in order of first use)."""
    seen: dict[str, None] = {}
    parts = [program.separators[0]]
    for i, statement in enumerate(program.statements):
        if i:
            parts.append(program.separators[i])
        text = render(statement.expr, seen)
        parts.append(text if statement.name is None else f"{statement.name} = {text}")
    parts.append(program.separators[-1])
    return "".join(parts), list(seen)


def render(e: Expr, seen: dict[str, None] | None = None) -> str:
    return _render(e, {} if seen is None else seen)[0]


def _at(e: Expr, level: int, seen) -> str:
    """e written so that it parses as (at least) `level`: bracketed if it binds looser."""
    text, own = _render(e, seen)
    return text if own >= level else f"({text})"


def _operand(e: Expr, seen) -> str:
    """The operand of a postfix `[i]` or `.T`: `2.T` would lex as `2.` then `T`, so numbers get brackets."""
    text = _at(e, POSTFIX, seen)
    return f"({text})" if e.op == "const" and e.text not in NAMED_CONSTANTS else text


def _render(e: Expr, seen: dict[str, None]) -> tuple[str, int]:
    s = e.style
    infix = CASES[e.op].infix if e.op in CASES else None
    if e.op in ("const", "ref"):
        text, level = e.text, ATOM
    elif e.op == "input":
        seen.setdefault(e.text)
        text, level = e.text, ATOM
    elif infix is not None:
        symbol, level = infix
        left = _at(e.args[0], level, seen)
        right = _at(e.args[1], level + 1, seen)  # left-associative: a - (b - c) keeps its brackets
        text = f"{left}{s.gap}{symbol}{s.brk or s.gap}{right}"
    elif e.op == "neg":
        text, level = "-" + _at(e.args[0], UNARY, seen), UNARY
    elif e.op == "pow":
        base = _at(e.args[0], POSTFIX, seen)
        exponent = _at(e.args[1], UNARY, seen)  # right-associative, and 2**-1 needs no brackets
        text, level = f"{base}{'^' if s.caret else '**'}{s.brk}{exponent}", POWER
    elif e.op == "array":
        text, level = f"[{s.pad}{f',{s.gap}'.join(_at(arg, SUM, seen) for arg in e.args)}{s.pad}]", ATOM
    elif e.op == "index":
        text, level = f"{_operand(e.args[0], seen)}[{e.args[1].text}]", POSTFIX
    elif e.op == "transpose" and s.postfix:
        text, level = f"{_operand(e.args[0], seen)}.T", POSTFIX
    else:
        arguments = f",{s.gap}".join(_at(arg, SUM, seen) for arg in e.args)
        text, level = f"{e.op}({s.pad}{arguments}{s.pad})", ATOM
    if s.plus:
        text, level = "+" + (text if level >= UNARY else f"({text})"), UNARY
    if s.parens:
        text, level = f"({text})", ATOM
    return text, level
