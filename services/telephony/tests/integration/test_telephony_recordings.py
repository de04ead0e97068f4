"""Click-to-call and recordings on a real, migrated PostgreSQL, the moto S3 server and the sandbox PBX's own
provider APIs (its app, in process): the worker fetches a recording into the object store and publishes
call.recorded; staff play it through a signed, expiring link; every access is audited; retention deletes it;
one clinic never reaches another's recording."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kit.context import new_id
from kit.db import make_engine
from kit.objects import ObjectStore
from services.telephony.tests.integration.conftest import Sandbox, answered_call, connect_asterisk, principal, sql
from telephony import services as cases
from telephony.domain import Gone, InvalidTelephony, LinkInvalid, NotFound, RetentionRule
from telephony.provider_api import ProviderApiError
from telephony.services.work import telephony_uow

LINK_SECRET = "x" * 40


async def test_a_recording_is_fetched_stored_played_audited_and_retained(
    database_url: str, store: ObjectStore, sandbox: Sandbox
) -> None:
    pbx, api, client = sandbox.pbx, sandbox.api, sandbox.client
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    a, b = principal(new_id()), principal(new_id())
    playback = cases.PlaybackLinks(LINK_SECRET, "https://clinicflow.example", 300)
    try:
        for admin in (a, b):
            await connect_asterisk(uow, admin, client)
        call_a = await answered_call(uow, a, pbx, "+5511987654321")
        call_b = await answered_call(uow, b, pbx, "+5511912345678")
        card = await cases.card(uow, a, call_a)
        assert card.recording is not None
        assert card.recording.state == "pending"

        assert await cases.recordings_round(uow, api, store) == 2
        assert await cases.recordings_round(uow, api, store) == 0  # nothing due any more
        rec_a = (await cases.card(uow, a, call_a)).recording
        rec_b = (await cases.card(uow, b, call_b)).recording
        assert rec_a is not None
        assert rec_b is not None
        assert rec_a.state == "stored"
        assert rec_a.object_key
        assert rec_a.object_key.startswith(f"telephony/{a.tenant_id}/{call_a}/")
        data, meta = await store.get(rec_a.object_key)
        assert data == pbx.wav
        assert data[:4] == b"RIFF"
        assert meta.content_type == "audio/wav"
        recorded = await sql(
            database_url,
            "SELECT payload FROM outbox WHERE event_type = 'clinicflow.telephony.call.recorded.v1' ORDER BY id",
        )
        assert len(recorded) == 2
        payloads = [json.loads(r["payload"]) for r in recorded]
        mine = next(p for p in payloads if p["call_id"] == call_a)
        assert mine["recording_id"] == rec_a.id
        assert mine["content_type"] == "audio/wav"
        assert mine["size_bytes"] == len(pbx.wav)
        assert mine["provider"] == "asterisk"

        # Staff of clinic A play A's recording through a signed link; the link and the play are audited.
        url, expires = await cases.recording_link(uow, playback, a, rec_a.id, client="10.0.0.7")
        assert url.startswith(f"https://clinicflow.example/public/telephony/recordings/{rec_a.id}?token=")
        assert expires > datetime.now(UTC)
        token = url.split("token=", 1)[1]
        played, content_type = await cases.play(uow, playback, store, rec_a.id, token, client="10.0.0.8")
        assert played == pbx.wav
        assert content_type == "audio/wav"
        accesses, total = await cases.recording_accesses(uow, a, recording_id=rec_a.id, limit=10, offset=0)
        assert total == 2
        assert [x.action for x in accesses] == ["play", "link"]
        assert accesses[1].user_id == a.user_id
        assert accesses[0].link_id == accesses[1].link_id
        assert (await cases.recording_accesses(uow, b, recording_id=None, limit=10, offset=0))[1] == 0

        # Tenant isolation: B's staff cannot mint a link to A's recording, nor A's token open B's recording.
        with pytest.raises(NotFound):
            await cases.recording_link(uow, playback, b, rec_a.id, client=None)
        with pytest.raises(LinkInvalid):
            await cases.play(uow, playback, store, rec_b.id, token, client=None)
        with pytest.raises(NotFound):
            await cases.card(uow, b, call_a)
        # Forged, or signed for another purpose, or expired: refused.
        for bad in (token[:-4] + "abcd", "not-a-token-at-all"):
            with pytest.raises(LinkInvalid):
                await cases.play(uow, playback, store, rec_a.id, bad, client=None)
        expired = cases.PlaybackLinks(LINK_SECRET, "https://x", -10)
        old_url, _ = expired.mint(rec_a)
        with pytest.raises(LinkInvalid):
            await cases.play(uow, playback, store, rec_a.id, old_url.split("token=", 1)[1], client=None)

        # Retention: A keeps recordings 1 day; A's is 2 days old -> deleted; B's (default 365) stays.
        assert await cases.retention(uow, a, 365) == (RetentionRule(365), False)
        assert await cases.set_retention(uow, a, 1) == RetentionRule(1)
        assert await cases.retention(uow, a, 365) == (RetentionRule(1), True)
        with pytest.raises(InvalidTelephony) as bad_hold:  # a hold longer than the retention itself
            await cases.set_retention(uow, a, 1, 2)
        assert bad_hold.value.field == "hold_on_erasure_days"
        with pytest.raises(InvalidTelephony) as bad_days:
            await cases.set_retention(uow, a, 0)
        assert bad_days.value.field == "days"
        await sql(
            database_url,
            "UPDATE recordings SET stored_at = $1 WHERE tenant_id = $2",
            datetime.now(UTC) - timedelta(days=2),
            a.tenant_id,
        )
        await sql(
            database_url,
            "UPDATE recordings SET stored_at = $1 WHERE tenant_id = $2",
            datetime.now(UTC) - timedelta(days=2),
            b.tenant_id,
        )
        assert await cases.retention_round(uow, store, default_days=365) == 1
        assert await store.head(rec_a.object_key) is None
        assert rec_b.object_key
        assert await store.head(rec_b.object_key) is not None
        with pytest.raises(Gone):
            await cases.recording_link(uow, playback, a, rec_a.id, client=None)
        with pytest.raises(Gone):
            await cases.play(uow, playback, store, rec_a.id, token, client=None)
    finally:
        await engine.dispose()


async def test_a_recording_the_provider_does_not_have_is_retried_then_given_up(
    database_url: str, store: ObjectStore, sandbox: Sandbox
) -> None:
    pbx, api, client = sandbox.pbx, sandbox.api, sandbox.client
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    a = principal(new_id())
    try:
        await connect_asterisk(uow, a, client)
        call = await answered_call(uow, a, pbx, "+5511987654321")
        pbx.recordings.clear()  # the PBX has not written the file yet
        assert await cases.recordings_round(uow, api, store) == 0
        [row] = await sql(database_url, "SELECT state, attempts, last_error, next_attempt_at FROM recordings")
        assert (row["state"], row["attempts"]) == ("pending", 1)
        assert "404" in row["last_error"]
        assert row["next_attempt_at"] > datetime.now(UTC)
        # Due again and still missing, up to the limit: then failed, and the card says so.
        await sql(database_url, "UPDATE recordings SET attempts = 7, next_attempt_at = now()")
        assert await cases.recordings_round(uow, api, store) == 0
        rec = (await cases.card(uow, a, call)).recording
        assert rec is not None
        assert rec.state == "failed"
    finally:
        await engine.dispose()


async def test_click_to_call_rings_through_the_provider_api(database_url: str, sandbox: Sandbox) -> None:
    pbx, api, client = sandbox.pbx, sandbox.api, sandbox.client
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    a = principal(new_id())
    try:
        with pytest.raises(InvalidTelephony) as not_connected:
            await cases.dial(
                uow, api, a, public_url="http://gw", provider="asterisk", extension="101", to="+5511987654321",
                line="+551130000001", call_id=None,
            )  # fmt: skip
        assert not_connected.value.field == "provider"
        await cases.connect(uow, a, "zadarma", secret="z", api_key="", timezone=None)
        with pytest.raises(InvalidTelephony) as no_api:
            await cases.dial(
                uow, api, a, public_url="http://gw", provider="zadarma", extension="101", to="+5511987654321",
                line="+551130000001", call_id=None,
            )  # fmt: skip
        assert no_api.value.field == "provider"
        await connect_asterisk(uow, a, client)
        with pytest.raises(InvalidTelephony) as bad_to:
            await cases.dial(
                uow, api, a, public_url="http://gw", provider="asterisk", extension="101", to="12", line=None,
                call_id=None,
            )  # fmt: skip
        assert bad_to.value.field == "to"

        dialled = await cases.dial(
            uow, api, a, public_url="http://gw", provider="asterisk", extension="101", to="(11) 98765-4321",
            line="+551130000001", call_id=None,
        )  # fmt: skip
        [dial] = [d for d in pbx.dials if d["provider"] == "asterisk"]
        assert dial == {"provider": "asterisk", "id": dialled.provider_call_id, "endpoint": "PJSIP/101",
                        "extension": "5511987654321"}  # fmt: skip
        card = await cases.card(uow, a, dialled.call_id)
        assert card.call.record.direction == "outbound"
        assert card.call.record.caller == "+5511987654321"
        assert card.call.record.state == "ringing"
        # Calling back the card's caller reuses its number and line.
        again = await cases.dial(
            uow, api, a, public_url="http://gw", provider="asterisk", extension="102", to=None, line=None,
            call_id=dialled.call_id,
        )  # fmt: skip
        assert again.call_id != dialled.call_id
        assert (await cases.card(uow, a, again.call_id)).call.record.tracking_number == "+551130000001"

        # Twilio: Basic SID:token; Telfin: its access token, which the PBX must know.
        await cases.connect(uow, a, "twilio", secret="twilio-token", api_key="AC" + "1" * 32, timezone=None)
        twilio = await cases.dial(
            uow, api, a, public_url="http://127.0.0.1:9", provider="twilio", extension="sip:101@clinic",
            to="+5511987654321", line="+551130000001", call_id=None,
        )  # fmt: skip
        assert twilio.provider_call_id.startswith("CA")
        await cases.connect(uow, a, "telfin", secret="tok", api_key="telfin-access", timezone=None)
        with pytest.raises(ProviderApiError):  # the PBX does not know this access token: 401
            await cases.dial(
                uow, api, a, public_url="http://gw", provider="telfin", extension="101", to="+5511987654321",
                line="+551130000001", call_id=None,
            )  # fmt: skip
        line = {"provider": "telfin", "api_key": "telfin-access", "webhook_url": "http://127.0.0.1:9/t?token=tok"}
        assert (await client.put("/sandbox/telephony/lines", json=line)).status_code == 200
        telfin = await cases.dial(
            uow, api, a, public_url="http://gw", provider="telfin", extension="101", to="+5511987654321",
            line="+551130000001", call_id=None,
        )  # fmt: skip
        assert {d.get("call_api_id") for d in pbx.dials} >= {telfin.provider_call_id}
    finally:
        await engine.dispose()
