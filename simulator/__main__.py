"""`python -m simulator`: see simulator.cli."""

from .cli import main

main()
