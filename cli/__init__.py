"""The command line: Typer commands and Rich/JSON renderers (no math)."""
