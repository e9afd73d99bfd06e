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
from pathlib import Path

HERE = Path(__file__).parent
GRAMMAR = HERE / "grammar.lark"
TABLES = HERE / "tables.json"

# How a reduce treats each symbol of a rule (Lark's tree-building conventions):
DROP, KEEP, SPLICE = 0, 1, 2  # filtered token; child kept; `_rule` whose children are spliced in


def build_tables(grammar_text: str) -> dict:
    """The lexer's terminals, the rules and the LALR(1) action/goto table, as plain JSON data."""
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
    encoded_rules = []
    for rule in rules:
        if rule.options.empty_indices:
            raise ValueError(
                f"rule {rule.origin.name}: [optional] parts are not supported; spell out both forms"
            )
        handling = [
            DROP
            if symbol.is_term and symbol.filter_out
            else SPLICE
            if not symbol.is_term and symbol.name.startswith("_")
            else KEEP
            for symbol in rule.expansion
        ]
        encoded_rules.append([rule.origin.name, handling, rule.alias, bool(rule.options.expand1)])

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
        actions = {}
        for symbol, (action, argument) in sorted(table.states[state].items()):
            actions[symbol] = [0, number[argument]] if action is Shift else [1, rule_index[id(argument)]]
        states.append(actions)

    return {
        "grammar_sha256": hashlib.sha256(grammar_text.encode("utf-8")).hexdigest(),
        "terminals": [[t.name, t.pattern.to_regexp()] for t in terminals],
        "ignore": sorted(lark.ignore_tokens),
        "rules": encoded_rules,
        "states": states,
        "start": number[start],
        "end": number[table.end_states["start"]],
    }


def render(tables: dict) -> str:
    return json.dumps(tables, indent=None, separators=(",", ":"), sort_keys=True) + "\n"


def main() -> None:
    TABLES.write_text(render(build_tables(GRAMMAR.read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {TABLES}")


if __name__ == "__main__":
    main()
