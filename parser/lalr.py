"""A small LALR(1) driver over the tables that parser/generate.py makes from grammar.lark.

One compiled pattern lexes the text as the parser reads it: each match is one token (the ignored
text before it skipped in the same match), its kind the number of the group that matched. The
parser shifts tokens and, on each reduce, calls the callback named by the rule's alias (or rule
name) with the rule's kept children — the same calling convention as a Lark transformer with inline
arguments, except that a token arrives as its (start, end) span in the text. Both are one loop:
nesting depth costs no Python stack.

A Shortcut may read a common symbol (build.py: a run of simple statements) with one regex match
where the symbol can start; the driver then goes to the state the symbol's reduce would, and the
tables go on from the token after it. Anything the shortcut does not read, the tables do.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

TABLES = Path(__file__).with_name("tables.json")

DROP, KEEP, SPLICE = 0, 1, 2  # as in generate.py
END, UNLEXABLE = "$END", "$UNLEXABLE"
CHECK_EVERY = 4096  # tokens between two calls of parse()'s `check`


class Token(NamedTuple):
    """A lexed terminal, made only to describe a syntax error: its type (terminal name), text and
    [start, end) offsets."""

    type: str
    text: str
    start: int
    end: int


class UnexpectedCharacter(Exception):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


class UnexpectedToken(Exception):
    def __init__(self, token: Token, expected: list[str]) -> None:
        super().__init__(token)
        self.token, self.expected = token, expected


class LineBreaks(NamedTuple):
    """When a newline token ends nothing and is skipped: inside brackets (`opens` … `closes`), after
    a token that `continues` the line, and after another newline or at the start (blank lines)."""

    newline: str
    continues: frozenset[str]
    opens: frozenset[str]
    closes: frozenset[str]


class Shortcut(NamedTuple):
    """A way to read a whole `symbol` at once: where one may start with a terminal in `first`,
    `read(offset)` returns its value and where its last token ends, or None to leave it to the
    tables. It must build what the tables would, in the same order (parser/shortcut.py)."""

    symbol: str
    first: tuple[str, ...]
    read: Callable[[int], tuple | None]


# How a rule's reduce builds its value, precomputed per rule:
PASS = 0  # the value is the one child's (only the state changes; generate.py collapses most of these)
CALL = 1  # every symbol kept: callback(*values)
EMPTY = 2  # a `_rule` of dropped tokens only: an empty list of children to splice
BUILD = 3  # some symbols dropped or spliced: collect the children first
INLINE = 4  # a `_rule`: its children are spliced into the parent


class Tables:
    """The loaded tables: the lexer's pattern, the action table, the collapsed gotos and reduce plans."""

    def __init__(self, data: dict) -> None:
        self.grammar_sha256 = data["grammar_sha256"]
        self.lexer = re.compile(data["lexer"])
        self.kinds: list[str] = data["kinds"]  # group number -> terminal name
        self.kind = {name: number for number, name in enumerate(self.kinds) if name}
        self.actions: list[list[int | None]] = data["actions"]  # shift: state; reduce: ~rule
        self.gotos: dict[str, list] = data["gotos"]  # nonterminal -> state -> lookahead -> state
        self.rules = [(*_plan(*rule), self.gotos[rule[0]]) for rule in data["rules"]]
        self.start, self.end = data["start"], data["end"]
        self._breaks: dict[LineBreaks, tuple] = {}

    @classmethod
    def load(cls, path: Path = TABLES) -> Tables:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def parse(
        self, text: str, callbacks: dict, breaks: LineBreaks, check=None, shortcut: Shortcut | None = None
    ):
        """Lex and parse text, calling callbacks on each reduce (and `check()` every CHECK_EVERY
        tokens and after each shortcut); return the start rule's value. Raises UnexpectedCharacter
        or UnexpectedToken."""
        collecting = gc.isenabled()
        gc.disable()  # a parse makes objects by the million, none in a cycle: a scan would free nothing
        try:
            return self._run(text, callbacks, breaks, check or _nothing, shortcut)
        finally:
            if collecting:
                gc.enable()

    def _run(self, text: str, callbacks: dict, breaks: LineBreaks, check, shortcut: Shortcut | None):
        actions, tokens = self.actions, self.lexer.finditer
        rules = [(mode, size, callbacks.get(name), how, gotos) for mode, size, name, how, gotos in self.rules]
        newline, watched, opens, continuing = self._breaks.get(breaks) or self._line_breaks(breaks)
        firsts, shortcut_gotos, read = self._shortcut(shortcut)
        states, values, state, depth, count = [self.start], [], self.start, 0, 0
        following = tokens(text).__next__  # a character no terminal matches is an $UNLEXABLE token
        while True:  # it ends: $END is never shifted, and at the end of the text it is accepted or refused
            match = following()
            kind = match.lastindex
            count += 1
            if count == CHECK_EVERY:
                count = 0
                check()
            if kind in watched:  # the post-lexer: which newlines end a statement
                if kind == newline:
                    if depth or state in continuing:
                        continue
                elif kind in opens:
                    depth += 1
                elif depth:
                    depth -= 1
            while True:
                action = actions[state][kind]
                if action is None:
                    return self._accept(text, state, match, values[-1:])
                if action >= 0:
                    if kind in firsts and shortcut_gotos[state] is not None and not depth:
                        done = read(match.start(kind))  # the whole statement at once, if a common one
                        if done is not None:  # goto as its rule's reduce would, on the token after it
                            check()
                            following = tokens(text, done[1]).__next__
                            match = following()
                            kind = match.lastindex
                            state = shortcut_gotos[state][kind]
                            states.append(state)
                            values.append(done[0])
                            continue
                    states.append(action)
                    values.append(match.span(kind))
                    state = action
                    break
                mode, size, callback, handling, gotos = rules[~action]
                if mode == CALL:
                    if size == 1:
                        values[-1] = callback(values[-1])
                    else:
                        popped = values[-size:]
                        del values[-size:]
                        values.append(callback(*popped))
                elif mode == EMPTY:
                    del values[-size:]
                    values.append([])
                elif mode != PASS:
                    children = _children(handling, values[-size:])
                    del values[-size:]
                    values.append(children if mode == INLINE else callback(*children))
                if size > 1:
                    del states[1 - size :]
                state = states[-1] = gotos[states[-2]][kind]

    def _shortcut(self, shortcut: Shortcut | None) -> tuple:
        """The terminals a shortcut's symbol starts with, its gotos, and its reader."""
        if shortcut is None:
            return frozenset(), None, None
        return (
            frozenset(self.kind[name] for name in shortcut.first),
            self.gotos[shortcut.symbol],
            shortcut.read,
        )

    def _line_breaks(self, breaks: LineBreaks) -> tuple:
        """The kinds the post-lexer watches, and the states in which a newline is skipped because
        the token just shifted continues the line (or is a newline, or there is none yet)."""
        kind = self.kind
        newline, opens = kind[breaks.newline], frozenset(kind[name] for name in breaks.opens)
        watched = opens | {kind[name] for name in breaks.closes} | {newline}
        continues = {kind[name] for name in breaks.continues} | {newline}
        entered: dict[int, int] = {}  # state -> the terminal shifted to enter it
        for row in self.actions:
            for symbol, action in enumerate(row):
                if action is not None and action >= 0 and entered.setdefault(action, symbol) != symbol:
                    raise ValueError(f"state {action} is entered by two terminals")
        continuing = frozenset(
            {self.start} | {state for state, symbol in entered.items() if symbol in continues}
        )
        self._breaks[breaks] = newline, watched, opens, continuing
        return self._breaks[breaks]

    def _accept(self, text: str, state: int, match: re.Match, last: list):
        """The start rule's value (the last value) at the end of the text in the end state; else
        raise the failure of a token the state has no action for."""
        if state == self.end and match.lastindex == self.kind[END]:
            return last[0]
        raise self._failure(text, state, match)

    def _failure(self, text: str, state: int, match: re.Match) -> Exception:
        """The exception for a token the state has no action for."""
        kind = match.lastindex
        start, end = match.span(kind)
        if self.kinds[kind] == UNLEXABLE:
            return UnexpectedCharacter(start)
        expected = sorted(self.kinds[k] for k, action in enumerate(self.actions[state]) if action is not None)
        return UnexpectedToken(Token(self.kinds[kind], text[start:end], start, end), expected)


def _nothing() -> None:
    """The `check` of a parse not given one."""


def _plan(origin: str, handling: list[int], alias: str | None, expand1: bool):
    """(mode, size, callback name, handling) for one rule."""
    name = alias or origin
    kept = [how for how in handling if how != DROP]
    if not handling:
        raise ValueError(f"rule {origin}: empty rules are not supported")
    if origin.startswith("_") and alias is None:
        mode = PASS if handling == [SPLICE] else EMPTY if not kept else INLINE
    elif alias is None and expand1 and handling == [KEEP]:
        mode = PASS
    elif all(how == KEEP for how in handling):
        mode = CALL
    else:
        mode = BUILD
    if alias is None and expand1 and mode == BUILD and len(kept) == 1 and kept != [KEEP]:
        raise ValueError(f"rule {origin}: a `?rule` whose only child is spliced is not supported")
    return mode, len(handling), name, handling


def _children(handling: list[int], popped: list) -> list:
    """The kept children of a reduce. A leading spliced list is extended in place, not copied, so
    left-recursive repetitions (`a*`) stay linear."""
    children = None
    for how, value in zip(handling, popped):
        if how == KEEP:
            if children is None:
                children = []
            children.append(value)
        elif how == SPLICE:
            if children is None:
                children = value
            else:
                children.extend(value)
    return [] if children is None else children
