"""A small LALR(1) driver over the tables that parser/generate.py makes from grammar.lark.

The lexer tries the grammar's terminals in Lark's order at each position; the parser shifts
tokens and, on each reduce, calls the callback named by the rule's alias (or rule name) with the
rule's kept children — the same calling convention as a Lark transformer with inline arguments.
Both are loops: nesting depth costs no Python stack.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

TABLES = Path(__file__).with_name("tables.json")

SHIFT = 0
DROP, KEEP, SPLICE = 0, 1, 2  # as in generate.py
END = "$END"


class Token:
    """A lexed terminal: its type (terminal name), text and [start, end) offsets."""

    __slots__ = ("type", "text", "start", "end")

    def __init__(self, type: str, text: str, start: int, end: int) -> None:
        self.type, self.text, self.start, self.end = type, text, start, end

    def __repr__(self) -> str:
        return f"Token({self.type}, {self.text!r}, {self.start})"


class UnexpectedCharacter(Exception):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


class UnexpectedToken(Exception):
    def __init__(self, token: Token, expected: list[str]) -> None:
        super().__init__(token)
        self.token, self.expected = token, expected


# How a rule's reduce builds its value, precomputed per rule:
PASS = 0  # `?rule` over one kept child: the value is that child (only the state changes)
CALL = 1  # every symbol kept: callback(*values)
BUILD = 2  # some symbols dropped or spliced: collect the children first
INLINE = 3  # a `_rule`: its children are spliced into the parent


class Tables:
    """The loaded tables: a compiled lexer, the action table, the goto table and reduce plans."""

    def __init__(self, data: dict) -> None:
        self.grammar_sha256 = data["grammar_sha256"]
        self.lexer = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in data["terminals"]))
        self.ignore = frozenset(data["ignore"])
        self.plans = [_plan(*rule) for rule in data["rules"]]
        self.actions = [
            {s: tuple(a) for s, a in state.items() if _is_terminal(s)} for state in data["states"]
        ]
        self.gotos = [{s: a[1] for s, a in state.items() if not _is_terminal(s)} for state in data["states"]]
        self.start, self.end = data["start"], data["end"]

    @classmethod
    def load(cls, path: Path = TABLES) -> Tables:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def tokens(self, text: str):
        """Yield the tokens of text, skipping the ignored terminals (whitespace, comments)."""
        match_at, ignore = self.lexer.match, self.ignore
        position, length = 0, len(text)
        while position < length:
            match = match_at(text, position)
            if match is None or match.end() == position:
                raise UnexpectedCharacter(position)
            kind = match.lastgroup
            if kind not in ignore:
                yield Token(kind, match.group(), position, match.end())
            position = match.end()
        yield Token(END, "", position, position)

    def parse(self, tokens, callbacks: dict):
        """Run the LALR(1) automaton over tokens (ending with $END); return the start rule's value."""
        actions, gotos, plans, end = self.actions, self.gotos, self.plans, self.end
        states = [self.start]
        values: list = []
        for token in tokens:
            kind = token.type
            while True:
                action = actions[states[-1]].get(kind)
                if action is None:
                    expected = sorted(actions[states[-1]])
                    raise UnexpectedToken(token, expected)
                if action[0] == SHIFT:
                    states.append(action[1])
                    values.append(token)
                    break
                origin, size, mode, name, handling = plans[action[1]]
                if mode == PASS:
                    states.pop()
                else:
                    popped = values[-size:]
                    del values[-size:], states[-size:]
                    if mode == CALL:
                        values.append(callbacks[name](*popped))
                    else:
                        children = _children(handling, popped)
                        values.append(children if mode == INLINE else callbacks[name](*children))
                states.append(gotos[states[-1]][origin])
                if kind == END and states[-1] == end:
                    return values[-1]
        raise UnexpectedToken(Token(END, "", 0, 0), [])


def _is_terminal(symbol: str) -> bool:
    return symbol.isupper() or symbol == END


def _plan(origin: str, handling: list[int], alias: str | None, expand1: bool):
    """(origin, size, mode, callback name, handling) for one rule."""
    name = alias or origin
    kept = [how for how in handling if how != DROP]
    if origin.startswith("_") and alias is None:
        mode = INLINE
    elif alias is None and expand1 and handling == [KEEP]:
        mode = PASS
    elif all(how == KEEP for how in handling):
        mode = CALL
    else:
        mode = BUILD
    if alias is None and expand1 and mode == BUILD and len(kept) == 1 and kept != [KEEP]:
        raise ValueError(f"rule {origin}: a `?rule` whose only child is spliced is not supported")
    return origin, len(handling), mode, name, handling


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
