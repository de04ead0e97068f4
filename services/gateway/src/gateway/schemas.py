"""HTTP bodies of the gateway."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from contracts import claims

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


class StaffIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    roles: list[str]


class StaffOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    full_name: str
    roles: list[str]
    active: bool
    created_at: datetime


class ClinicIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    country: str = claims.DEFAULT_COUNTRY
    locale: str = claims.DEFAULT_LOCALE
    timezone: str = claims.DEFAULT_TIMEZONE
    admin: StaffIn


class ClinicOut(msgspec.Struct, frozen=True, kw_only=True):
    tenant: TenantOut
    admin: StaffOut
