"""Build time: compile grammar.lark with Lark's LALR(1) analysis into tables.json.

At run time parser/lalr.py drives these tables without importing Lark (importing Lark and
compiling the grammar costs ~100 ms per process; loading the tables ~1 ms).
Regenerate after editing the grammar:

    python -m backprop.parser.generate

tests/test_parser.py fails when tables.json is out of date with grammar.lark.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).parent
GRAMMAR = HERE / "grammar.lark"
TABLES = HERE / "tables.json"

# How a reduce treats each symbol of a rule (Lark's tree-building conventions):
DROP, KEEP, SPLICE = 0, 1, 2  # filtered token; child kept; `_rule` whose children are spliced in
END, UNLEXABLE = "$END", "$UNLEXABLE"  # the end of the text; a character no terminal matches


def build_tables(grammar_text: str) -> dict:
    """The lexer's pattern, the rules and the LALR(1) action/goto tables, as plain JSON data."""
    from lark import Lark
    from lark.parsers.lalr_analysis import Shift

    lark = Lark(grammar_text, parser="lalr", lexer="basic")
    table = lark.parser.parser.parser.parse_table
    rules = list(lark.rules)
    rule_index = {id(rule): i for i, rule in enumerate(rules)}
    # Lark's basic lexer tries terminals in this order; Python's regex alternation keeps it.
    terminals = sorted(
        lark.terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)
    )
    lexer, kinds = _lexer([(t.name, t.pattern.to_regexp()) for t in terminals], set(lark.ignore_tokens))
    encoded_rules = [_encode_rule(rule) for rule in rules]

    # Lark numbers states in an order that depends on hash seeds; renumber them breadth-first
    # from the start state, symbols in sorted order, so the same grammar gives the same file.
    start = table.start_states["start"]
    number = {start: 0}
    order = [start]
    for state in order:
        for symbol in sorted(table.states[state]):
            action, argument = table.states[state][symbol]
            if action is Shift and argument not in number:
                number[argument] = len(order)
                order.append(argument)
    states = []
    for state in order:
        entries = {}
        for symbol, (action, argument) in sorted(table.states[state].items()):
            entries[symbol] = number[argument] if action is Shift else ~rule_index[id(argument)]
        states.append(entries)

    actions = [[entries.get(kind) for kind in kinds] for entries in states]
    return {
        "grammar_sha256": hashlib.sha256(grammar_text.encode("utf-8")).hexdigest(),
        "lexer": lexer,
        "kinds": kinds,
        "rules": encoded_rules,
        "actions": actions,
        "gotos": _collapsed_gotos(states, actions, encoded_rules, kinds),
        "start": number[start],
        "end": number[table.end_states["start"]],
    }


def _encode_rule(rule) -> list:
    """[origin, how each symbol is handled, alias, is a `?rule`] for one rule."""
    if rule.options.empty_indices:
        raise ValueError(f"rule {rule.origin.name}: [optional] parts are not supported; spell out both forms")
    handling = [
        DROP
        if symbol.is_term and symbol.filter_out
        else SPLICE
        if not symbol.is_term and symbol.name.startswith("_")
        else KEEP
        for symbol in rule.expansion
    ]
    return [rule.origin.name, handling, rule.alias, bool(rule.options.expand1)]


def _lexer(terminals: list[tuple[str, str]], ignored: set[str]) -> tuple[str, list[str]]:
    """One pattern that matches the ignored text before a token and then the token in a group of
    its own, and the terminal named by each group number (the kinds the action table is indexed by).

    Every match is one token: the text ends in an empty $END match and a character no terminal
    matches is an $UNLEXABLE one, so the parser sees that character only when it reaches it."""
    skipped = [pattern for name, pattern in terminals if name in ignored]
    kept = [(name, pattern) for name, pattern in terminals if name not in ignored]
    _check_ignored_first(terminals, ignored)
    kinds = [""]  # group 0 is the whole match
    groups = []
    for name, pattern in [*kept, (END, r"\Z"), (UNLEXABLE, r"[\s\S]")]:
        compiled = re.compile(pattern)
        if name != END and compiled.fullmatch(""):
            raise ValueError(f"terminal {name} matches the empty text")
        groups.append(f"({pattern})")
        kinds += [name] + [""] * compiled.groups  # a terminal's own groups are numbered after it
    return f"(?:{'|'.join(skipped)})*(?:{'|'.join(groups)})", kinds


def _check_ignored_first(terminals: list[tuple[str, str]], ignored: set[str]) -> None:
    """Skipping ignored text before each token is Lark's lexing only if no kept terminal that Lark
    tries before an ignored one can start where it does; refuse a grammar where one could."""
    texts = [chr(code) + tail for code in range(1, 128) for tail in ("", "x", "0", "\n", "*", "T")]
    for rank, (name, pattern) in enumerate(terminals):
        if name not in ignored:
            continue
        starts = [text for text in texts if re.match(pattern, text)]
        for other, earlier in terminals[:rank]:
            if other not in ignored and any(re.match(earlier, text) for text in starts):
                raise ValueError(f"terminal {other} can start where the ignored {name} does")


def _collapsed_gotos(states: list[dict], actions: list[list], rules: list[list], kinds: list[str]) -> dict:
    """For each nonterminal, state and lookahead: the state after the goto and every unit reduction
    that follows it. A `?rule` over one child (or a `_rule` splicing one) passes the child's value
    up unchanged, so its reduce is only a goto; following the chain here leaves the parser 2.0
    steps a token on bench/programs.py's DAG instead of 3.6. The chain stops at the first state that does anything else with the
    lookahead (or has no action for it, so a syntax error is found in the same state as before)."""
    passes = {i for i, rule in enumerate(rules) if _passes_value(*rule)}
    nonterminals = sorted({rule[0] for rule in rules})
    gotos = {}
    for symbol in nonterminals:
        rows = []
        for entries in states:
            target = entries.get(symbol)
            if target is None:
                rows.append(None)
                continue
            row = []
            for kind in range(len(kinds)):
                state = target
                while (action := actions[state][kind]) is not None and action < 0 and ~action in passes:
                    state = entries[rules[~action][0]]
                row.append(state)
            rows.append(row)
        gotos[symbol] = rows
    return gotos


def _passes_value(origin: str, handling: list[int], alias: str | None, expand1: bool) -> bool:
    """True for a rule whose reduce keeps its one child's value as its own."""
    return alias is None and (
        (expand1 and handling == [KEEP]) or (origin.startswith("_") and handling == [SPLICE])
    )


def render(tables: dict) -> str:
    return json.dumps(tables, indent=None, separators=(",", ":"), sort_keys=True) + "\n"


def main() -> None:
    TABLES.write_text(render(build_tables(GRAMMAR.read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {TABLES}")


if __name__ == "__main__":
    main()
