"""Errors of the physics layer (cell geometry, role overrides, named models)."""

from __future__ import annotations

from ..errors import EisfitError

__all__ = ["ModelFileError", "PhysicsError"]


class PhysicsError(EisfitError, ValueError):
    """Input the physics layer cannot interpret: bad geometry, unknown role, bad override."""


class ModelFileError(PhysicsError):
    """A named-model file that cannot be loaded; names the file."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.reason = message
        super().__init__(f"{source}: {message}")
