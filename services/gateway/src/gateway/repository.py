"""The only module of the gateway that builds queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import RefreshToken, Tenant, User
from gateway.models import refresh_tokens, tenants, users


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
            )
        )

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
