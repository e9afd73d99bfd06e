"""What the fast parser may not change: it reads every text as Lark's own LALR parser does.

The driver (parser/lalr.py) lexes with one pattern that skips ignored text before each token,
follows gotos through collapsed chains of unit reductions, and applies the newline rule by state;
these tests hold each shortcut to Lark itself (with the same post-lexer) on the fuzzers' inputs:
the same tokens at the same places, and a syntax error at the same token with the same expected
terminals (the words of an error message are made from those). No timing here: speed is in bench/.
"""

from __future__ import annotations

import gc

import pytest
from fuzzing import language_text, mutated_programs, token_soup
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput
from lark.exceptions import UnexpectedToken as LarkUnexpectedToken
from profiles import examples

from backprop import parse
from backprop.graph.errors import BackpropError
from backprop.parser.build import _CALLBACKS, BREAKS, StatementBreaks
from backprop.parser.generate import GRAMMAR
from backprop.parser.lalr import PASS, Tables, UnexpectedCharacter, UnexpectedToken

TABLES = Tables.load()
LARK = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="basic", postlex=StatementBreaks())
TEXTS = st.one_of(token_soup, mutated_programs().map(lambda pair: pair[0]), language_text)


def ours(text: str):
    """Our driver with callbacks that build nothing: the spans of the tokens handed to them, or
    the parser's own failure."""
    spans = set()

    def collect(*children):
        spans.update(child for child in children if type(child) is tuple)

    try:
        TABLES.parse(text, dict.fromkeys(_CALLBACKS, collect), BREAKS)
    except (UnexpectedCharacter, UnexpectedToken) as failure:
        return failure
    return spans


def lark(text: str):
    """Lark's parse of the same text: the spans of the tokens its tree keeps, or its failure."""
    try:
        tree = LARK.parse(text)
    except UnexpectedInput as failure:
        return failure
    return {(token.start_pos, token.end_pos) for token in tree.scan_values(lambda value: True)}


def assert_read_alike(text: str) -> None:
    mine, theirs = ours(text), lark(text)
    if isinstance(theirs, UnexpectedCharacters):
        assert isinstance(mine, UnexpectedCharacter) and mine.position == theirs.pos_in_stream
    elif isinstance(theirs, LarkUnexpectedToken):
        assert isinstance(mine, UnexpectedToken), mine
        assert mine.token.type == theirs.token.type
        if theirs.token.type != "$END":  # Lark places $END at the last token; we at the text's end
            assert mine.token.start == theirs.token.start_pos
        assert set(mine.expected) == set(theirs.expected)
    else:
        assert mine == theirs


@examples(300, 10_000)
@given(TEXTS)
def test_the_driver_reads_every_text_as_lark_does(text):
    assert_read_alike(text)


@pytest.mark.parametrize(
    "text",
    [
        "(a\n+ b)",
        "a +\n\n b",
        "\n\n a\n\n",
        "a\r\nb",
        "a;;b",
        "[1,\n2]",
        "f(\n)",
        "a # c\n# d\nb",
        "a\n)\nb",
        "a $",
    ],
)
def test_newlines_and_ignored_text_as_lark_reads_them(text):
    assert_read_alike(text)


def test_no_unit_reduction_is_left_after_a_goto():
    """The collapsed gotos end where the lookahead is shifted, reduced by a real rule, or an error."""
    for *_, gotos in TABLES.rules:
        for state, row in enumerate(gotos):
            for kind, target in enumerate(row or []):
                action = TABLES.actions[target][kind]
                if action is not None and action < 0:
                    assert TABLES.rules[~action][0] != PASS, (state, kind, target)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(enabled):
    (gc.enable if enabled else gc.disable)()
    try:
        parse("a = 1\nb = a * 2\nb")
        assert gc.isenabled() is enabled
        with pytest.raises(BackpropError):
            parse("a = (1")
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
