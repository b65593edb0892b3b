"""Named equivalent-circuit models, kept as data in TOML files.

The packaged models live in the top-level ``circuits/`` folder of the source tree, installed
as the package ``eisfit.models`` and read through ``importlib.resources``; a user folder of
``*.toml`` files adds models or replaces packaged ones of the same name.  File format::

    name = "gb-soli"                               # unique, used by get_model / --model
    circuit = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"        # impedance.py notation
    description = "..."
    reference = "..."
    [roles]                                        # element name -> role (see roles.ROLES)
    L0 = "inductance"
    R0 = "bulk"
    R1 = "grain_boundary"
    R2 = "soli"
    [bounds]                                       # optional: parameter -> [lower, upper]
    "CPE1.n" = [0.5, 1.0]

Every file is validated when loaded (the circuit parses, every role names an element of the
circuit and suits it, every bound names a parameter and has lower < upper); a bad file
raises `ModelFileError` naming it.  Nothing is evaluated: TOML is data (``tomllib``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import CircuitError, ModelFileError, PhysicsError
from ..notation.model import compile_circuit
from ..notation.parts import split_circuit
from .drafts import check_overrides

__all__ = ["NamedModel", "get_model", "load_models", "parse_model"]

_KEYS = {"name", "circuit", "roles", "bounds", "description", "reference"}
_REQUIRED = ("name", "circuit", "roles", "description", "reference")


@dataclass(frozen=True)
class NamedModel:
    """A named circuit with the roles of its elements and sensible parameter bounds."""

    name: str
    circuit: str
    roles: Mapping[str, str]
    bounds: Mapping[str, tuple[float, float]]
    description: str
    reference: str
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", MappingProxyType(dict(self.roles)))
        object.__setattr__(self, "bounds", MappingProxyType(dict(self.bounds)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "circuit": self.circuit,
            "roles": dict(self.roles),
            "bounds": {k: list(v) for k, v in self.bounds.items()},
            "description": self.description,
            "reference": self.reference,
            "source": self.source,
        }


def _text(data: Mapping[str, Any], key: str, source: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ModelFileError(source, f"{key!r} must be a non-empty string")
    return " ".join(value.split())


def _bounds(raw: Any, circuit: Any, source: str) -> dict[str, tuple[float, float]]:
    if not isinstance(raw, Mapping):
        raise ModelFileError(source, "'bounds' must be a table of parameter = [lower, upper]")
    out: dict[str, tuple[float, float]] = {}
    for key, pair in raw.items():
        try:
            name = circuit.canonical_name(key)
        except CircuitError as exc:
            raise ModelFileError(source, f"bounds: {exc}") from None
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        ):
            raise ModelFileError(source, f"bounds for {key!r} must be [lower, upper] numbers")
        lo, hi = float(pair[0]), float(pair[1])
        if math.isnan(lo) or math.isnan(hi) or not lo < hi:
            raise ModelFileError(source, f"bounds for {key!r}: need lower < upper, got {pair}")
        out[name] = (lo, hi)
    return out


def parse_model(text: str, source: str = "<string>") -> NamedModel:
    """Validate one model file's TOML text (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelFileError(source, f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nested array or table
        raise ModelFileError(source, "not valid TOML: nested too deeply") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ModelFileError(source, f"unknown keys {', '.join(unknown)}; allowed: {sorted(_KEYS)}")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ModelFileError(source, f"missing {', '.join(missing)}")
    try:
        circuit = compile_circuit(_text(data, "circuit", source))
    except CircuitError as exc:
        raise ModelFileError(source, f"bad circuit: {exc}") from None
    roles = data["roles"]
    if not isinstance(roles, Mapping) or not all(isinstance(v, str) for v in roles.values()):
        raise ModelFileError(source, "'roles' must be a table of element = \"role\"")
    try:
        check_overrides(roles, split_circuit(circuit, np.ones(len(circuit))))
    except PhysicsError as exc:
        raise ModelFileError(source, str(exc)) from None
    return NamedModel(
        name=_text(data, "name", source),
        circuit=circuit.text,
        roles=dict(roles),
        bounds=_bounds(data.get("bounds", {}), circuit, source),
        description=_text(data, "description", source),
        reference=_text(data, "reference", source),
        source=source,
    )


def _collect(files: Iterable[tuple[str, str]]) -> dict[str, NamedModel]:
    models: dict[str, NamedModel] = {}
    for source, text in files:
        model = parse_model(text, source)
        if model.name in models:
            raise ModelFileError(
                source, f"model name {model.name!r} is also used by {models[model.name].source}"
            )
        models[model.name] = model
    return models


@lru_cache(maxsize=1)
def _packaged() -> Mapping[str, NamedModel]:
    root = resources.files("eisfit.models")
    entries = sorted((e for e in root.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name)
    files = [(f"eisfit.models/{e.name}", e.read_text(encoding="utf-8")) for e in entries]
    return MappingProxyType(_collect(files))


def load_models(folder: str | Path | None = None) -> dict[str, NamedModel]:
    """Packaged models, plus (replacing same-named ones) the ``*.toml`` files in ``folder``."""
    models = dict(_packaged())
    if folder is None:
        return models
    path = Path(folder)
    if not path.is_dir():
        raise PhysicsError(f"model folder {str(path)!r} does not exist or is not a folder")
    files = []
    for file in sorted(path.glob("*.toml")):
        try:
            files.append((str(file), file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelFileError(str(file), f"cannot read: {exc}") from None
    models.update(_collect(files))
    return models


def get_model(name: str, folder: str | Path | None = None) -> NamedModel:
    """The model called ``name`` (packaged or from ``folder``); unknown names raise."""
    models = load_models(folder)
    try:
        return models[name]
    except KeyError:
        raise PhysicsError(
            f"unknown model {name!r}; available: {', '.join(sorted(models))}"
        ) from None
