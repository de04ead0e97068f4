"""WhatsApp media fetched by the worker, not in the webhook (docs/notifications.md, "Media"), on a real migrated
PostgreSQL, object store and the sandbox's Graph API: the webhook's transaction stores the message and publishes
nothing for it; the worker step fetches each medium into the object store and publishes message.received with a
presigned URL to it; a provider that cannot be reached is tried again later; a medium the provider refuses leaves
the message without it (never lost); a message without media is published at once."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.objects import ObjectStore
from kit.outbox import outbox_table
from notifications import services
from notifications.channels import WhatsAppMedia
from notifications.domain import WHATSAPP
from notifications.inbound import Inbound, InboundMedia
from notifications.models import inbound_messages
from notifications.services.work import NotificationsUnitOfWork, NotificationsWorkFactory
from sandbox.app import create_app

TOKEN = "sandbox-token"
JPEG = base64.b64decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP//////////////////////////////////////////////////2Q==")
ACCOUNT = "100000000000777"
RECEIVED = "clinicflow.notifications.message.received.v1"


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def graph(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[tuple[WhatsAppMedia, dict]]:  # type: ignore[type-arg]
    monkeypatch.setenv("SANDBOX_WHATSAPP_TOKEN", TOKEN)
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield (
            WhatsAppMedia(base_url="http://sandbox", api_version="v21.0", token=TOKEN, client=client),
            app.state.mailbox.media,
        )


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[ObjectStore]:
    objects = ObjectStore(
        endpoint_url=infra.objects_url, bucket=f"media-{new_id()[:8]}", access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key, create_bucket=True,
    )  # fmt: skip
    await objects.open()
    yield objects
    await objects.close()


@pytest.fixture
async def uow(infra: Infra) -> AsyncIterator[NotificationsWorkFactory]:
    url = await asyncio.to_thread(fresh_database, infra, "notifications")
    engine = make_engine(url, pool_size=2)
    yield uow_factory(engine, "notifications", NotificationsUnitOfWork)
    await engine.dispose()


def photo_message(media_id: str, sender: str = "+5511987650001") -> Inbound:
    return Inbound(
        channel=WHATSAPP, provider="whatsapp_cloud", account_id=ACCOUNT, sender=sender, sender_name="Paula",
        provider_message_id=f"wamid.{new_id()}", text="minha foto", button_id=None, reply_to=None,
        received_at=datetime.now(UTC),
        media=(InboundMedia(kind="image", provider_media_id=media_id, content_type="image/jpeg", caption="minha foto"),
               ),
    )  # fmt: skip


async def received(uow: NotificationsWorkFactory) -> list[dict]:  # type: ignore[type-arg]
    async with uow() as u:
        rows = (
            (
                await u.session.execute(  # type: ignore[attr-defined]
                    select(outbox_table.c.payload)
                    .where(outbox_table.c.event_type == RECEIVED)
                    .order_by(outbox_table.c.id)
                )
            )
            .scalars()
            .all()
        )
    return [json.loads(r) for r in rows]


async def pending(uow: NotificationsWorkFactory) -> dict[str, tuple[int, bool]]:
    async with uow() as u:
        rows = (await u.session.execute(select(inbound_messages))).all()  # type: ignore[attr-defined]
    return {r.text: (r.media_attempts, r.pending_event is not None) for r in rows}


async def test_the_worker_fetches_the_media_then_message_received_carries_them(
    uow: NotificationsWorkFactory, graph: tuple[WhatsAppMedia, dict], store: ObjectStore,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    source, sandbox_media = graph
    tenant = new_id()
    async with uow() as u:
        await u.accounts.upsert(WHATSAPP, ACCOUNT, tenant, datetime.now(UTC))
        await u.commit()
    sandbox_media["4000001"] = (JPEG, "image/jpeg")

    # The webhook's transaction: the photo is stored, nothing published yet; a text is published at once.
    text_only = Inbound(
        channel=WHATSAPP, provider="whatsapp_cloud", account_id=ACCOUNT, sender="+5511987650002", sender_name="Rui",
        provider_message_id=f"wamid.{new_id()}", text="oi", button_id=None, reply_to=None,
        received_at=datetime.now(UTC),
    )  # fmt: skip
    assert await services.receive(uow, [photo_message("4000001"), text_only]) == 2
    assert [e["text"] for e in await received(uow)] == ["oi"]
    assert (await pending(uow))["minha foto"] == (0, True)

    # The provider cannot be reached: the message waits and is tried again later, still unpublished.
    down = WhatsAppMedia(base_url="http://127.0.0.1:9", api_version="v21.0", token=TOKEN)
    try:
        assert await services.fetch_media_due(uow, down, store) == 1
    finally:
        await down.close()
    assert (await pending(uow))["minha foto"] == (1, True)
    assert await services.fetch_media_due(uow, source, store) == 0  # not due yet (backoff)

    later = datetime.now(UTC) + timedelta(seconds=5)
    monkeypatch.setattr(services.common, "clock", lambda: later)
    assert await services.fetch_media_due(uow, source, store) == 1
    assert (await pending(uow))["minha foto"] == (1, False)
    photo = [e for e in await received(uow) if e["text"] == "minha foto"]
    assert len(photo) == 1
    [medium] = photo[0]["media"]
    assert (medium["kind"], medium["content_type"], medium["size"], medium["caption"]) == (
        "image", "image/jpeg", len(JPEG), "minha foto"
    )  # fmt: skip
    async with httpx.AsyncClient() as http:  # the presigned URL gives the bytes from the object store
        got = await http.get(medium["url"])
    assert (got.status_code, got.content) == (200, JPEG)
    assert photo[0]["sender"] == "+5511987650001"
    assert photo[0]["conversation_id"]
    assert await services.fetch_media_due(uow, source, store) == 0  # published once

    # A medium the provider does not have (a permanent refusal): the message goes out without it.
    assert await services.receive(uow, [photo_message("4999999", sender="+5511987650003")]) == 1
    assert await services.fetch_media_due(uow, source, store) == 1
    lost = [e for e in await received(uow) if e["sender"] == "+5511987650003"]
    assert [(m["kind"], m["url"]) for m in lost[0]["media"]] == [("image", None)]
