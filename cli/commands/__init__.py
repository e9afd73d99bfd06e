"""One module per command: each defines `command` (the Typer function) and `SETTINGS` (its app.command keywords); cli/app.py lists them."""
