"""Password hashing (argon2id) and the EdDSA signing key behind access tokens and the JWKS."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from kit.auth import ALGORITHM, AUDIENCE, ISSUER

_hasher = PasswordHasher()
#: Verified against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_refresh_secret() -> tuple[str, str]:
    """(token for the client, sha256 to store): a stolen database gives no usable tokens."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh(token)


def hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SigningKey:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        public_jwk = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
        thumb = json.dumps({k: public_jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True)
        self.kid = jwt.utils.base64url_encode(hashlib.sha256(thumb.encode()).digest()).decode()  # RFC 7638
        self.public_jwk = {**public_jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    @classmethod
    def load(cls, path: Path, *, generate: bool) -> SigningKey:
        if not path.exists():
            if not generate:
                raise SystemExit(f"no JWT signing key at {path} (set GATEWAY_JWT_PRIVATE_KEY_FILE)")
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            tmp = path.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            # Created 0600 from the start: the private key is never readable by others, even briefly.
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(pem)
            tmp.replace(path)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise SystemExit(f"{path} is not an Ed25519 private key")
        return cls(loaded)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def access_token(self, claims: dict[str, Any], ttl_seconds: int) -> str:
        now = int(time.time())
        payload = {
            **claims,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "typ": "access",
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
