"""kit.sealing: AES-256-GCM with key ids; the context is authenticated; rotation opens old values."""

from __future__ import annotations

import pytest

from kit.sealing import PREFIX, Sealer, SealingError, generate_key, is_sealed


def _sealer(*ids: str) -> tuple[Sealer, dict[str, str]]:
    keys = {i: generate_key() for i in ids}
    return Sealer.from_setting(",".join(f"{i}:{k}" for i, k in keys.items())), keys


def test_seal_and_open_round_trip_without_the_plaintext_in_sight() -> None:
    sealer, _ = _sealer("k1")
    sealed = sealer.seal("APP_USR-123-secret", context="payments.accounts/t1/access_token")
    assert sealed.startswith(f"{PREFIX}k1:")
    assert "APP_USR" not in sealed
    assert sealed != sealer.seal("APP_USR-123-secret", context="payments.accounts/t1/access_token")  # fresh nonce
    assert sealer.open(sealed, context="payments.accounts/t1/access_token") == "APP_USR-123-secret"


def test_another_context_or_a_tampered_value_does_not_open() -> None:
    sealer, _ = _sealer("k1")
    sealed = sealer.seal("whsec_abc", context="payments.accounts/t1/webhook_secret")
    with pytest.raises(SealingError):
        sealer.open(sealed, context="payments.accounts/t2/webhook_secret")  # copied to another clinic's row
    with pytest.raises(SealingError):
        sealer.open(sealed, context="payments.accounts/t1/access_token")  # or to another column
    head, body = sealed.rsplit(":", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SealingError):
        sealer.open(f"{head}:{flipped}", context="payments.accounts/t1/webhook_secret")


def test_rotation_new_key_seals_old_key_still_opens_then_is_dropped() -> None:
    old, keys = _sealer("k1")
    sealed_old = old.seal("sk_live_x", context="c")
    rotated = Sealer.from_setting(f"k2:{generate_key()},k1:{keys['k1']}")
    assert rotated.open(sealed_old, context="c") == "sk_live_x"
    assert rotated.needs_reseal(sealed_old)
    resealed = rotated.seal(rotated.open(sealed_old, context="c"), context="c")
    assert not rotated.needs_reseal(resealed)
    with pytest.raises(SealingError, match="k1"):
        Sealer.from_setting(f"k3:{generate_key()}").open(sealed_old, context="c")


def test_values_from_before_sealing_open_as_they_are_and_need_a_reseal() -> None:
    sealer, _ = _sealer("k1")
    assert sealer.open("legacy-plain-token", context="c") == "legacy-plain-token"
    assert sealer.needs_reseal("legacy-plain-token")
    assert not is_sealed("legacy-plain-token")
    assert sealer.seal("", context="c") == ""
    assert not sealer.needs_reseal("")


@pytest.mark.parametrize(
    "setting",
    ["", "k1", "k1:not base64!", "k1:" + "QUJD", "bad id with spaces:" + generate_key()],
)
def test_bad_key_settings_are_refused(setting: str) -> None:
    with pytest.raises(SealingError):
        Sealer.from_setting(setting)
