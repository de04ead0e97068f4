"""Use cases of the gateway: bootstrap, login, refresh, clinics, staff, roles, sections and departments."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import claims
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from contracts.privacy import RecordReadV1
from gateway import security
from gateway.domain import (
    BUILTIN_ROLES,
    PLATFORM_ADMIN,
    UNIT_KINDS,
    AuditEntry,
    Conflict,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    RefreshToken,
    Role,
    Tenant,
    Unit,
    User,
    check_clinic,
    check_password,
    check_permissions,
    check_role_name,
    check_roles,
    check_unit_name,
    check_units,
    diff,
    is_reuse,
    normalise_email,
    refresh_usable,
)
from gateway.ratelimit import RateLimiter
from gateway.repository import IdentityRepository
from kit.auth import Principal, claims_of
from kit.context import new_id
from kit.db import UnitOfWork, Work

log = logging.getLogger(__name__)


class GatewayWork(Work, Protocol):
    """What the gateway's use cases ask of their unit of work: kit's (a transaction, the outbox, one commit)
    with the identity repository hanging off it (`uow.identity`), never one built from a session
    (docs/architecture.md, "Unit of work")."""

    identity: IdentityRepository


GatewayWorkFactory = Callable[[], GatewayWork]


class GatewayUnitOfWork(UnitOfWork):
    """The PostgreSQL unit of work of the gateway (kit's app factories build it: `unit_of_work=...`)."""

    identity: IdentityRepository

    def opened(self, session: AsyncSession) -> None:
        self.identity = IdentityRepository(session)


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
    section_ids: list[str] = []
    department_ids: list[str] = []


def principal_of(user: User, tenant: Tenant, roles: Mapping[str, frozenset[str]]) -> Principal:
    """The token's claims: the permissions of the user's roles as the clinic defines them now."""
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        permissions=user.permissions_with(roles),
        roles=user.roles,
        country=tenant.country,
        locale=tenant.locale,
        timezone=tenant.timezone,
    )


def staff_created(user: User) -> StaffCreatedV1:
    """The staff directory's record of a member (contracts.identity), as services learn it."""
    event = _staff_event(StaffCreatedV1, user, user.created_at)
    assert isinstance(event, StaffCreatedV1)
    return event


def _staff_event(
    cls: type[StaffCreatedV1] | type[StaffUpdatedV1] | type[StaffDeactivatedV1], user: User, at: datetime
) -> StaffCreatedV1 | StaffUpdatedV1 | StaffDeactivatedV1:
    return cls(
        user_id=user.id,
        full_name=user.full_name,
        email=user.email,
        roles=list(user.roles),
        active=user.active,
        section_ids=list(user.section_ids),
        department_ids=list(user.department_ids),
        changed_at=at,
    )


async def role_map(repo: IdentityRepository, tenant_id: str) -> dict[str, frozenset[str]]:
    return {r.name: r.permissions for r in await repo.roles_of(tenant_id)}


async def _audit(
    repo: IdentityRepository,
    principal: Principal | None,
    tenant_id: str,
    entity: str,
    entity_id: str,
    action: str,
    changes: dict[str, list[Any]],
    at: datetime,
) -> None:
    actor = principal.user_id if principal else None
    await repo.add_audit(tenant_id, AuditEntry(entity, entity_id, action, actor, changes, at))


async def _add_user(uow: GatewayWork, user: User) -> None:
    """Store the account and queue its directory event in the same transaction."""
    await uow.identity.add_user(user)
    uow.publish(staff_created(user), tenant_id=user.tenant_id)


async def announce_staff(uow_factory: GatewayWorkFactory) -> int:
    """Accounts made before the staff directory existed (or by an older gateway) are announced once."""
    async with uow_factory() as uow:
        repo = uow.identity
        await repo.lock_bootstrap()
        pending = await repo.unannounced_users()
        for user in pending:
            uow.publish(staff_created(user), tenant_id=user.tenant_id)
        await repo.mark_announced([u.id for u in pending])
        await uow.commit()
    if pending:
        log.info("announced %d existing staff accounts to the staff directory", len(pending))
    return len(pending)


async def _create_clinic(
    uow: GatewayWork, clinic: NewClinic, admin: NewStaff, *, extra_permissions: tuple[str, ...] = ()
) -> tuple[Tenant, User]:
    repo = uow.identity
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
    for name, permissions in BUILTIN_ROLES.items():
        await repo.add_role(Role(new_id(), tenant.id, name, "", permissions, True, now))
    await _add_user(uow, user)
    return tenant, user


async def bootstrap(uow_factory: GatewayWorkFactory, *, email: str, password: str, clinic: NewClinic) -> bool:
    """On first start, create the first clinic and its admin (who may also open new clinics)."""
    async with uow_factory() as uow:
        repo = uow.identity
        await repo.lock_bootstrap()
        if await repo.tenant_count():
            return False
        await _create_clinic(
            uow,
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
    roles = await role_map(repo, user.tenant_id)
    access = signer.access_token(claims_of(principal_of(user, tenant, roles)), policy.access_ttl)
    return TokenPair(access, refresh, "bearer", policy.access_ttl)


async def login(
    uow_factory: GatewayWorkFactory,
    signer: security.SigningKey,
    limiter: RateLimiter,
    policy: TokenPolicy,
    *,
    email: str,
    password: str,
    client_ip: str,
) -> TokenPair:
    # Failures are counted per account and per address; a success clears the account's count.
    account = f"login:{email.strip().lower()[:254]}"
    address = f"login-ip:{client_ip}"
    await limiter.check(account, limit=policy.login_limit)
    await limiter.check(address, limit=policy.login_limit * 5)
    async with uow_factory() as uow:
        repo = uow.identity
        user = await repo.user_by_email(email.strip())
        try:
            if not security.verify_password(user.password_hash if user else None, password) or user is None:
                raise InvalidCredentials("Wrong e-mail or password.")
            if not user.active:
                raise InvalidCredentials("This account is disabled; ask your clinic's admin.")
        except InvalidCredentials:
            await limiter.failed(account, window_seconds=policy.login_window)
            await limiter.failed(address, window_seconds=policy.login_window)
            raise
        pair = await _issue(repo, signer, policy, user)
        await uow.commit()
    await limiter.reset(account)
    return pair


async def refresh(
    uow_factory: GatewayWorkFactory, signer: security.SigningKey, policy: TokenPolicy, refresh_token: str
) -> TokenPair:
    now = datetime.now(UTC)
    async with uow_factory() as uow:
        repo = uow.identity
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


async def me(uow_factory: GatewayWorkFactory, principal: Principal) -> tuple[User, Tenant, frozenset[str]]:
    async with uow_factory() as uow:
        repo = uow.identity
        user = await repo.user(principal.user_id)
        tenant = await repo.tenant(principal.tenant_id)
        roles = await role_map(repo, principal.tenant_id)
    if user is None or tenant is None:
        raise InvalidCredentials("This account no longer exists.")
    return user, tenant, user.permissions_with(roles)


async def create_clinic(uow_factory: GatewayWorkFactory, clinic: NewClinic, admin: NewStaff) -> tuple[Tenant, User]:
    async with uow_factory() as uow:
        tenant, user = await _create_clinic(uow, clinic, admin)
        await uow.commit()
    return tenant, user


async def _units(repo: IdentityRepository, tenant_id: str) -> dict[str, Unit]:
    return {u.id: u for u in await repo.units_of(tenant_id)}


async def add_staff(uow_factory: GatewayWorkFactory, principal: Principal, staff: NewStaff) -> User:
    email = normalise_email(staff.email)
    check_password(staff.password)
    async with uow_factory() as uow:
        repo = uow.identity
        if await repo.email_taken(email):
            raise Conflict(f"An account with e-mail {email} already exists.", field="email")
        units = await _units(repo, principal.tenant_id)
        user = User(
            id=new_id(),
            tenant_id=principal.tenant_id,
            email=email,
            full_name=staff.full_name.strip(),
            password_hash=security.hash_password(staff.password),
            roles=check_roles(staff.roles, await role_map(repo, principal.tenant_id)),
            extra_permissions=(),
            active=True,
            created_at=datetime.now(UTC),
            section_ids=check_units(staff.section_ids, units, kind="section", field_name="section_ids"),
            department_ids=check_units(staff.department_ids, units, kind="department", field_name="department_ids"),
        )
        await _add_user(uow, user)
        await _audit(
            repo, principal, user.tenant_id, "staff", user.id, "created", diff({}, _staff_view(user)), user.created_at
        )
        await uow.commit()
    return user


def _staff_view(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "full_name": user.full_name,
        "roles": list(user.roles),
        "active": user.active,
        "section_ids": list(user.section_ids),
        "department_ids": list(user.department_ids),
    }


#: What an admin may change on a staff account (the e-mail and password are the member's own).
STAFF_FIELDS = ("full_name", "roles", "section_ids", "department_ids", "active")


async def update_staff(
    uow_factory: GatewayWorkFactory, principal: Principal, user_id: str, changes: dict[str, Any]
) -> User:
    """Edit a member; the directory hears `staff.updated`, or `staff.deactivated` when the account is disabled."""
    at = datetime.now(UTC)
    async with uow_factory() as uow:
        repo = uow.identity
        before = await repo.user_of(principal.tenant_id, user_id, for_update=True)
        if before is None:
            raise NotFound(f"No staff member {user_id} in this clinic.")
        values: dict[str, Any] = {}
        if "full_name" in changes:
            name = " ".join(str(changes["full_name"]).split())
            if not name:
                raise InvalidInput("A name cannot be empty.", field="full_name")
            values["full_name"] = name
        if "roles" in changes:
            values["roles"] = check_roles(changes["roles"], await role_map(repo, principal.tenant_id))
        units = await _units(repo, principal.tenant_id)
        for key, kind in (("section_ids", "section"), ("department_ids", "department")):
            if key in changes:
                values[key] = check_units(changes[key], units, kind=kind, field_name=key)
        if "active" in changes:
            if changes["active"] is False and user_id == principal.user_id:
                raise Conflict("You cannot deactivate your own account.", field="active")
            values["active"] = bool(changes["active"])
        after = replace(before, **values)
        changed = diff(_staff_view(before), _staff_view(after))
        if not changed:
            return before
        await repo.save_user(after)
        deactivated = before.active and not after.active
        event = _staff_event(StaffDeactivatedV1 if deactivated else StaffUpdatedV1, after, at)
        uow.publish(event, tenant_id=after.tenant_id)
        await _audit(
            repo,
            principal,
            after.tenant_id,
            "staff",
            after.id,
            "deactivated" if deactivated else "updated",
            changed,
            at,
        )
        await uow.commit()
    return after


async def staff_of(uow_factory: GatewayWorkFactory, principal: Principal) -> list[User]:
    async with uow_factory() as uow:
        return await uow.identity.users_of(principal.tenant_id)


# --- roles ----------------------------------------------------------------------------------------
def _role_view(role: Role) -> dict[str, Any]:
    return {"name": role.name, "description": role.description, "permissions": sorted(role.permissions)}


async def list_roles(uow_factory: GatewayWorkFactory, principal: Principal) -> list[Role]:
    async with uow_factory() as uow:
        return await uow.identity.roles_of(principal.tenant_id)


async def create_role(
    uow_factory: GatewayWorkFactory, principal: Principal, *, name: str, description: str, permissions: list[str]
) -> Role:
    role = Role(
        id=new_id(),
        tenant_id=principal.tenant_id,
        name=check_role_name(name),
        description=description.strip(),
        permissions=check_permissions(permissions, role=name),
        builtin=False,
        updated_at=datetime.now(UTC),
    )
    async with uow_factory() as uow:
        repo = uow.identity
        if name in await role_map(repo, principal.tenant_id):
            raise Conflict(f"The clinic already has a role {name!r}.", field="name")
        await repo.add_role(role)
        await _audit(
            repo, principal, role.tenant_id, "role", role.id, "created", diff({}, _role_view(role)), role.updated_at
        )
        await uow.commit()
    return role


async def update_role(
    uow_factory: GatewayWorkFactory, principal: Principal, role_id: str, changes: dict[str, Any]
) -> Role:
    """Description and permissions; holders get the new permissions with their next token (within 15 min)."""
    async with uow_factory() as uow:
        repo = uow.identity
        before = await repo.role(principal.tenant_id, role_id, for_update=True)
        if before is None:
            raise NotFound(f"No role {role_id} in this clinic.")
        after = before
        if "description" in changes:
            after = replace(after, description=str(changes["description"]).strip())
        if "permissions" in changes:
            after = replace(after, permissions=check_permissions(changes["permissions"], role=before.name))
        changed = diff(_role_view(before), _role_view(after))
        if not changed:
            return before
        after = replace(after, updated_at=datetime.now(UTC))
        await repo.save_role(after)
        await _audit(repo, principal, after.tenant_id, "role", after.id, "updated", changed, after.updated_at)
        await uow.commit()
    return after


async def delete_role(uow_factory: GatewayWorkFactory, principal: Principal, role_id: str) -> None:
    async with uow_factory() as uow:
        repo = uow.identity
        role = await repo.role(principal.tenant_id, role_id, for_update=True)
        if role is None:
            raise NotFound(f"No role {role_id} in this clinic.")
        if role.builtin:
            raise Conflict(f"{role.name} is a built-in role: edit its permissions instead.")
        if held := await repo.role_holders(principal.tenant_id, role.name):
            raise Conflict(f"{held} staff member(s) still have the role {role.name}; change their roles first.")
        await repo.delete_role(principal.tenant_id, role_id)
        await _audit(
            repo, principal, role.tenant_id, "role", role.id, "deleted", diff(_role_view(role), {}), datetime.now(UTC)
        )
        await uow.commit()


# --- sections and departments -----------------------------------------------------------------------
def _check_kind(kind: str) -> str:
    if kind not in UNIT_KINDS:
        raise NotFound(f"No such configuration list {kind!r}.")
    return kind


async def list_units(uow_factory: GatewayWorkFactory, principal: Principal, kind: str) -> list[Unit]:
    async with uow_factory() as uow:
        return await uow.identity.units_of(principal.tenant_id, _check_kind(kind))


async def create_unit(uow_factory: GatewayWorkFactory, principal: Principal, kind: str, name: str) -> Unit:
    unit = Unit(new_id(), principal.tenant_id, _check_kind(kind), check_unit_name(name), True, datetime.now(UTC))
    async with uow_factory() as uow:
        repo = uow.identity
        if await repo.unit_name_taken(unit.tenant_id, kind, unit.name):
            raise Conflict(f"The clinic already has a {kind} named {unit.name!r}.", field="name")
        await repo.add_unit(unit)
        await _audit(
            repo,
            principal,
            unit.tenant_id,
            kind,
            unit.id,
            "created",
            {"name": [None, unit.name], "active": [None, True]},
            unit.updated_at,
        )
        await uow.commit()
    return unit


async def update_unit(
    uow_factory: GatewayWorkFactory, principal: Principal, kind: str, unit_id: str, changes: dict[str, Any]
) -> Unit:
    async with uow_factory() as uow:
        repo = uow.identity
        before = await repo.unit(principal.tenant_id, unit_id, for_update=True)
        if before is None or before.kind != _check_kind(kind):
            raise NotFound(f"No {kind} {unit_id} in this clinic.")
        after = before
        if "name" in changes:
            after = replace(after, name=check_unit_name(str(changes["name"])))
            if await repo.unit_name_taken(after.tenant_id, kind, after.name, other_than=unit_id):
                raise Conflict(f"The clinic already has a {kind} named {after.name!r}.", field="name")
        if "active" in changes:
            after = replace(after, active=bool(changes["active"]))
        changed = diff({"name": before.name, "active": before.active}, {"name": after.name, "active": after.active})
        if not changed:
            return before
        after = replace(after, updated_at=datetime.now(UTC))
        await repo.save_unit(after)
        await _audit(repo, principal, after.tenant_id, kind, after.id, "updated", changed, after.updated_at)
        await uow.commit()
    return after


async def delete_unit(uow_factory: GatewayWorkFactory, principal: Principal, kind: str, unit_id: str) -> None:
    async with uow_factory() as uow:
        repo = uow.identity
        unit = await repo.unit(principal.tenant_id, unit_id, for_update=True)
        if unit is None or unit.kind != _check_kind(kind):
            raise NotFound(f"No {kind} {unit_id} in this clinic.")
        if members := await repo.unit_members(principal.tenant_id, unit_id):
            raise Conflict(f"{members} staff member(s) belong to it; move them first, or deactivate it.")
        await repo.delete_unit(principal.tenant_id, unit_id)
        await _audit(
            repo, principal, unit.tenant_id, kind, unit.id, "deleted", {"name": [unit.name, None]}, datetime.now(UTC)
        )
        await uow.commit()


async def audit_trail(
    uow_factory: GatewayWorkFactory,
    principal: Principal,
    *,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEntry], int]:
    async with uow_factory() as uow:
        return await uow.identity.audit_of(
            principal.tenant_id, entity=entity, entity_id=entity_id, limit=limit, offset=offset
        )


async def record_read(
    uow_factory: GatewayWorkFactory, principal: Principal, kind: str, record_id: str, purpose: str | None, path: str
) -> None:
    """The read audit (docs/privacy.md): a staff member opened a personal record through the gateway."""
    async with uow_factory() as uow:
        uow.publish(
            RecordReadV1(
                read_id=new_id(),
                actor_id=principal.user_id,
                record_kind=kind,
                record_id=record_id,
                purpose=purpose,
                path=path,
                at=datetime.now(UTC),
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
