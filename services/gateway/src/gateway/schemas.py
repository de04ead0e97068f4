"""HTTP bodies of the gateway."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from kit.inputs import Uuid

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, examples=["admin@clinicflow.local"])]


class LoginIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class RefreshIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=10, max_length=200)]


class TenantOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    country: str
    locale: str
    timezone: str


class MeOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    full_name: str
    roles: list[str]
    permissions: list[str]
    tenant: TenantOut


RoleName = Annotated[str, msgspec.Meta(min_length=1, max_length=40, examples=["sales_agent"])]
Ids = Annotated[list[Uuid], msgspec.Meta(max_length=50)]
UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType


class StaffIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    #: Names of the clinic's roles (GET /api/v1/identity/roles).
    roles: Annotated[list[RoleName], msgspec.Meta(max_length=20)]
    section_ids: Ids = []
    department_ids: Ids = []


class StaffPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields sent change; `active: false` disables the account (it can no longer log in)."""

    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    roles: Annotated[list[RoleName], msgspec.Meta(max_length=20)] | UnsetType = UNSET
    section_ids: Ids | UnsetType = UNSET
    department_ids: Ids | UnsetType = UNSET
    active: bool | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class StaffOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    full_name: str
    roles: list[str]
    active: bool
    created_at: datetime
    section_ids: list[str]
    department_ids: list[str]


class PermissionOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str


class RoleIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: 2-40 lower-case letters, digits or '_'; fixed once created (staff refer to it).
    name: RoleName
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""
    permissions: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=50)]


class RolePatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    description: Annotated[str, msgspec.Meta(max_length=500)] | UnsetType = UNSET
    permissions: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=50)] | UnsetType
    ) = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class RoleOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str
    permissions: list[str]
    #: Seeded for every clinic; editable, not deletable.
    builtin: bool
    updated_at: datetime


class UnitIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120, examples=["Recepção"])]


class UnitPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class UnitOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    active: bool
    updated_at: datetime


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    entity: str
    entity_id: str
    action: str
    actor_id: str | None
    changes: dict[str, list[Any]]
    at: datetime | None


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


class ClinicIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    country: str = "BR"
    locale: str = "pt-BR"
    timezone: str = "America/Sao_Paulo"
    admin: StaffIn


class ClinicOut(msgspec.Struct, frozen=True, kw_only=True):
    tenant: TenantOut
    admin: StaffOut
