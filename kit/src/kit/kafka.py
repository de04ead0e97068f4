"""How every Kafka client of a service connects: the bootstrap servers plus the listener's security.

The local stack's broker (Tansu) listens in plain text; production's Strimzi cluster has a TLS listener with
SCRAM-SHA-512 users (deploy/k8s/base/infra/kafka.yaml, kafka-users.yaml). One `KafkaConnection` built from the
settings goes to the producer, the consumers, the admin client, the relay and the DLQ tool, so no client can
be left in plain text by mistake.
"""

from __future__ import annotations

import ssl
from typing import Any

import msgspec
from aiokafka.helpers import create_ssl_context

from kit.settings import ServiceSettings

#: The listener protocols a ClinicFlow client may use (Kafka's own names).
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
#: SCRAM is what Strimzi's `scram-sha-512` authentication gives each KafkaUser; PLAIN is for brokers behind
#: a TLS-terminating proxy that accept nothing better.
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


class KafkaSettingsError(ValueError):
    """The security settings cannot work together; raised at start-up, never on the first send."""


class KafkaConnection(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: str = ""
    #: The cluster CA (Strimzi's `<cluster>-cluster-ca-cert` Secret, key `ca.crt`); empty: the system's CAs.
    ssl_cafile: str = ""

    def __post_init__(self) -> None:
        if not self.bootstrap.strip():
            raise KafkaSettingsError("kafka_bootstrap_servers is empty")
        if self.security_protocol not in PROTOCOLS:
            raise KafkaSettingsError(
                f"kafka_security_protocol must be one of {', '.join(PROTOCOLS)}, not {self.security_protocol!r}"
            )
        if self.uses_sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise KafkaSettingsError(
                    f"kafka_sasl_mechanism must be one of {', '.join(MECHANISMS)}, not {self.sasl_mechanism!r}"
                )
            if not self.sasl_username or not self.sasl_password:
                raise KafkaSettingsError(
                    f"kafka_sasl_username and kafka_sasl_password are required with {self.security_protocol}"
                )
        elif self.sasl_username or self.sasl_password:
            raise KafkaSettingsError(
                f"a SASL user is set but kafka_security_protocol is {self.security_protocol}: "
                "use SASL_SSL (or SASL_PLAINTEXT) so the credentials are sent"
            )
        if self.ssl_cafile and not self.uses_tls:
            raise KafkaSettingsError(f"kafka_ssl_cafile is set but {self.security_protocol} does not use TLS")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        try:
            context: ssl.SSLContext = create_ssl_context(cafile=self.ssl_cafile or None)
        except (OSError, ssl.SSLError) as exc:
            raise KafkaSettingsError(f"kafka_ssl_cafile {self.ssl_cafile!r} cannot be read: {exc}") from exc
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for every aiokafka client (producer, consumer, admin)."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol}
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.uses_sasl:
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        return options


def from_settings(settings: ServiceSettings) -> KafkaConnection:
    try:
        connection = KafkaConnection(
            bootstrap=settings.kafka_bootstrap_servers,
            security_protocol=settings.kafka_security_protocol.upper(),
            sasl_mechanism=settings.kafka_sasl_mechanism.upper(),
            sasl_username=settings.kafka_sasl_username,
            sasl_password=settings.kafka_sasl_password,
            ssl_cafile=settings.kafka_ssl_cafile,
        )
        connection.ssl_context()  # an unreadable CA fails the start, not the first send
    except KafkaSettingsError as exc:
        raise SystemExit(f"invalid Kafka settings: {exc}") from exc
    return connection


def plain(bootstrap: str) -> KafkaConnection:
    return KafkaConnection(bootstrap=bootstrap)


def connection_options(connection: str | KafkaConnection) -> dict[str, Any]:
    """A bare bootstrap string (tests, the local stack's tools) means a plain-text listener."""
    return (plain(connection) if isinstance(connection, str) else connection).client_options()
