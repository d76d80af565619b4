"""`python -m demo` (what `make demo` runs); see demo/runner.py."""

from demo.runner import main

raise SystemExit(main())
