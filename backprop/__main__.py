"""`python -m backprop` runs the command line."""

from .cli.app import main

main()
