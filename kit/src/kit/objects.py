"""An S3-compatible object store for files: patients' photos, signed plans, call recordings, exports.

One small adapter over aiobotocore, named by settings (`OBJECTS_ENDPOINT_URL`, `OBJECTS_BUCKET`,
`OBJECTS_ACCESS_KEY_ID`, `OBJECTS_SECRET_ACCESS_KEY`, `OBJECTS_REGION`; a service may override any with its own
prefix, e.g. `FUNNEL_OBJECTS_BUCKET`). Production points it at S3 or MinIO; the local stack and the tests at the
moto server devkit starts (docs/architecture.md, "Object store"). Keys are the caller's: a service puts its
objects under its own prefix (`funnel/<tenant>/...`), so one bucket can serve every service.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from kit.resources import Resource
from kit.settings import ServiceSettings


class ObjectStoreError(Exception):
    """The store refused or could not be reached (the caller decides whether that is a 503 or a retry)."""


class ObjectNotFound(ObjectStoreError):
    pass


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    #: Hex SHA-256 of the bytes (computed by us on put; from the object's metadata on head).
    sha256: str | None = None


class ObjectStore:
    """put / get / head / delete / presigned GET URL on one bucket; `open()` before use, `close()` after."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        region: str = "us-east-1",
        create_bucket: bool = False,
    ) -> None:
        self.endpoint_url = endpoint_url or None  # empty: the AWS endpoint of the region
        self.bucket = bucket
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self._create_bucket = create_bucket
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ObjectStore:
        return cls(
            endpoint_url=settings.objects_endpoint_url,
            bucket=settings.objects_bucket,
            access_key_id=settings.objects_access_key_id,
            secret_access_key=settings.objects_secret_access_key,
            region=settings.objects_region,
            create_bucket=settings.objects_create_bucket,
        )

    async def open(self) -> None:
        if self._client is not None:
            return
        self._stack = contextlib.AsyncExitStack()
        key_id, secret = self._credentials
        config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},  # MinIO and moto on a bare host:port need path-style URLs
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        )
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=key_id or None,
                aws_secret_access_key=secret or None,
                config=config,
            )
        )
        if self._create_bucket:  # the local stack only; in production the bucket is provisioned
            try:
                await self._client.head_bucket(Bucket=self.bucket)
            except ClientError:
                with contextlib.suppress(ClientError):
                    await self._client.create_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack, self._client = None, None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise ObjectStoreError("the object store is not open")
        return self._client

    async def _ready(self) -> Any:
        """The client, opened on first use when the app's lifespan did not (an app driven without one)."""
        if self._client is None:
            await self.open()
        return self.client

    async def check(self) -> None:
        """Readiness: the bucket answers."""
        try:
            await (await self._ready()).head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            raise ObjectStoreError(f"bucket {self.bucket!r}: {exc}") from exc

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> StoredObject:
        digest = hashlib.sha256(data).hexdigest()
        try:
            await (await self._ready()).put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata={"sha256": digest}
            )
        except ClientError as exc:
            raise ObjectStoreError(f"put {key!r}: {exc}") from exc
        return StoredObject(key, len(data), content_type, digest)

    async def get(self, key: str) -> tuple[bytes, StoredObject]:
        try:
            answer = await (await self._ready()).get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(key) from exc
            raise ObjectStoreError(f"get {key!r}: {exc}") from exc
        async with answer["Body"] as body:
            data = await body.read()
        meta = answer.get("Metadata") or {}
        return data, StoredObject(key, len(data), answer.get("ContentType") or "", meta.get("sha256"))

    async def head(self, key: str) -> StoredObject | None:
        try:
            answer = await (await self._ready()).head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise ObjectStoreError(f"head {key!r}: {exc}") from exc
        meta = answer.get("Metadata") or {}
        return StoredObject(
            key, int(answer.get("ContentLength") or 0), answer.get("ContentType") or "", meta.get("sha256")
        )

    async def delete(self, key: str) -> None:
        try:
            await (await self._ready()).delete_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise ObjectStoreError(f"delete {key!r}: {exc}") from exc

    async def presigned_get(self, key: str, *, expires_seconds: int = 900) -> str:
        """A time-limited URL that downloads the object without credentials (for staff screens)."""
        url: str = await (await self._ready()).generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_seconds
        )
        return url


def _missing(exc: ClientError) -> bool:
    code = str((exc.response.get("Error") or {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def resource(store: ObjectStore, name: str = "objects") -> Resource[ObjectStore]:
    """The store as an app resource: opened at start, `check` on /health/ready, closed at shutdown."""
    return Resource(name, store, check=store.check, open=store.open, close=store.close)
