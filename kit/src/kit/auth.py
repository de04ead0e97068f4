"""Staff tokens: verification of the gateway's EdDSA JWTs against its JWKS.

See docs/architecture.md, "Identity, tokens and tenancy".
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import msgspec

from contracts import claims
from contracts.claims import AUDIENCE, ISSUER

#: kit reads tokens with the claims of contracts.claims; services import the permission names from there.
__all__ = ["AUDIENCE", "ISSUER"]

ALGORITHM = "EdDSA"
#: Verified access tokens a process remembers (one per signed-in user and device is plenty).
VERIFIED_CACHE_SIZE = 10_000


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    tenant_id: str
    email: str
    permissions: frozenset[str]
    roles: tuple[str, ...] = ()
    #: ISO 3166 country of the clinic; phones are parsed with it as the default region.
    country: str = claims.DEFAULT_COUNTRY
    locale: str = claims.DEFAULT_LOCALE
    timezone: str = claims.DEFAULT_TIMEZONE

    def has(self, permission: str) -> bool:
        return permission in self.permissions


class AuthError(Exception):
    """The token is missing, malformed, expired or not signed by a known key."""


def claims_of(principal: Principal) -> dict[str, Any]:
    return {
        claims.SUBJECT: principal.user_id,
        claims.TENANT: principal.tenant_id,
        claims.EMAIL: principal.email,
        claims.PERMISSIONS_CLAIM: sorted(principal.permissions),
        claims.ROLES: list(principal.roles),
        claims.COUNTRY: principal.country,
        claims.LOCALE: principal.locale,
        claims.TIMEZONE: principal.timezone,
    }


def principal_from_claims(token: dict[str, Any]) -> Principal:
    try:
        return Principal(
            user_id=token[claims.SUBJECT],
            tenant_id=token[claims.TENANT],
            email=token.get(claims.EMAIL, ""),
            permissions=frozenset(token.get(claims.PERMISSIONS_CLAIM, ())),
            roles=tuple(token.get(claims.ROLES, ())),
            country=token.get(claims.COUNTRY, claims.DEFAULT_COUNTRY),
            locale=token.get(claims.LOCALE, claims.DEFAULT_LOCALE),
            timezone=token.get(claims.TIMEZONE, claims.DEFAULT_TIMEZONE),
        )
    except KeyError as exc:
        raise AuthError(f"token lacks the {exc.args[0]!r} claim") from exc


class JwksVerifier:
    """Verifies access tokens with keys fetched from the gateway's JWKS, cached.

    An unknown `kid` triggers one refetch (at most every 10 s), so key rotation needs no restart.
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        ttl: float = 300.0,
        client: httpx.AsyncClient | None = None,
        cache_size: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        self.jwks_url = jwks_url
        self.ttl = ttl
        self._client = client
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        # Tokens already verified, with their expiry: a client sends the same token on every request for its
        # whole lifetime, and an EdDSA check plus claim parsing is most of the CPU a proxied request costs.
        # Access tokens cannot be revoked before they expire (refresh tokens can), so the answer cannot change
        # until then; new keys (rotation) empty it. Bounded: the oldest entry goes first.
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._cache_size = cache_size

    def set_keys(self, jwks: dict[str, Any]) -> None:
        self._keys = {k["kid"]: jwt.PyJWK(k).key for k in jwks.get("keys", [])}
        self._fetched_at = time.monotonic()
        self._verified.clear()

    async def _refresh(self) -> None:
        client = self._client or httpx.AsyncClient(timeout=5.0)
        try:
            response = await client.get(self.jwks_url)
            response.raise_for_status()
            self.set_keys(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthError(f"cannot fetch signing keys: {exc}") from exc
        finally:
            if self._client is None:
                await client.aclose()

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, expires_at = known
            if time.time() < expires_at and time.monotonic() - self._fetched_at <= self.ttl:
                return principal
            del self._verified[token]
        principal, expires_at = await self._verify(token)
        if self._cache_size > 0:
            if len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (principal, expires_at)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise AuthError("malformed token") from exc
        stale = time.monotonic() - self._fetched_at > self.ttl
        if stale or (kid not in self._keys and time.monotonic() - self._fetched_at > 10):
            await self._refresh()
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise AuthError("token signed by an unknown key")
        try:
            decoded = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        if decoded.get("typ") != "access":
            raise AuthError("not an access token")
        return principal_from_claims(decoded), float(decoded["exp"])
