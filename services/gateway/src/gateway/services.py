"""Use cases of the gateway: bootstrap, login, refresh, staff and clinics."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import msgspec

from contracts import claims
from gateway import security
from gateway.domain import (
    PLATFORM_ADMIN,
    Conflict,
    InvalidCredentials,
    RefreshToken,
    Tenant,
    User,
    check_clinic,
    check_password,
    check_roles,
    is_reuse,
    normalise_email,
    refresh_usable,
)
from gateway.ratelimit import RateLimiter
from gateway.repository import IdentityRepository
from kit.auth import Principal, claims_of
from kit.context import new_id
from kit.db import UnitOfWorkFactory

log = logging.getLogger(__name__)


class TokenPair(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class TokenPolicy(msgspec.Struct, frozen=True):
    access_ttl: int = 900
    refresh_ttl: int = 14 * 24 * 3600
    login_limit: int = 10
    login_window: int = 300


class NewClinic(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    country: str = claims.DEFAULT_COUNTRY
    locale: str = claims.DEFAULT_LOCALE
    timezone: str = claims.DEFAULT_TIMEZONE


class NewStaff(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    full_name: str
    password: str
    roles: list[str]


def principal_of(user: User, tenant: Tenant) -> Principal:
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        permissions=user.permissions,
        roles=user.roles,
        country=tenant.country,
        locale=tenant.locale,
        timezone=tenant.timezone,
    )


async def _create_clinic(
    repo: IdentityRepository, clinic: NewClinic, admin: NewStaff, *, extra_permissions: tuple[str, ...] = ()
) -> tuple[Tenant, User]:
    check_clinic(clinic.country, clinic.locale)
    email = normalise_email(admin.email)
    check_password(admin.password)
    if await repo.email_taken(email):
        raise Conflict(f"An account with e-mail {email} already exists.", field="email")
    now = datetime.now(UTC)
    tenant = Tenant(
        id=new_id(),
        name=clinic.name.strip(),
        country=clinic.country,
        locale=clinic.locale,
        timezone=clinic.timezone,
        created_at=now,
    )
    user = User(
        id=new_id(),
        tenant_id=tenant.id,
        email=email,
        full_name=admin.full_name.strip(),
        password_hash=security.hash_password(admin.password),
        roles=check_roles(admin.roles),
        extra_permissions=extra_permissions,
        active=True,
        created_at=now,
    )
    await repo.add_tenant(tenant)
    await repo.add_user(user)
    return tenant, user


async def bootstrap(uow_factory: UnitOfWorkFactory, *, email: str, password: str, clinic: NewClinic) -> bool:
    """On first start, create the first clinic and its admin (who may also open new clinics)."""
    async with uow_factory() as uow:
        repo = IdentityRepository(uow.session)
        await repo.lock_bootstrap()
        if await repo.tenant_count():
            return False
        await _create_clinic(
            repo,
            clinic,
            NewStaff(email=email, full_name="Administrator", password=password, roles=["admin"]),
            extra_permissions=(PLATFORM_ADMIN,),
        )
        await uow.commit()
    log.info("created the first clinic and its admin %s", email)
    return True


async def _issue(
    repo: IdentityRepository, signer: security.SigningKey, policy: TokenPolicy, user: User, family_id: str | None = None
) -> TokenPair:
    tenant = await repo.tenant(user.tenant_id)
    assert tenant is not None
    now = datetime.now(UTC)
    refresh, refresh_hash = security.new_refresh_secret()
    await repo.add_refresh(
        RefreshToken(
            id=new_id(),
            user_id=user.id,
            family_id=family_id or new_id(),
            token_hash=refresh_hash,
            expires_at=now + timedelta(seconds=policy.refresh_ttl),
            revoked_at=None,
        ),
        now,
    )
    access = signer.access_token(claims_of(principal_of(user, tenant)), policy.access_ttl)
    return TokenPair(access, refresh, "bearer", policy.access_ttl)


async def login(
    uow_factory: UnitOfWorkFactory,
    signer: security.SigningKey,
    limiter: RateLimiter,
    policy: TokenPolicy,
    *,
    email: str,
    password: str,
    client_ip: str,
) -> TokenPair:
    key = f"login:{client_ip}:{email.strip().lower()}"
    await limiter.hit(key, limit=policy.login_limit, window_seconds=policy.login_window)
    await limiter.hit(f"login-ip:{client_ip}", limit=policy.login_limit * 5, window_seconds=policy.login_window)
    async with uow_factory() as uow:
        repo = IdentityRepository(uow.session)
        user = await repo.user_by_email(email.strip())
        if not security.verify_password(user.password_hash if user else None, password) or user is None:
            raise InvalidCredentials("Wrong e-mail or password.")
        if not user.active:
            raise InvalidCredentials("This account is disabled; ask your clinic's admin.")
        pair = await _issue(repo, signer, policy, user)
        await uow.commit()
    await limiter.reset(key)
    return pair


async def refresh(
    uow_factory: UnitOfWorkFactory, signer: security.SigningKey, policy: TokenPolicy, refresh_token: str
) -> TokenPair:
    now = datetime.now(UTC)
    async with uow_factory() as uow:
        repo = IdentityRepository(uow.session)
        token = refresh_usable(await repo.refresh_by_hash(security.hash_refresh(refresh_token)), now)
        if is_reuse(token):
            await repo.revoke_family(token.family_id, now)
            await uow.commit()
            log.warning("refresh token reuse for user %s: family revoked", token.user_id)
            raise InvalidCredentials("This refresh token was already used; log in again.")
        user = await repo.user(token.user_id)
        if user is None or not user.active:
            raise InvalidCredentials("This account is disabled; ask your clinic's admin.")
        await repo.revoke_refresh(token.id, now)
        pair = await _issue(repo, signer, policy, user, family_id=token.family_id)
        await uow.commit()
    return pair


async def me(uow_factory: UnitOfWorkFactory, principal: Principal) -> tuple[User, Tenant]:
    async with uow_factory() as uow:
        repo = IdentityRepository(uow.session)
        user = await repo.user(principal.user_id)
        tenant = await repo.tenant(principal.tenant_id)
    if user is None or tenant is None:
        raise InvalidCredentials("This account no longer exists.")
    return user, tenant


async def create_clinic(uow_factory: UnitOfWorkFactory, clinic: NewClinic, admin: NewStaff) -> tuple[Tenant, User]:
    async with uow_factory() as uow:
        tenant, user = await _create_clinic(IdentityRepository(uow.session), clinic, admin)
        await uow.commit()
    return tenant, user


async def add_staff(uow_factory: UnitOfWorkFactory, principal: Principal, staff: NewStaff) -> User:
    email = normalise_email(staff.email)
    check_password(staff.password)
    async with uow_factory() as uow:
        repo = IdentityRepository(uow.session)
        if await repo.email_taken(email):
            raise Conflict(f"An account with e-mail {email} already exists.", field="email")
        user = User(
            id=new_id(),
            tenant_id=principal.tenant_id,
            email=email,
            full_name=staff.full_name.strip(),
            password_hash=security.hash_password(staff.password),
            roles=check_roles(staff.roles),
            extra_permissions=(),
            active=True,
            created_at=datetime.now(UTC),
        )
        await repo.add_user(user)
        await uow.commit()
    return user


async def staff_of(uow_factory: UnitOfWorkFactory, principal: Principal) -> list[User]:
    async with uow_factory() as uow:
        return await IdentityRepository(uow.session).users_of(principal.tenant_id)
