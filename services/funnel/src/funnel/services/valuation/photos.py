"""The prospect's photos: through the signed link, or as WhatsApp images (docs/quotes.md, "Photos on WhatsApp")."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx

from contracts import Event, EventMeta
from contracts.notifications import MessageReceivedV1
from contracts.quotes import ValuationPhotoReceivedV1, ValuationPhotosCompletedV1
from funnel.clock import Clock
from funnel.domain import Conflict, InvalidFunnel
from funnel.domain import valuation as rules
from funnel.domain.valuation import LinkInvalid
from funnel.repository.valuation import Row
from funnel.services.valuation.common import PHOTOS_LINK, Env, _base, _columns, _load
from funnel.services.valuation.doctors import _assign
from funnel.services.work import FunnelWork, FunnelWorkFactory
from kit import context
from kit.objects import ObjectStore

log = logging.getLogger(__name__)


# --- photos ----------------------------------------------------------------------------------------
async def photo_page(env: Env, token: str) -> tuple[Row, list[Row]]:
    link = env.links.verify(token, PHOTOS_LINK)
    async with env.uow() as work:
        repo = work.valuation
        row = await repo.get(link.tenant_id, link.subject)
        if row is None:
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        return row, await repo.photos(row.id)


async def upload_photo(env: Env, token: str, slot: str, data: bytes) -> tuple[Row, list[Row]]:
    """A photo through the patient link: stored in the object store first, then counted (docs/quotes.md)."""
    link = env.links.verify(token, PHOTOS_LINK)
    slot = rules.check_slot(slot)
    kind = rules.check_photo(data)
    async with env.uow() as work:  # refuse before storing anything when the process no longer takes photos
        row = await work.valuation.get(link.tenant_id, link.subject)
        if row is None:
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        if row.state != rules.COLLECTING:
            raise Conflict("Thank you, we already have all your photos.", field="slot")
    key = f"funnel/{link.tenant_id}/valuations/{link.subject}/{slot}-{context.new_id()}"
    stored = await env.store.put(key, data, content_type=kind)
    await add_photo(env.uow, env.clock, link.tenant_id, link.subject, slot=slot, stored=stored, source="upload")
    return await photo_page(env, token)


async def add_photo(
    uow: FunnelWorkFactory, clock: Clock, tenant_id: str, valuation_id: str, *, slot: str, stored: Any,
    source: str, message_id: str | None = None,
) -> None:  # fmt: skip
    async with uow() as work:
        await _add_photo(work, clock(), tenant_id, valuation_id, slot, stored, source, message_id)
        await work.commit()


async def _add_photo(
    work: FunnelWork, now: datetime, tenant_id: str, valuation_id: str, slot: str, stored: Any, source: str,
    message_id: str | None,
) -> None:  # fmt: skip
    repo = work.valuation
    row, p = await _load(repo, tenant_id, valuation_id)
    p, said = rules.step(p, rules.PhotoAdded(slot, now))
    if not said:
        return
    await repo.put_photo(
        valuation_id=row.id, slot=slot, tenant_id=tenant_id, object_key=stored.key, content_type=stored.content_type,
        size=stored.size, sha256=stored.sha256 or "", source=source, message_id=message_id, received_at=now,
    )  # fmt: skip
    await repo.set(row.id, **_columns(p), updated_at=now)
    by = "prospect" if source == "upload" else f"prospect ({source})"
    await repo.log(tenant_id, row.id, now, "photo", by, f"{slot} photo ({len(p.photos)}/{rules.PHOTOS_REQUIRED})")
    work.publish(
        ValuationPhotoReceivedV1(
            **_base(row), slot=slot, source=source, photos_received=len(p.photos),
            photos_required=rules.PHOTOS_REQUIRED, received_at=now,
        ),
        tenant_id=tenant_id,
    )  # fmt: skip
    if rules.COMPLETED in said:
        await repo.log(tenant_id, row.id, now, "complete", "funnel", "all photos in; diagnostic doctors told")
        work.publish(
            ValuationPhotosCompletedV1(**_base(row), photos_received=len(p.photos), completed_at=now),
            tenant_id=tenant_id,
        )
        await _assign(work, repo, await repo.get(tenant_id, row.id, lock=True), p, now)


# --- WhatsApp images ---------------------------------------------------------------------------
#: notifications' copy of a medium, through the presigned URL in message.received.
_DOWNLOAD = httpx.Timeout(20.0, connect=5.0)


async def fetch_medium(url: str) -> bytes | None:
    """The bytes behind the event's URL; None when it is gone (expired link, removed object). A network error
    or a 5xx raises, so the consumer retries the event."""
    async with httpx.AsyncClient(timeout=_DOWNLOAD) as client, client.stream("GET", url) as got:
        if got.status_code in (400, 403, 404, 410):
            log.warning("a WhatsApp image is no longer there (%s)", got.status_code)
            return None
        got.raise_for_status()
        data = bytearray()
        async for chunk in got.aiter_bytes():
            data += chunk
            if len(data) > rules.MAX_PHOTO_BYTES:
                break  # check_photo says it is too big
        return bytes(data)


async def handle_message(
    uow: FunnelWork, event: Event, meta: EventMeta, *, clock: Clock, store: ObjectStore,
    fetch: Any = fetch_medium,
) -> None:  # fmt: skip
    """A photo sent on WhatsApp by a prospect whose valuation waits for photos fills the first missing slot
    (docs/quotes.md); once per message, and nothing for a message with no image or a prospect with no such process."""
    assert isinstance(event, MessageReceivedV1)
    image = next((m for m in event.media if m.kind == "image" and m.url), None)
    if image is None or image.url is None:
        return
    repo = uow.valuation
    phones = [event.sender] if event.channel in ("whatsapp", "sms") else []
    row = await repo.collecting_for(meta.tenant_id, lead_id=event.lead_id, phones=phones)
    if row is None or await repo.photo_of_message(meta.tenant_id, event.message_id) is not None:
        return
    slot = rules.next_slot(p.slot for p in await repo.photos(row.id))
    data = await fetch(image.url) if slot is not None else None
    if slot is None or data is None:
        return
    try:
        kind = rules.check_photo(data)
    except InvalidFunnel as exc:
        log.info("message %s: not a photo for the valuation (%s)", event.message_id, exc)
        return
    key = f"funnel/{meta.tenant_id}/valuations/{row.id}/{slot}-{context.new_id()}"
    stored = await store.put(key, data, content_type=kind)
    await _add_photo(uow, clock(), meta.tenant_id, row.id, slot, stored, "whatsapp", event.message_id)
