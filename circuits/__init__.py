"""Named equivalent-circuit models of Na | solid electrolyte | Na cells, as data.

This folder is installed as the package ``eisfit.models`` (see ``pyproject.toml``); each
``*.toml`` file holds one model (name, circuit, roles of its elements, bounds, description,
reference) and is loaded by `eisfit.physics.models.load_models` through importlib.resources.
"""
