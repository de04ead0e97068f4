"""kit.objects against a real S3-compatible server (devkit's moto server, or OBJECTS_ENDPOINT_URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from devkit.infra import Infra
from kit.context import new_id
from kit.objects import ObjectNotFound, ObjectStore, ObjectStoreError, resource


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[ObjectStore]:
    opened = ObjectStore(
        endpoint_url=infra.objects_url,
        bucket=f"kit-{new_id()[:8]}",
        access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key,
        create_bucket=True,
    )
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def test_put_get_head_delete_round_trip(store: ObjectStore) -> None:
    await store.check()
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    stored = await store.put("funnel/t1/photo.png", data, content_type="image/png")
    assert stored.size == len(data)
    got, meta = await store.get("funnel/t1/photo.png")
    assert got == data
    assert meta.content_type == "image/png"
    assert meta.sha256 == stored.sha256
    head = await store.head("funnel/t1/photo.png")
    assert head is not None
    assert head.size == len(data)
    assert head.sha256 == stored.sha256
    await store.delete("funnel/t1/photo.png")
    assert await store.head("funnel/t1/photo.png") is None
    with pytest.raises(ObjectNotFound):
        await store.get("funnel/t1/photo.png")


async def test_a_presigned_url_downloads_without_credentials(store: ObjectStore) -> None:
    await store.put("telephony/t1/call.txt", b"hello", content_type="text/plain")
    url = await store.presigned_get("telephony/t1/call.txt", expires_seconds=60)
    async with httpx.AsyncClient() as client:
        answer = await client.get(url)
        assert answer.status_code == 200
        assert answer.content == b"hello"
        assert "X-Amz-Signature=" in url
        assert "X-Amz-Expires=60" in url


async def test_a_missing_bucket_fails_the_readiness_check(infra: Infra) -> None:
    missing = ObjectStore(
        endpoint_url=infra.objects_url,
        bucket=f"absent-{new_id()[:8]}",
        access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key,
    )
    res = resource(missing)
    assert res.open is not None
    assert res.check is not None
    assert res.close is not None
    await res.open()
    try:
        with pytest.raises(ObjectStoreError):
            await res.check()
    finally:
        await res.close()
