"""`python -m sandbox`: the same as `coopbot sandbox`."""

from sandbox.cli import main

raise SystemExit(main())
