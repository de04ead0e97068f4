"""The key store of crypto-shredding (kit.personal): per-person keys made, opened and wrapped at rest."""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass

from kit import context
from kit.sealing import Sealer
from privacy.domain import (
    clean_id,
    clean_key_ids,
    clean_person_keys,
)
from privacy.services.common import PrivacyWorkFactory, now

log = logging.getLogger(__name__)


# --- the key store (crypto-shredding) ---------------------------------------------------------------------
@dataclass(frozen=True)
class KeyVault:
    """Wraps the per-person data keys at rest with the installation's sealing keys (kit.sealing): a copy of the
    database alone opens no event."""

    sealer: Sealer

    def wrap(self, tenant_id: str, key_id: str, key: bytes) -> str:
        return self.sealer.seal(base64.urlsafe_b64encode(key).decode(), context=self._context(tenant_id, key_id))

    def unwrap(self, tenant_id: str, key_id: str, wrapped: str) -> bytes:
        return base64.urlsafe_b64decode(self.sealer.open(wrapped, context=self._context(tenant_id, key_id)))

    @staticmethod
    def _context(tenant_id: str, key_id: str) -> str:
        return f"privacy.person_keys/{tenant_id}/{key_id}"


async def ensure_keys(
    uow: PrivacyWorkFactory, vault: KeyVault, tenant_id: str, person_keys: list[str]
) -> dict[str, tuple[str, bytes]]:
    """Each person's live key, made on first use (and anew for a person erased before)."""
    tenant_id = clean_id(tenant_id, field="tenant_id")
    wanted = clean_person_keys(person_keys)
    async with uow() as work:
        live = await work.keys.live(tenant_id, wanted)
        missing = [k for k in wanted if k not in live]
        if missing:
            rows = []
            for person in missing:
                key_id = context.new_id()
                rows.append(
                    {
                        "key_id": key_id,
                        "tenant_id": tenant_id,
                        "person_key": person,
                        "wrapped_key": vault.wrap(tenant_id, key_id, os.urandom(32)),
                        "created_at": now(),
                    }
                )
            await work.keys.add(rows)
            live = await work.keys.live(tenant_id, wanted)
        await work.commit()
    return {person: (key_id, vault.unwrap(tenant_id, key_id, wrapped)) for person, (key_id, wrapped) in live.items()}


async def unwrap_keys(
    uow: PrivacyWorkFactory, vault: KeyVault, tenant_id: str, key_ids: list[str]
) -> dict[str, bytes | None]:
    """The keys by id; None for a shredded one, or one this clinic never had."""
    tenant_id = clean_id(tenant_id, field="tenant_id")
    wanted = clean_key_ids(key_ids)
    async with uow() as work:
        found = await work.keys.by_ids(tenant_id, wanted)
    return {
        key_id: (vault.unwrap(tenant_id, key_id, wrapped) if (wrapped := found.get(key_id)) else None)
        for key_id in wanted
    }
