"""``python -m eisfit``: the command-line interface of `eisfit.cli`."""

from .cli import main

raise SystemExit(main())
