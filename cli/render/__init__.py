"""One module per kind of output: text (messages and the caret), json (every JSON document), tables (Rich), lecture (trace lines, paths), drawing (DOT, Mermaid, tree)."""
