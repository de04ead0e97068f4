"""Recordings: fetched from the provider into the object store (worker), played back through signed expiring
links (audited), pruned by each clinic's retention (worker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.telephony import CallRecordedV1
from kit import links
from kit.auth import Principal
from kit.context import new_id
from kit.objects import ObjectNotFound, ObjectStore, ObjectStoreError
from telephony.domain import (
    MAX_FETCH_ATTEMPTS,
    REC_DELETED,
    REC_FAILED,
    REC_PENDING,
    REC_STORED,
    RECORDING_LINK,
    Conflict,
    Gone,
    LinkInvalid,
    NotFound,
    Recording,
    RecordingAccess,
    RetentionRule,
    clean_retention,
    retry_delay_seconds,
)
from telephony.provider_api import NotConfigured, ProviderApi, ProviderApiError
from telephony.services.common import now
from telephony.services.ingress import common_fields
from telephony.services.work import TelephonyWorkFactory


@dataclass(frozen=True)
class PlaybackLinks:
    secret: str
    public_url: str
    ttl_seconds: int

    def mint(self, recording: Recording) -> tuple[str, datetime]:
        token = links.mint(
            self.secret,
            purpose=RECORDING_LINK,
            subject=recording.id,
            tenant_id=recording.tenant_id,
            ttl_seconds=self.ttl_seconds,
        )
        url = f"{self.public_url.rstrip('/')}/public/telephony/recordings/{recording.id}?token={token}"
        return url, now() + timedelta(seconds=self.ttl_seconds)

    def verify(self, token: str) -> links.PatientLink:
        try:
            return links.verify(self.secret, token, purpose=RECORDING_LINK)
        except links.LinkError as exc:
            raise LinkInvalid(str(exc).capitalize() + "; open the recording from the call card again.") from exc
        except ValueError as exc:  # a missing or short LINK_SECRET is the operator's error
            raise RuntimeError(str(exc)) from exc


def object_key(recording: Recording, content_type: str) -> str:
    ext = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg"}.get(content_type, "bin")
    return f"telephony/{recording.tenant_id}/{recording.call_id}/{recording.id}.{ext}"


async def recordings_round(uow: TelephonyWorkFactory, api: ProviderApi, store: ObjectStore, *, limit: int = 10) -> int:
    """Worker timer: fetch due pending recordings from their providers into the object store, publish
    call.recorded. The provider call happens outside any transaction; a failure backs off and retries."""
    async with uow() as work:
        due = [r.id for r in await work.recordings.claim_due(now(), limit)]
    done = 0
    for rec_id in due:
        done += await _fetch_one(uow, api, store, rec_id)
    return done


async def _fetch_one(uow: TelephonyWorkFactory, api: ProviderApi, store: ObjectStore, rec_id: str) -> int:
    async with uow() as work:
        rec = await work.recordings.lock(rec_id)
        if rec is None or rec.state != REC_PENDING:
            return 0
        account = await work.accounts.account(rec.tenant_id, rec.provider)
    error: str | None = None
    retry = True
    stored = None
    if account is None:
        error, retry = "the clinic disconnected the provider", False
    else:
        try:
            fetched = await api.recording(account, rec.provider_ref)
            key = object_key(rec, fetched.content_type)
            stored = await store.put(key, fetched.data, content_type=fetched.content_type)
        except ProviderApiError as exc:
            error, retry = str(exc), exc.retry
        except NotConfigured as exc:
            error, retry = str(exc), False
        except ObjectStoreError as exc:
            error = str(exc)
    async with uow() as work:
        recs = work.recordings
        current = await recs.lock(rec_id)
        if current is None or current.state != REC_PENDING:
            return 0
        if stored is None:
            attempts = current.attempts + 1
            give_up = not retry or attempts >= MAX_FETCH_ATTEMPTS
            await recs.update(
                rec_id,
                attempts=attempts,
                last_error=(error or "")[:500],
                state=REC_FAILED if give_up else REC_PENDING,
                next_attempt_at=now() + timedelta(seconds=retry_delay_seconds(attempts)),
            )
            await work.commit()
            return 0
        at = now()
        await recs.update(
            rec_id,
            state=REC_STORED,
            object_key=stored.key,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            stored_at=at,
            attempts=current.attempts + 1,
            last_error=None,
        )
        call = await work.calls.call(current.tenant_id, current.call_id)
        if call is not None:
            work.publish(
                CallRecordedV1(
                    **common_fields(call.id, call.record, call.source, call.lead_id),
                    recording_id=rec_id,
                    recording_ref=current.provider_ref,
                    content_type=stored.content_type,
                    size_bytes=stored.size,
                    sha256=stored.sha256,
                    recorded_at=at,
                ),
                tenant_id=current.tenant_id,
            )
        await work.commit()
    return 1


async def retention_round(uow: TelephonyWorkFactory, store: ObjectStore, *, default_days: int, limit: int = 100) -> int:
    """Worker timer: delete the objects of recordings older than their clinic's retention."""
    async with uow() as work:
        recs = work.recordings
        expired = await recs.expired(default_days, now(), limit)
        for rec in expired:
            if rec.object_key:
                await store.delete(rec.object_key)  # S3 deletes are idempotent; a failure rolls back and retries
            await recs.update(rec.id, state=REC_DELETED, deleted_at=now(), object_key=None)
        await work.commit()
    return len(expired)


async def recording_link(
    uow: TelephonyWorkFactory, playback: PlaybackLinks, principal: Principal, recording_id: str, *, client: str | None
) -> tuple[str, datetime]:
    """A signed, expiring playback URL for staff; minting it is audited."""
    async with uow() as work:
        recs = work.recordings
        rec = await recs.get(principal.tenant_id, recording_id)
        if rec is None:
            raise NotFound(f"No recording {recording_id} in this clinic.", field="recording_id")
        _playable(rec)
        url, expires = playback.mint(rec)
        link_id = playback.verify(url.rsplit("token=", 1)[1]).link_id
        await recs.audit(
            principal.tenant_id,
            RecordingAccess(new_id(), rec.id, rec.call_id, "link", principal.user_id, link_id, client, now()),
        )
        await work.commit()
    return url, expires


def _playable(rec: Recording) -> None:
    if rec.state == REC_DELETED:
        raise Gone("The recording was deleted (the clinic's retention).", field="recording_id")
    if rec.state != REC_STORED:
        raise Conflict(f"The recording is {rec.state}, not stored yet.", field="recording_id")


async def play(
    uow: TelephonyWorkFactory,
    playback: PlaybackLinks,
    store: ObjectStore,
    recording_id: str,
    token: str,
    *,
    client: str | None,
) -> tuple[bytes, str]:
    """The recording's bytes for a valid link of exactly this recording (of the link's clinic); audited."""
    link = playback.verify(token)
    if link.subject != recording_id:
        raise LinkInvalid("This link is for another recording.")
    async with uow() as work:
        recs = work.recordings
        rec = await recs.get(link.tenant_id, recording_id)
        if rec is None:
            raise NotFound("No such recording.", field="recording_id")
        _playable(rec)
        assert rec.object_key is not None
        try:
            data, meta = await store.get(rec.object_key)
        except ObjectNotFound as exc:
            raise Gone("The recording is no longer stored.", field="recording_id") from exc
        await recs.audit(
            link.tenant_id,
            RecordingAccess(new_id(), rec.id, rec.call_id, "play", None, link.link_id, client, now()),
        )
        await work.commit()
    return data, meta.content_type or rec.content_type or "application/octet-stream"


async def recording_accesses(
    uow: TelephonyWorkFactory, principal: Principal, *, recording_id: str | None, limit: int, offset: int
) -> tuple[list[RecordingAccess], int]:
    async with uow() as work:
        return await work.recordings.accesses(
            principal.tenant_id, recording_id=recording_id, limit=limit, offset=offset
        )


async def retention(uow: TelephonyWorkFactory, principal: Principal, default_days: int) -> tuple[RetentionRule, bool]:
    """(the clinic's rule, whether it is the clinic's own setting: else the service's default, no hold)."""
    async with uow() as work:
        rule = await work.retention.retention(principal.tenant_id)
    return (rule, True) if rule is not None else (RetentionRule(default_days), False)


async def set_retention(
    uow: TelephonyWorkFactory, principal: Principal, days: int, hold_on_erasure_days: int | None = None
) -> RetentionRule:
    """`hold_on_erasure_days` None keeps the clinic's current hold (never longer than the retention)."""
    async with uow() as work:
        if hold_on_erasure_days is None:
            current = await work.retention.retention(principal.tenant_id)
            hold_on_erasure_days = min(current.hold_on_erasure_days, days) if current else 0
        rule = clean_retention(days, hold_on_erasure_days)
        await work.retention.set_retention(principal.tenant_id, rule, principal.user_id, now())
        await work.commit()
    return rule
