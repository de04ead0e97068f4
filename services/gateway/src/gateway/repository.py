"""The only module of the gateway that builds queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import AuditEntry, RefreshToken, Role, Tenant, Unit, User
from gateway.models import audit_log, refresh_tokens, roles, tenants, units, users


def _user(row: Any) -> User:
    return User(
        id=row.id,
        tenant_id=row.tenant_id,
        email=row.email,
        full_name=row.full_name,
        password_hash=row.password_hash,
        roles=tuple(row.roles),
        extra_permissions=tuple(row.extra_permissions),
        active=row.active,
        created_at=row.created_at,
        section_ids=tuple(row.section_ids),
        department_ids=tuple(row.department_ids),
    )


def _role(row: Any) -> Role:
    return Role(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        description=row.description,
        permissions=frozenset(row.permissions),
        builtin=row.builtin,
        updated_at=row.updated_at,
    )


def _unit(row: Any) -> Unit:
    return Unit(
        id=row.id, tenant_id=row.tenant_id, kind=row.kind, name=row.name, active=row.active, updated_at=row.updated_at
    )


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_bootstrap(self) -> None:
        """Serialises first-start bootstrap across gateway replicas (released at commit)."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(7301)"))

    async def tenant_count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(tenants))).scalar_one())

    async def add_tenant(self, tenant: Tenant) -> None:
        await self.session.execute(
            tenants.insert().values(
                id=tenant.id,
                name=tenant.name,
                country=tenant.country,
                locale=tenant.locale,
                timezone=tenant.timezone,
                created_at=tenant.created_at,
            )
        )

    async def tenant(self, tenant_id: str) -> Tenant | None:
        row = (await self.session.execute(select(tenants).where(tenants.c.id == tenant_id))).first()
        return Tenant(**row._asdict()) if row else None

    async def add_user(self, user: User) -> None:
        await self.session.execute(
            users.insert().values(
                id=user.id,
                tenant_id=user.tenant_id,
                email=user.email,
                full_name=user.full_name,
                password_hash=user.password_hash,
                roles=list(user.roles),
                extra_permissions=list(user.extra_permissions),
                active=user.active,
                created_at=user.created_at,
                announced=True,  # its directory event is queued in the same transaction
                section_ids=list(user.section_ids),
                department_ids=list(user.department_ids),
            )
        )

    async def save_user(self, user: User) -> None:
        await self.session.execute(
            update(users)
            .where(users.c.id == user.id, users.c.tenant_id == user.tenant_id)
            .values(
                full_name=user.full_name,
                roles=list(user.roles),
                active=user.active,
                section_ids=list(user.section_ids),
                department_ids=list(user.department_ids),
            )
        )

    async def user_of(self, tenant_id: str, user_id: str, *, for_update: bool = False) -> User | None:
        query = select(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return _user(row) if row else None

    # --- roles ---------------------------------------------------------------------------------
    async def add_role(self, role: Role) -> None:
        await self.session.execute(
            roles.insert().values(
                id=role.id,
                tenant_id=role.tenant_id,
                name=role.name,
                description=role.description,
                permissions=sorted(role.permissions),
                builtin=role.builtin,
                updated_at=role.updated_at,
            )
        )

    async def save_role(self, role: Role) -> None:
        await self.session.execute(
            update(roles)
            .where(roles.c.id == role.id, roles.c.tenant_id == role.tenant_id)
            .values(description=role.description, permissions=sorted(role.permissions), updated_at=role.updated_at)
        )

    async def delete_role(self, tenant_id: str, role_id: str) -> None:
        await self.session.execute(roles.delete().where(roles.c.tenant_id == tenant_id, roles.c.id == role_id))

    async def roles_of(self, tenant_id: str) -> list[Role]:
        query = select(roles).where(roles.c.tenant_id == tenant_id).order_by(roles.c.builtin.desc(), roles.c.name)
        return [_role(r) for r in (await self.session.execute(query)).all()]

    async def role(self, tenant_id: str, role_id: str, *, for_update: bool = False) -> Role | None:
        query = select(roles).where(roles.c.tenant_id == tenant_id, roles.c.id == role_id)
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return _role(row) if row else None

    async def role_holders(self, tenant_id: str, name: str) -> int:
        query = select(func.count()).where(users.c.tenant_id == tenant_id, users.c.roles.any(name))
        return int((await self.session.execute(query)).scalar_one())

    # --- sections and departments ---------------------------------------------------------------
    async def add_unit(self, unit: Unit) -> None:
        await self.session.execute(
            units.insert().values(
                id=unit.id,
                tenant_id=unit.tenant_id,
                kind=unit.kind,
                name=unit.name,
                active=unit.active,
                updated_at=unit.updated_at,
            )
        )

    async def save_unit(self, unit: Unit) -> None:
        await self.session.execute(
            update(units)
            .where(units.c.id == unit.id, units.c.tenant_id == unit.tenant_id)
            .values(name=unit.name, active=unit.active, updated_at=unit.updated_at)
        )

    async def delete_unit(self, tenant_id: str, unit_id: str) -> None:
        await self.session.execute(units.delete().where(units.c.tenant_id == tenant_id, units.c.id == unit_id))

    async def units_of(self, tenant_id: str, kind: str | None = None) -> list[Unit]:
        query = select(units).where(units.c.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(units.c.kind == kind)
        return [_unit(r) for r in (await self.session.execute(query.order_by(units.c.name))).all()]

    async def unit(self, tenant_id: str, unit_id: str, *, for_update: bool = False) -> Unit | None:
        query = select(units).where(units.c.tenant_id == tenant_id, units.c.id == unit_id)
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return _unit(row) if row else None

    async def unit_name_taken(self, tenant_id: str, kind: str, name: str, *, other_than: str | None = None) -> bool:
        query = select(units.c.id).where(
            units.c.tenant_id == tenant_id, units.c.kind == kind, func.lower(units.c.name) == name.lower()
        )
        if other_than is not None:
            query = query.where(units.c.id != other_than)
        return (await self.session.execute(query)).first() is not None

    async def unit_members(self, tenant_id: str, unit_id: str) -> int:
        query = select(func.count()).where(
            users.c.tenant_id == tenant_id,
            users.c.section_ids.any(unit_id) | users.c.department_ids.any(unit_id),
        )
        return int((await self.session.execute(query)).scalar_one())

    # --- audit ---------------------------------------------------------------------------------
    async def add_audit(self, tenant_id: str, entry: AuditEntry) -> None:
        await self.session.execute(
            audit_log.insert().values(
                tenant_id=tenant_id,
                entity=entry.entity,
                entity_id=entry.entity_id,
                action=entry.action,
                actor_id=entry.actor_id,
                changes=entry.changes,
                at=entry.at,
            )
        )

    async def audit_of(
        self, tenant_id: str, *, entity: str | None, entity_id: str | None, limit: int, offset: int
    ) -> tuple[list[AuditEntry], int]:
        where = [audit_log.c.tenant_id == tenant_id]
        if entity is not None:
            where.append(audit_log.c.entity == entity)
        if entity_id is not None:
            where.append(audit_log.c.entity_id == entity_id)
        total = int((await self.session.execute(select(func.count()).where(*where))).scalar_one())
        query = select(audit_log).where(*where).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
        rows = (await self.session.execute(query)).all()
        return [
            AuditEntry(
                entity=r.entity, entity_id=r.entity_id, action=r.action, actor_id=r.actor_id, changes=r.changes, at=r.at
            )
            for r in rows
        ], total

    async def unannounced_users(self) -> list[User]:
        query = select(users).where(users.c.announced.is_(False)).order_by(users.c.created_at)
        return [_user(r) for r in (await self.session.execute(query)).all()]

    async def mark_announced(self, user_ids: list[str]) -> None:
        if user_ids:
            await self.session.execute(update(users).where(users.c.id.in_(user_ids)).values(announced=True))

    async def email_taken(self, email: str) -> bool:
        query = select(users.c.id).where(func.lower(users.c.email) == email.lower())
        return (await self.session.execute(query)).first() is not None

    async def user_by_email(self, email: str) -> User | None:
        row = (await self.session.execute(select(users).where(func.lower(users.c.email) == email.lower()))).first()
        return _user(row) if row else None

    async def user(self, user_id: str) -> User | None:
        row = (await self.session.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def users_of(self, tenant_id: str) -> list[User]:
        query = select(users).where(users.c.tenant_id == tenant_id).order_by(users.c.created_at)
        return [_user(r) for r in (await self.session.execute(query)).all()]

    async def add_refresh(self, token: RefreshToken, now: datetime) -> None:
        await self.session.execute(
            refresh_tokens.insert().values(
                id=token.id,
                user_id=token.user_id,
                family_id=token.family_id,
                token_hash=token.token_hash,
                expires_at=token.expires_at,
                revoked_at=None,
                created_at=now,
            )
        )

    async def refresh_by_hash(self, token_hash: str) -> RefreshToken | None:
        query = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return RefreshToken(
            id=row.id,
            user_id=row.user_id,
            family_id=row.family_id,
            token_hash=row.token_hash,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )

    async def revoke_refresh(self, token_id: str, now: datetime) -> None:
        await self.session.execute(update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(revoked_at=now))

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self.session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
