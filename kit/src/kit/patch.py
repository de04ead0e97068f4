"""PATCH bodies that tell an absent field from an explicit null (docs/architecture.md, "PATCH bodies").

class LeadPatch(Patch):
    name: str | UnsetType = UNSET           # absent: unchanged; a value: set it
    email: str | UnsetType | None = UNSET   # null: clear it

changes = body.changes()   # {"email": None} for `{"email": null}`; {} for `{}`
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "Patch", "UnsetType"]


class Patch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of PATCH bodies: every field defaults to UNSET; unknown fields are a 400 naming them."""

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, null included."""
        return {name: value for name in self.__struct_fields__ if (value := getattr(self, name)) is not UNSET}

    def is_empty(self) -> bool:
        return not self.changes()
