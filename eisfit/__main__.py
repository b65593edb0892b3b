"""``python -m eisfit``: the command-line interface of `eisfit.cli`."""

from .cli import entry

raise SystemExit(entry())
