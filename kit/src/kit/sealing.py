"""Secrets at rest: AES-256-GCM sealing of the credentials a service stores for its tenants (provider API keys,
webhook secrets), with key ids so keys can be rotated (docs/architecture.md, "Secrets at rest").

    SEALING_KEYS="k2:<base64url 32 bytes>,k1:<base64url 32 bytes>"   # the first seals, all of them open

A sealed value is `sealed:v1:<key id>:<base64url(nonce 12 bytes | ciphertext | tag)>`. The caller passes a
`context` (e.g. "payments.accounts/<tenant id>/access_token") that is authenticated with the ciphertext, so a
sealed value copied to another row or column does not open. Rotation: put a new key first, let the service
re-seal what it holds (`needs_reseal`), then drop the old key.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class SealingError(Exception):
    """A sealed value that cannot be opened (unknown key id, tampered, another context), or bad key settings."""


def generate_key() -> str:
    """A new 256-bit key in the form SEALING_KEYS takes (base64url, no padding)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


class Sealer:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise SealingError("No sealing key is configured (SEALING_KEYS).")
        for key_id, key in keys:
            if not _KEY_ID.match(key_id):
                raise SealingError(f"Sealing key id {key_id!r} must be 1-32 letters, digits, '_', '-' or '.'.")
            if len(key) != 32:
                raise SealingError(f"Sealing key {key_id!r} must be 32 bytes (AES-256), not {len(key)}.")
        self.current = keys[0][0]
        self._keys = {key_id: AESGCM(key) for key_id, key in keys}

    @classmethod
    def from_setting(cls, value: str) -> Sealer:
        """`kid:base64url,kid:base64url`, the first being the one that seals."""
        keys: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            key_id, sep, encoded = part.partition(":")
            if not sep:
                raise SealingError("SEALING_KEYS entries are <key id>:<base64url key>.")
            try:
                keys.append((key_id, _b64decode(encoded)))
            except (binascii.Error, ValueError) as exc:
                raise SealingError(f"Sealing key {key_id!r} is not base64url.") from exc
        return cls(keys)

    def seal(self, plaintext: str, *, context: str) -> str:
        """Empty stays empty (nothing to hide, and "not set" stays visible as such)."""
        if not plaintext:
            return ""
        nonce = os.urandom(12)
        sealed = self._keys[self.current].encrypt(nonce, plaintext.encode(), self._aad(self.current, context))
        return f"{PREFIX}{self.current}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, value: str, *, context: str) -> str:
        """The plaintext of a sealed value. A value stored before sealing was introduced (not prefixed) is
        returned as it is, so a service can adopt sealing and re-seal its rows afterwards (`needs_reseal`)."""
        if not is_sealed(value):
            return value
        key_id, sep, encoded = value[len(PREFIX) :].partition(":")
        aead = self._keys.get(key_id)
        if not sep or aead is None:
            raise SealingError(f"Sealed with key {key_id!r}, which is not among SEALING_KEYS.")
        try:
            raw = _b64decode(encoded)
            return aead.decrypt(raw[:12], raw[12:], self._aad(key_id, context)).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SealingError("A sealed value does not open: tampered, or sealed for another context.") from exc

    @property
    def current_prefix(self) -> str:
        """What every value sealed with the current key starts with (to find the others in a query)."""
        return f"{PREFIX}{self.current}:"

    def needs_reseal(self, value: str) -> bool:
        """Stored in the clear, or sealed with a key other than the current one."""
        if not value:
            return False
        return not value.startswith(self.current_prefix)

    @staticmethod
    def _aad(key_id: str, context: str) -> bytes:
        return f"{PREFIX}{key_id}|{context}".encode()
