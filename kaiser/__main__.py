"""`python -m kaiser`."""

from .cli import main

main()
