"""Text → Program. The LALR parser calls a Builder method as it reduces each rule, so nodes are
made as the text is read: no parse tree, and no recursion however deep the nesting.

The builder only builds: it resolves names, checks calls against the op registry, and records
where each node came from (and where an infix node's operator stands). It computes no values.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

from ..graph.errors import ArityError, DomainError, NameError_, ParseError, ShapeError
from ..graph.kernels import stack
from ..graph.limits import BYTES_PER_NODE, MAX_ELEMENTS, MAX_NODES, nodes_error
from ..graph.ops import CONST, CONSTANTS, FUNCTIONS, OPS, REBINDABLE, Op
from ..graph.program import Program
from .lalr import LineBreaks, Shortcut, Tables, UnexpectedCharacter, UnexpectedToken
from .lines import PlainLines
from .shortcut import reader
from .syntax import check_not_empty, syntax_error

# Tokens after which a line break does not end the statement (the expression goes on).
_CONTINUES_LINE = {"PLUS", "MINUS", "STAR", "SLASH", "AT", "POW", "EQUAL", "COMMA", "LPAR"}
_OPENS, _CLOSES = {"LPAR", "LSQB"}, {"RPAR", "RSQB"}
# A newline ends a statement, except inside brackets, after an operator, or when the statement is
# still empty (blank lines): the parser's post-lexer, applied as it reads the tokens.
BREAKS = LineBreaks("_NEWLINE", frozenset(_CONTINUES_LINE), frozenset(_OPENS), frozenset(_CLOSES))

Span = tuple[int, int]
"""A token as the callbacks receive it: the [start, end) offsets of its text in the source."""


class Term(NamedTuple):
    """A parsed subexpression: its node, and the span of text it covers (brackets included)."""

    node: int
    start: int
    end: int


# Term((node, start, end)) without the NamedTuple's Python-level __new__ (a Term or two is made for
# every node; timeit: a fifth less time per Term).
_term = partial(tuple.__new__, Term)


class StatementBreaks:
    """BREAKS as a Lark post-lexer, so that Lark's own parser reads the language as ours does
    (bench/ compares the two, and the tests check that they agree)."""

    always_accept = ("_NEWLINE",)  # Lark's post-lexer protocol

    def process(self, stream):
        depth, continues = 0, True
        for token in stream:
            kind = token.type
            if kind == "_NEWLINE":
                if depth == 0 and not continues:
                    continues = True  # collapse runs of blank lines
                    yield token
                continue
            if kind in _OPENS:
                depth += 1
            elif kind in _CLOSES and depth:
                depth -= 1
            continues = kind in _CONTINUES_LINE
            yield token


def _infix(op_name: str):
    """The callback of an infix op: one node over its two operands, marked with its operator's place."""
    op = OPS[op_name]

    def infix(self: Builder, left: Term, operator: Span, right: Term) -> Term:
        start, end = left.start, right.end
        return _term((self.program.add_infix(op, left.node, right.node, start, end, operator[0]), start, end))

    infix.__name__ = infix.__qualname__ = op_name
    return infix


class Builder:
    """Parser callbacks, one per grammar alias; they append nodes to `self.program`."""

    def __init__(self, program: Program) -> None:
        self.program, self.source = program, program.source
        self.bindings, self.inputs = program.bindings, program.inputs
        self.constants_used: dict[str, int] = {}  # a rebindable constant -> where it was first used

    # -- leaves -------------------------------------------------------------------------------

    def number(self, token: Span) -> Term:
        start, end = token
        text = self.source[start:end]
        value = float(text)
        if value == math.inf:  # the only number a literal can spell that is not finite (no sign, no nan)
            raise DomainError(
                f"the number {_short(text)} is too large for a float64",
                hint="numbers must be below about 1.8e308",
            ).at(self.program.source, start, end)
        return _term((self.program.add_constant(value, start, end), start, end))

    def name(self, token: Span) -> Term:
        start, end = token
        name = self.source[start:end]
        # A bound name or a known input is never a constant or a function: the common cases first.
        node = self.bindings.get(name)
        if node is None:
            node = self.inputs.get(name)
        if node is not None:
            return _term((node, start, end))
        if name in CONSTANTS and name not in self.program.bindings:
            self.constants_used.setdefault(name, start)
            return Term(self.program.add_constant(CONSTANTS[name], start, end), start, end)
        if name in FUNCTIONS:
            raise NameError_(
                f"{name} is a function, not a value",
                hint=f"call it, as in {name}(x)",
            ).at(self.program.source, start, end)
        return _term((self.program.variable(name, start, end), start, end))

    # -- operators ----------------------------------------------------------------------------

    def _apply(self, op: Op, terms: tuple[Term, ...], start: int, end: int) -> Term:
        if len(terms) == 1:  # most calls: add1 without a tuple of inputs
            return _term((self.program.add1(op, terms[0].node, start, end), start, end))
        node = self.program.add(op, tuple([term.node for term in terms]), start, end)
        return _term((node, start, end))

    add, sub, mul, div, matmul, pow = map(_infix, ("add", "sub", "mul", "div", "matmul", "pow"))

    def neg(self, sign: Span, operand: Term) -> Term:
        program, start = self.program, sign[0]
        literal = program.starts[operand.node] == operand.start and program.ends[operand.node] == operand.end
        if literal and program.negate_constant(operand.node, start):
            return Term(operand.node, start, operand.end)  # -1 is a number, not neg(1)
        return self._apply(OPS["neg"], (operand,), start, operand.end)

    def pos(self, sign: Span, operand: Term) -> Term:
        return Term(operand.node, sign[0], operand.end)  # +x is x itself

    def group(self, lpar: Span, inner: Term, rpar: Span) -> Term:
        return Term(inner.node, lpar[0], rpar[1])

    def call(self, name_token: Span, _lpar, arguments, rpar: Span) -> Term:
        start, name_end = name_token
        name, end = self.source[start:name_end], rpar[1]
        op = FUNCTIONS.get(name)
        if op is None:
            raise _unknown_function(name).at(self.program.source, start, name_end)
        if not op.takes(len(arguments)):
            raise ArityError(
                f"{name} takes {_count(op)}, but {len(arguments)} {'was' if len(arguments) == 1 else 'were'} given",
                hint=f"call it as {_signature(op, name)}",
            ).at(self.program.source, start, end)
        if op.static_from is not None:
            for position, term in enumerate(arguments[op.static_from :], start=op.static_from):
                self._check_static(op, position, term)
        return self._apply(op, tuple(arguments), start, end)

    def _check_static(self, op: Op, position: int, term: Term) -> None:
        """An axis must be a whole number written in the program: sum(x, 0), not sum(x, a)."""
        program = self.program
        value = program.constants.get(term.node)
        if program.ops[term.node] is not CONST or type(value) is not float or not value.is_integer():
            what = _parameter_names(op)[position]
            raise ArityError(
                f"the {what} of {op.name} must be a whole number written in the program",
                hint=f"write e.g. {op.name}(x, 0)",
            ).at(program.source, term.start, term.end)

    def arguments(self, *items) -> tuple[Term, ...]:
        return tuple([item for item in items if type(item) is Term])  # Terms, not the commas' spans

    # -- tensors ------------------------------------------------------------------------------

    def array(self, lsqb: Span, elements: tuple[Term, ...], rsqb: Span) -> Term:
        """[x, y, …]; a literal of numbers becomes one constant array."""
        program, start, end = self.program, lsqb[0], rsqb[1]
        ids = [term.node for term in elements]
        if all(program.ops[i] is CONST for i in ids):
            try:
                value = stack([program.constants[i] for i in ids])
            except ShapeError as failure:
                position = getattr(failure, "position", None)  # point at the row that differs
                place = (
                    (start, end)
                    if position is None
                    else (elements[position - 1].start, elements[position - 1].end)
                )
                raise failure.at(program.source, *place) from None
            folded = program.fold_constant(ids, value, start, end)
            if folded is not None:
                return Term(folded, start, end)
        return self._apply(OPS["array"], elements, start, end)

    def subscript(self, *tokens: Span) -> Term:
        (start, _), (number_start, end) = tokens[0], tokens[-1]
        text = self.program.source[number_start:end]
        value = float(text)
        if not value.is_integer():
            raise ParseError(
                f"a subscript must be a whole number, not {text}", hint="write e.g. x[0] or W[1, -1]"
            ).at(self.program.source, number_start, end)
        return Term(self.program.add_constant(-value if len(tokens) == 2 else value, start, end), start, end)

    def subscripts(self, *items) -> tuple[Term, ...]:
        return tuple(item for item in items if isinstance(item, Term))

    def index(self, base: Term, _lsqb, subscripts: tuple[Term, ...], rsqb: Span) -> Term:
        return self._apply(OPS["index"], (base, *subscripts), base.start, rsqb[1])

    def transpose(self, base: Term, token: Span) -> Term:
        return self._apply(OPS["transpose"], (base,), base.start, token[1])

    # -- statements ---------------------------------------------------------------------------

    def assign(self, name_token: Span, _equal, value: Term):
        start, name_end = name_token
        name = self.source[start:name_end]
        if name in CONSTANTS or name in FUNCTIONS:
            self._check_assignable(name, start, name_end)
        self.program.bind(name, value.node, start)
        return ("assign", value)

    def _check_assignable(self, name: str, start: int, name_end: int) -> None:
        """Refuse to bind a constant or a function's name (`e` only before its first use)."""
        if name in REBINDABLE and name in self.constants_used:
            used = self.constants_used[name]
            raise NameError_(
                f"{name} is used as the constant {name} = {CONSTANTS[name]} (at {self.program.place(used)}) before this assignment",
                hint=f"bind {name} before its first use, or rename this binding",
            ).at(self.program.source, start, name_end)
        if (name in CONSTANTS and name not in REBINDABLE) or name in FUNCTIONS:
            what = "a constant" if name in CONSTANTS else "a function"
            raise NameError_(
                f"{name} is {what} and cannot be assigned to",
                hint="pick another name",
            ).at(self.program.source, start, name_end)

    def assigned(self, node: int, start: int, end: int):
        """What assign() returns, for a statement that parser/lines.py built and bound itself."""
        return ("assign", _term((node, start, end)))

    def result(self, value: Term):
        return ("result", value)

    def start(self, *statements):
        for kind, value in statements[:-1]:
            if kind == "result":
                raise ParseError(
                    "this expression is computed but never used: only the last statement is the output",
                    hint="give it a name (name = ...) or make it the last statement",
                ).at(self.program.source, value.start, value.end)
        self.program.output = statements[-1][1].node
        return self.program


def _unknown_function(name: str) -> NameError_:
    from .spelling import hint  # only a near-typo or another tool's name: never a different function

    return NameError_(f"unknown function {name}", hint=hint(name, list(FUNCTIONS)))


def _parameter_names(op) -> list[str]:
    import inspect

    return [p.name for p in inspect.signature(op.forward).parameters.values()]


def _signature(op, name: str | None = None) -> str:
    """How to call an op: sin(x), max(x, y), sum(x[, axis]); by `name` for another name of it (ln)."""
    names = _parameter_names(op)
    required = ", ".join(names[: op.arity])
    optional = "".join(f"[, {name}]" for name in names[op.arity :])
    return f"{name or op.name}({required}{optional})"


def _count(op) -> str:
    """`1 argument`, `2 arguments`, `1 or 2 arguments`."""
    most = op.arity if op.max_arity == -1 else op.max_arity
    if most == op.arity:
        return f"{op.arity} argument{'s' if op.arity != 1 else ''}"
    return f"{op.arity} or {most} arguments" if most is not None else f"at least {op.arity} arguments"


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# ------------------------------------------------------------------------------------------------
# The parser: LALR tables generated from grammar.lark (see generate.py), loaded once per process.
# ------------------------------------------------------------------------------------------------

_tables: Tables | None = None


def parse(
    text: str, *, max_nodes: int = MAX_NODES, max_elements: int = MAX_ELEMENTS, max_memory: int | None = None
) -> Program:
    """Parse program text into a Program that computes no tensor past `max_elements` elements and
    whose runs take at most `max_memory` bytes (default: a quarter of physical memory); raises
    ParseError, NameError_, ArityError, DomainError, ShapeError, or LimitError past `max_nodes`
    nodes, or past the nodes that `max_memory` holds."""
    global _tables
    check_not_empty(text)
    if _tables is None:
        _tables = Tables.load()
    program = Program(text, max_elements=max_elements, max_memory=max_memory)
    node_limit = min(max_nodes, program.max_memory // BYTES_PER_NODE)
    builder = Builder(program)
    callbacks = {name: getattr(builder, name) for name in _CALLBACKS}

    def check() -> None:  # called every few thousand tokens: stop once the program is too big
        if len(program) > node_limit:
            raise nodes_error(node_limit, program.max_memory)

    # Every node takes at least one character: shorter texts cannot exceed the limit.
    try:
        program = _tables.parse(
            text,
            callbacks,
            BREAKS,
            check if len(text) > node_limit else None,
            _shortcut(text, callbacks, program),
        )
    except (UnexpectedCharacter, UnexpectedToken) as failure:
        raise syntax_error(text, failure) from None
    check()
    return program


_CALLBACKS = [name for name in vars(Builder) if not name.startswith("_")]
SHORTCUT = True
"""Read common statements with parser/shortcut.py's one match (False: every token by the tables)."""
PLAIN = True
"""Read plain lines with parser/lines.py first (False: the shortcut's match reads them)."""


def _shortcut(text: str, callbacks: dict, program: Program) -> Shortcut | None:
    if not SHORTCUT:
        return None
    plain = PlainLines(text, program) if PLAIN else None
    return Shortcut("statement", ("NAME", "NUMBER"), reader(text, callbacks, plain))
