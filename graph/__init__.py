"""The computation graph: ops, the program tape, and the forward/backward engine (no lark, typer or rich)."""
