"""The statement shortcuts (parser/lines.py, parser/shortcut.py) change speed only: every text
parses to the same Program — the same nodes in the same order, ids, spans, names, constants and
operator places — or fails with the same error, whether plain lines are split, common statements
read in one match, or every token read by the LALR tables. No timing here: speed is in
bench/parser.py.
"""

from __future__ import annotations

import random
import re

import pytest
from fuzzing import language_text, mutated_programs, token_soup
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark
from profiles import examples
from strategies import programs

from backprop.graph.errors import BackpropError
from backprop.parser import build
from backprop.parser.generate import GRAMMAR
from backprop.parser.lines import PlainLines
from backprop.parser.shortcut import GAP, NAME, NUMBER, RUN, STATEMENT
from backprop.parser.syntax import check_not_empty

WAYS = {"lines": (True, True), "match": (True, False), "tables": (False, False)}
"""How a parse reads common statements: plain lines first, the shortcut's match only, or neither."""


def outcome(text: str, way: str):
    """Everything a parse leaves behind (tables in their order), or the error it raises (kind,
    words, place, hint)."""
    build.SHORTCUT, build.PLAIN = WAYS[way]
    try:
        program = build.parse(text)
    except BackpropError as error:
        return (type(error).__name__, error.message, error.line, error.column, error.width, error.hint)
    finally:
        build.SHORTCUT, build.PLAIN = True, True
    return (
        [op.name for op in program.ops],
        program.first,
        program.second,
        program.starts,
        program.ends,
        bytes(program.needs_grad),
        *(list(table.items()) for table in (program.many, program.names, program.inputs, program.bindings)),
        list(program.binding_starts.items()),
        [
            (i, type(value).__name__, value.tolist() if hasattr(value, "tolist") else value)
            for i, value in program.constants.items()
        ],
        program.output,
        list(program._operator_nodes),
        list(program._operator_starts),
    )


def assert_same(text: str) -> None:
    lines, match, tables = (outcome(text, way) for way in WAYS)
    assert lines == tables, text
    assert match == tables, text


# Pieces of simple statements and their near misses: names that are constants, functions or rebound,
# every spelling of a number (and ones the lexer splits), each operator, gaps and separators.
OPERANDS = st.sampled_from(["x", "y", "a1", "_b", "pi", "e", "sin", "relu", "u", "v"]) | st.sampled_from(
    ["1", "2.5", ".5", "3.", "1e3", "1E-2", "2.e0", "1e", "1e+", "007", "1.T", "2x", "1e999", "0.999"]
)
OPERATORS = st.sampled_from(["+", "-", "*", "/", "@", "**", "^", "* *", "=", "==", ".T", ""])
FUNCTIONS = st.sampled_from(["relu", "sin", "exp", "sum", "max", "nosuch", "pi", "x"])
GAPS = st.sampled_from(["", " ", "\t", "  ", "\f", "\r", " # note", "\n", " \\ "])
SEPARATORS = st.sampled_from(["\n", ";", "\r\n", "\n\n", " ;\n", "  # c\n", ";;", "\n# c\n", "\n)\n", ""])
TARGETS = st.sampled_from(["u", "v", "w", "x", "pi", "e", "sin", "", "", "2"])


@st.composite
def statement(draw) -> str:
    target = draw(TARGETS)
    head = f"{target}{draw(GAPS)}={draw(GAPS)}" if target else ""
    gap = draw(GAPS)
    shape = draw(st.sampled_from(["operand", "infix", "call", "call2", "signed"]))
    if shape == "operand":
        body = draw(OPERANDS)
    elif shape == "infix":
        body = f"{draw(OPERANDS)}{gap}{draw(OPERATORS)}{draw(GAPS)}{draw(OPERANDS)}"
    elif shape == "call":
        body = f"{draw(FUNCTIONS)}{gap}({draw(GAPS)}{draw(OPERANDS)}{draw(GAPS)})"
    elif shape == "call2":
        body = f"{draw(FUNCTIONS)}({draw(OPERANDS)},{gap}{draw(OPERANDS)})"
    else:
        body = f"-{gap}{draw(OPERANDS)}"
    return head + body + draw(GAPS)


simple_programs = st.lists(st.tuples(statement(), SEPARATORS), min_size=1, max_size=8).map(
    lambda pairs: "".join(a + b for a, b in pairs)
)
# Plain lines (parser/lines.py: `v = a op b`, `v = f(a)`, single spaces) and their near misses:
# another gap, a non-ASCII digit or letter, a number too large, a target that is also an operand.
PLAIN_GAPS = st.sampled_from([" "] * 12 + ["", "  ", "\t", "\r", "\f"])
PLAIN_OPERANDS = OPERANDS | st.sampled_from(["٣", "x٣", "é", "1" * 400, "2" * 400 + ".5", "1.2.3", ".", "w"])
PLAIN_TARGETS = TARGETS | st.sampled_from(["v1", "v2", "w", "_", "é", "v1 "])


@st.composite
def plain_line(draw) -> str:
    head = f"{draw(PLAIN_TARGETS)}{draw(PLAIN_GAPS)}={draw(PLAIN_GAPS)}"
    if draw(st.booleans()):
        body = f"{draw(PLAIN_OPERANDS)}{draw(PLAIN_GAPS)}{draw(OPERATORS)}{draw(PLAIN_GAPS)}{draw(PLAIN_OPERANDS)}"
    else:
        inside = draw(st.sampled_from(["", "", "", "", " ", ","]))
        body = f"{draw(FUNCTIONS)}({inside}{draw(PLAIN_OPERANDS)})"
    return head + body + draw(st.sampled_from([""] * 8 + [" ", "\r", "# c"]))


plain_programs = st.lists(
    st.tuples(plain_line(), st.sampled_from(["\n"] * 6 + ["\r\n", ";", "\n\n", " \n", "\n# c\n"])),
    min_size=1,
    max_size=12,
).map(lambda pairs: "".join(a + b for a, b in pairs))


@examples(500, 20_000)
@given(simple_programs)
def test_simple_statements_and_their_near_misses_parse_alike(text):
    assert_same(text)


@examples(500, 20_000)
@given(plain_programs)
def test_plain_lines_and_their_near_misses_parse_alike(text):
    assert_same(text)


@examples(300, 10_000)
@given(st.one_of(token_soup, mutated_programs().map(lambda pair: pair[0]), language_text))
def test_any_text_parses_alike(text):
    assert_same(text)


@examples(100, 2_000)
@given(programs())
def test_generated_programs_parse_alike(program):
    assert_same(program.text())


@pytest.mark.parametrize(
    "text",
    [
        "v = a * b\nw = relu(v)\nw + 1",
        "u = x; v = u - 2; v",
        "u = x\nu = 2",  # bound twice
        "y = x\nx = 2",  # an input rebound
        "pi = 3\npi",  # a constant that cannot be rebound
        "u = e\ne = 2",  # a constant used before it is rebound
        "u = sin\nu",  # a function as a value
        "u = nosuch(x)",
        "u = sum(x)\nu",
        "u = 1e999",
        "u = x\nu\nu + 1",  # a result before the last statement
        "u = x +\n y",
        "u = x # c\n+ y",
        "u = x\r\n\r\nv = u ** 2 ^ 3",
        "x",
        "2 * x",
        f"v{'x' * 300} = a + b\nw = relu(a)\nu = w * 2",  # a line longer than plain lines go
        "a = x * 2; " * 100 + "a",  # many statements on one line
    ],
)
def test_examples_parse_alike(text):
    assert_same(text)


@pytest.mark.parametrize("seed", range(4))
def test_long_programs_parse_alike_across_runs(seed):
    """Past RUN statements a run ends and the next begins; statements the shortcut leaves to the
    tables (and one that is not the last without `name =`) fall anywhere among them."""
    rng = random.Random(seed)
    forms = [
        "u{i} = u{j} * 2",
        "u{i} = relu(u{j})",
        "u{i} = u{j} - x",
        "u{i} = -u{j}",
        "u{i} = (u{j} + 1) * x",
    ]
    lines = ["u0 = x"] + [rng.choice(forms).format(i=i, j=rng.randrange(i)) for i in range(1, 3 * RUN)]
    if seed % 2:
        lines.insert(rng.randrange(1, len(lines)), "u1 + 2")  # computed but never used: an error
    separators = ["\n", "; ", "\n\n", " # c\n", "\r\n"]
    assert_same("".join(line + rng.choice(separators) for line in lines) + f"u{3 * RUN - 1}")


def test_the_shortcut_reads_the_common_statements():
    """It does match what it is for (else the tests above would compare the tables with themselves)."""
    for text in ["v = a * b", "w = relu(v)", "w + 1", "u = 0.999", "z = x_1 ** 2", "2 * x"]:
        found = STATEMENT.match(text)
        assert found is not None and found.end() == len(text), text
    for text in ["v = a * b * c", "w = -x", "u = (x)", "f(a, b)", "u = x.T", "u = x[0]", "u = x +\n y"]:
        found = STATEMENT.match(text)
        assert found is None or found.end() < len(text.split("\n")[0]), text


GRAMMAR_PATTERNS = {
    terminal.name: terminal.pattern.to_regexp()
    for terminal in Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr").terminals
}
LEXEMES = st.text(alphabet="aZ_09.eE+-*#\n \t\r\fT", max_size=12)


@examples(500, 20_000)
@given(LEXEMES)
def test_its_tokens_are_the_grammars(text):
    """NAME, NUMBER and the ignored text match what grammar.lark's patterns match, first try."""
    ignored = f"(?:{GRAMMAR_PATTERNS['__IGNORE_0']}|{GRAMMAR_PATTERNS['COMMENT']})*"
    for ours, theirs in [
        (NAME, GRAMMAR_PATTERNS["NAME"]),
        (NUMBER, GRAMMAR_PATTERNS["NUMBER"]),
        (GAP, ignored),
    ]:
        mine, lark = re.match(ours, text), re.match(theirs, text)
        assert (mine and mine.span()) == (lark and lark.span()), (ours, text)


def test_a_program_over_the_node_limit_is_refused_before_it_is_built_whole(monkeypatch):
    """The parser checks the size between two runs of statements, so a long program of common
    statements stops within a run of the limit, with the same error the tables give."""
    text = "u0 = x\n" + "".join(f"u{i} = u{i - 1} * 2\n" for i in range(1, 100_000))
    made = []

    class Recorded(build.Program):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(build, "Program", Recorded)
    errors = []
    for way in WAYS:
        build.SHORTCUT, build.PLAIN = WAYS[way]
        try:
            with pytest.raises(BackpropError) as failure:
                build.parse(text, max_nodes=1_000)
        finally:
            build.SHORTCUT, build.PLAIN = True, True
        errors.append((type(failure.value), failure.value.message))
    assert errors[0] == errors[1] == errors[2]
    assert errors[0][1] == "the program has more than 1,000 nodes"
    assert len(made[0]) <= 1_000 + 3 * RUN, len(made[0])
    assert len(made[1]) <= 1_000 + 3 * RUN, len(made[1])


@examples(500, 20_000)
@given(st.text(alphabet=" \t\n\r\f\v\x1c\x85\u2028#ax;", max_size=12) | st.text(max_size=12))
def test_an_empty_program_is_found_as_by_reading_every_line(text):
    """check_not_empty's shortcut (the first visible character) agrees with reading every line."""
    empty = all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())
    try:
        check_not_empty(text)
    except BackpropError:
        assert empty
    else:
        assert not empty


def test_plain_lines_are_built_by_lines_and_near_misses_are_left_to_the_others():
    """lines.py does read the plain lines (else the comparisons above would not test it), and builds
    nothing of a line it leaves to the regex or the tables."""
    text = "v = a * b\nw = relu(v)\nu = w - 0.5\nz = x_1 ** 2"
    program = build.Program(text)
    count, (node, value_start, end) = PlainLines(text, program)(0, RUN)
    assert count == 4 and (node, value_start, end) == (len(program) - 1, text.rindex("x_1"), len(text))
    assert program.bindings == {"v": 2, "w": 3, "u": 5, "z": 8}
    misses = [
        "v = a  * b",
        "v = a*b",
        "v = -a",
        "v = a * b * c",
        "v = relu(a, b)",
        "v = relu( a)",
        "pi = a + b",
    ]
    misses += [
        "v = v + 1",
        "v = relu(v)",
        "v = a + 1e3",
        "v = a + ٣",
        "v = a + b ",
        "v = a + b\r",
        "v = pi * 2",
    ]
    misses += ["v = a + " + "9" * 400, "v = nosuch(a)", "v = a # c", "v := a + b"]
    for miss in misses:
        program = build.Program(miss)
        assert PlainLines(miss, program)(0, RUN)[0] == 0 and len(program) == 0, miss
