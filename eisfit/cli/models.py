"""``eisfit models``: list the named circuit models (packaged and from ``--models-dir``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..physics.models import load_models
from .tables import models_table

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    """Add the ``models`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
        "models", help="list the named models", description="List the named circuit models."
    )
    parser.add_argument("--models-dir", metavar="DIR", help="a folder of extra *.toml")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace) -> tuple[str, int]:
    models = load_models(args.models_dir)
    if args.json:
        items = [model.to_dict() for model in models.values()]
        return json.dumps(items, indent=2, allow_nan=False), 0
    return models_table(models.values()), 0
