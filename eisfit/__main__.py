"""``python -m eisfit``: the command-line interface of `eisfit.cli.main`."""

from .cli.main import entry

raise SystemExit(entry())
