"""Staff identity rules, password hashing and the token signing key, in plain Python."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway import security
from gateway.domain import (
    COUNTRIES,
    LOCALES,
    MIN_PASSWORD,
    ROLE_PERMISSIONS,
    InvalidCredentials,
    InvalidInput,
    InvalidPath,
    RefreshToken,
    User,
    check_clinic,
    check_password,
    check_roles,
    is_reuse,
    normalise_email,
    refresh_usable,
)
from gateway.proxy import Upstream

NOW = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


def _user(roles: tuple[str, ...], extra: tuple[str, ...] = ()) -> User:
    return User(
        id="user-1",
        tenant_id="clinic-1",
        email="ana@clinic.example",
        full_name="Ana Lima",
        password_hash="x",
        roles=roles,
        extra_permissions=extra,
        active=True,
        created_at=NOW,
    )


def _refresh(expires_at: datetime, revoked_at: datetime | None = None) -> RefreshToken:
    return RefreshToken(
        id="rt-1", user_id="user-1", family_id="fam-1", token_hash="h", expires_at=expires_at, revoked_at=revoked_at
    )


# --- permissions and roles ----------------------------------------------------------------
def test_permissions_of_one_role() -> None:
    assert _user(("professional",)).permissions == frozenset({"crm:read", "scheduling:read", "scheduling:visit"})


def test_permissions_union_roles_and_extra_permissions() -> None:
    user = _user(("sales_agent", "finance"), extra=("crm:responsible", "platform:admin"))
    assert user.permissions == frozenset(
        {
            "crm:read",
            "crm:write",
            "finance:read",
            "payments:write",
            "payments:refund",
            "crm:responsible",
            "platform:admin",
            "scheduling:read",
            "scheduling:book",
            "funnel:read",
            "funnel:write",
            "analytics:read",
            "analytics:all",
        }
    )


def test_permissions_of_no_role_are_the_extra_ones() -> None:
    assert _user((), extra=("crm:read",)).permissions == frozenset({"crm:read"})


def test_admin_holds_every_crm_permission() -> None:
    assert _user(("admin",)).permissions >= {"crm:read", "crm:write", "crm:admin", "crm:responsible"}


def test_scheduling_permissions_follow_the_job() -> None:
    assert _user(("admin",)).permissions >= {"scheduling:admin", "scheduling:book", "scheduling:visit"}
    reception = _user(("reception",)).permissions
    assert reception >= {"scheduling:read", "scheduling:book", "scheduling:checkin"}
    assert "scheduling:visit" not in reception
    assert "scheduling:admin" not in reception
    doctor = _user(("professional",)).permissions
    assert "scheduling:visit" in doctor
    assert "scheduling:book" not in doctor


def test_analytics_permissions_follow_the_job() -> None:
    assert _user(("manager",)).permissions >= {"analytics:read", "analytics:all", "analytics:write"}
    agent = _user(("sales_agent",)).permissions
    assert "analytics:read" in agent
    assert "analytics:all" not in agent  # an agent sees their own figures
    assert "analytics:all" in _user(("finance",)).permissions


def test_check_roles_dedupes_keeping_order() -> None:
    assert check_roles(["manager", "reception", "manager"]) == ("manager", "reception")


@pytest.mark.parametrize("roles", [[], ["superuser"], ["admin", "owner"], ["Admin"]])
def test_check_roles_rejects_unknown_or_empty(roles: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_roles(roles)
    assert caught.value.field == "roles"


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_every_role_is_accepted_and_grants_its_permissions(role: str) -> None:
    assert check_roles([role]) == (role,)
    assert _user((role,)).permissions == ROLE_PERMISSIONS[role]


# --- account input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"), [("Ana@Clinic.Example", "ana@clinic.example"), ("  bia@x.com.br\n", "bia@x.com.br")]
)
def test_normalise_email(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "ana", "ana@clinic", "@clinic.example", "a na@clinic.example"])
def test_normalise_email_rejects_bad(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_email(raw)
    assert caught.value.field == "email"


def test_check_password_minimum_length() -> None:
    check_password("p" * MIN_PASSWORD)
    with pytest.raises(InvalidInput) as caught:
        check_password("p" * (MIN_PASSWORD - 1))
    assert caught.value.field == "password"


@pytest.mark.parametrize("country", COUNTRIES)
def test_check_clinic_accepts_supported_countries(country: str) -> None:
    check_clinic(country, "pt-BR")


@pytest.mark.parametrize("locale", LOCALES)
def test_check_clinic_accepts_supported_locales(locale: str) -> None:
    check_clinic("BR", locale)


@pytest.mark.parametrize(
    ("country", "locale", "field"),
    [("XX", "es", "country"), ("br", "es", "country"), ("ES", "fr", "locale"), ("ES", "es-ES", "locale")],
)
def test_check_clinic_rejects(country: str, locale: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_clinic(country, locale)
    assert caught.value.field == field


# --- refresh tokens -----------------------------------------------------------------------
def test_refresh_usable_returns_a_live_token() -> None:
    token = _refresh(NOW + timedelta(days=1))
    assert refresh_usable(token, NOW) is token


@pytest.mark.parametrize(
    "token", [None, _refresh(NOW), _refresh(NOW - timedelta(seconds=1))], ids=["none", "now", "past"]
)
def test_refresh_usable_rejects_unknown_or_expired(token: RefreshToken | None) -> None:
    with pytest.raises(InvalidCredentials):
        refresh_usable(token, NOW)


def test_is_reuse() -> None:
    assert not is_reuse(_refresh(NOW + timedelta(days=1)))
    assert is_reuse(_refresh(NOW + timedelta(days=1), revoked_at=NOW - timedelta(minutes=1)))


def test_a_revoked_live_token_is_usable_but_flagged_as_reuse() -> None:
    token = refresh_usable(_refresh(NOW + timedelta(days=1), revoked_at=NOW), NOW)
    assert is_reuse(token)


# --- passwords ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def password_hash() -> str:
    return security.hash_password("correct horse battery")


def test_hash_is_argon2id_and_salted(password_hash: str) -> None:
    assert password_hash.startswith("$argon2id$")
    assert "correct horse" not in password_hash
    assert security.hash_password("correct horse battery") != password_hash


def test_verify_password(password_hash: str) -> None:
    assert security.verify_password(password_hash, "correct horse battery") is True
    assert security.verify_password(password_hash, "correct horse battery!") is False
    assert security.verify_password(password_hash, "") is False


@pytest.mark.parametrize("stored", [None, "", "not-an-argon2-hash"])
def test_verify_password_without_a_usable_hash_is_false(stored: str | None) -> None:
    assert security.verify_password(stored, "correct horse battery") is False


def test_refresh_secret_is_stored_as_its_sha256() -> None:
    token, digest = security.new_refresh_secret()
    assert digest == security.hash_refresh(token)
    assert len(digest) == 64
    assert token not in digest
    assert security.new_refresh_secret()[0] != token


# --- signing key --------------------------------------------------------------------------
def test_signing_key_is_generated_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "jwt.pem"

    generated = security.SigningKey.load(path, generate=True)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["jwt.pem"]  # no temporary file left behind
    reloaded = security.SigningKey.load(path, generate=False)
    assert reloaded.kid == generated.kid
    assert reloaded.public_jwk == generated.public_jwk
    assert security.SigningKey.load(path, generate=True).kid == generated.kid  # an existing key is kept


def test_jwks_publishes_only_the_public_key(tmp_path: Path) -> None:
    key = security.SigningKey.load(tmp_path / "jwt.pem", generate=True)
    (jwk,) = key.jwks()["keys"]

    assert "d" not in jwk
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert jwk["kid"] == key.kid
    assert (jwk["alg"], jwk["use"]) == ("EdDSA", "sig")


def test_distinct_keys_have_distinct_kids(tmp_path: Path) -> None:
    first = security.SigningKey.load(tmp_path / "a.pem", generate=True)
    second = security.SigningKey.load(tmp_path / "b.pem", generate=True)
    assert first.kid != second.kid


def test_missing_key_without_generate_exits(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no JWT signing key"):
        security.SigningKey.load(tmp_path / "missing.pem", generate=False)
    assert not (tmp_path / "missing.pem").exists()


def test_non_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(SystemExit, match="not an Ed25519"):
        security.SigningKey.load(path, generate=True)


# --- the proxy ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/leads/\x00", "/api/v1/leads/a\nb", "/public/forms/\x1f", "/x\x7f"])
async def test_the_proxy_refuses_a_path_with_a_control_character(path: str) -> None:
    upstream = Upstream({"leads": "http://127.0.0.1:9"})
    try:
        with pytest.raises(InvalidPath):
            await upstream.forward("leads", "GET", path, b"", [], b"", "127.0.0.1")
    finally:
        await upstream.close()


# --- roles, sections and departments ------------------------------------------------------------------
def test_permissions_come_from_the_clinics_own_roles() -> None:
    from gateway.domain import User as U

    user = U(
        id="u",
        tenant_id="t",
        email="a@b.co",
        full_name="A",
        password_hash="x",
        roles=("desk", "finance"),
        extra_permissions=(),
        active=True,
        created_at=datetime.now(UTC),
    )
    clinic = {"desk": frozenset({"crm:read", "crm:write"}), "finance": frozenset({"finance:read"})}
    assert user.permissions_with(clinic) == {"crm:read", "crm:write", "finance:read"}
    assert user.permissions_with({}) == frozenset()  # a role the clinic deleted grants nothing


def test_role_names_and_permissions_are_checked() -> None:
    from gateway.domain import PERMISSIONS, check_permissions, check_role_name

    assert check_role_name("front_desk") == "front_desk"
    for bad in ("Front", "x", "9lives", "a-b", "a" * 41):
        with pytest.raises(InvalidInput) as caught:
            check_role_name(bad)
        assert caught.value.field == "name"
    assert check_permissions(["crm:read"], role="desk") == {"crm:read"}
    with pytest.raises(InvalidInput) as unknown:
        check_permissions(["crm:read", "platform:admin"], role="desk")  # the operator's power is no role's
    assert unknown.value.field == "permissions"
    with pytest.raises(InvalidInput):
        check_permissions(["crm:read"], role="admin")  # the admin role keeps crm:admin
    assert set(ROLE_PERMISSIONS["admin"]) <= PERMISSIONS.keys()
    assert all(perms <= PERMISSIONS.keys() for perms in ROLE_PERMISSIONS.values())


def test_staff_belong_to_active_units_of_the_right_kind() -> None:
    from gateway.domain import Unit, check_units

    now = datetime.now(UTC)
    units = {
        "s1": Unit("s1", "t", "section", "Reception", True, now),
        "s2": Unit("s2", "t", "section", "Old", False, now),
        "d1": Unit("d1", "t", "department", "Sales", True, now),
    }
    assert check_units(["s1", "s1"], units, kind="section", field_name="section_ids") == ("s1",)
    for ids in (["s2"], ["d1"], ["nope"]):
        with pytest.raises(InvalidInput) as caught:
            check_units(ids, units, kind="section", field_name="section_ids")
        assert caught.value.field == "section_ids"


def test_diff_names_what_changed() -> None:
    from gateway.domain import diff

    assert diff({"a": 1, "b": [1]}, {"a": 1, "b": [2], "c": None}) == {"b": [[1], [2]]}
    assert diff({}, {"name": "x"}) == {"name": [None, "x"]}


def test_every_role_grants_only_permissions_the_contract_names() -> None:
    from contracts.claims import PERMISSIONS, PLATFORM_ADMIN
    from gateway import domain

    granted = set().union(*domain.ROLE_PERMISSIONS.values()) | {domain.PLATFORM_ADMIN}
    assert granted <= PERMISSIONS
    assert domain.PLATFORM_ADMIN == PLATFORM_ADMIN
