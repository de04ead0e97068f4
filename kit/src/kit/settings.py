"""Typed settings from the environment; the only module of kit that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)

#: Settings every service may take from an unprefixed variable when its own is unset,
#: so one KAFKA_BOOTSTRAP_SERVERS serves the whole stack.
SHARED = frozenset(
    {
        "kafka_bootstrap_servers",
        "kafka_idempotent_producer",
        "kafka_create_topics",
        "kafka_topic_replication",
        "kafka_security_protocol",
        "kafka_sasl_mechanism",
        "kafka_sasl_username",
        "kafka_sasl_password",
        "kafka_ssl_cafile",
        "kafka_fetch_max_wait_ms",
        "redis_url",
        "jwks_url",
        "link_secret",
        "sealing_keys",
        "personal_keys_url",
        "personal_keys_token",
        "personal_keys_cache_seconds",
        "log_level",
        "log_format",
        "otel_exporter_otlp_endpoint",
        "otel_sample_ratio",
        "objects_endpoint_url",
        "objects_bucket",
        "objects_access_key_id",
        "objects_secret_access_key",
        "objects_region",
        "objects_create_bucket",
    }
)


class ServiceSettings(msgspec.Struct, kw_only=True):
    """What every service needs. Services subclass it with their own fields."""

    database_url: str = ""
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    #: Real Kafka supports the idempotent producer; the Tansu dev broker does not
    #: (docs/architecture.md, "Local infrastructure").
    kafka_idempotent_producer: bool = False
    #: Workers create missing topics at start-up (the local stack); turn off where an operator (Strimzi
    #: KafkaTopic resources) owns them.
    kafka_create_topics: bool = True
    kafka_topic_replication: int = 1
    #: The listener's security (kit/kafka.py): PLAINTEXT locally; SASL_SSL with SCRAM-SHA-512 on Strimzi.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_cafile: str = ""
    #: How long a consumer's fetch waits on the broker for records (kit.messaging.FETCH_MAX_WAIT_MS). Real Kafka
    #: answers a waiting fetch as soon as records come, so 500 there costs no latency and a fifth of the idle
    #: requests; Tansu answers at the end of the wait, so the local stack keeps 100 (a hop's p99 113 vs 320 ms).
    kafka_fetch_max_wait_ms: int = 100
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    link_secret: str = ""
    #: The privacy service's key store (kit.personal): events' personal fields are sealed with per-person keys.
    #: Empty: events go in clear (a service run on its own, its integration tests).
    personal_keys_url: str = ""
    personal_keys_token: str = ""
    #: How long a process keeps a person's key: a shredded key stops opening old events within this time.
    personal_keys_cache_seconds: float = 60.0
    #: The api process's database connections kept open (as many again may open for a burst and close after):
    #: raise it for an api whose requests hold a connection each at high concurrency (webhook ingress),
    #: within the pooler's budget (deploy/k8s).
    db_pool_size: int = 10
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    worker_port: int = 9000
    log_level: str = "INFO"
    log_format: str = "json"
    #: OTLP/HTTP collector (e.g. http://otel-collector:4318); empty: no traces (kit/tracing.py).
    otel_exporter_otlp_endpoint: str = ""
    #: Share of new traces kept (a caller's decision is followed); 1.0 keeps every one.
    otel_sample_ratio: float = 1.0
    outbox_poll_seconds: float = 1.0
    outbox_retention_hours: float = 72.0
    consumer_max_attempts: int = 5
    #: The S3-compatible object store (kit.objects): empty endpoint = AWS S3 of the region.
    objects_endpoint_url: str = ""
    objects_bucket: str = "clinicflow"
    objects_access_key_id: str = ""
    objects_secret_access_key: str = ""
    objects_region: str = "us-east-1"
    #: Create the bucket at start when it is missing (the local stack; production provisions it).
    objects_create_bucket: bool = False


def env_prefix(service: str) -> str:
    return service.upper() + "_"


def load(cls: type[T], prefix: str, environ: Mapping[str, str] | None = None) -> T:
    """Build `cls` from `<PREFIX><FIELD>` variables (falling back to `<FIELD>` for SHARED ones)."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for field in msgspec.structs.fields(cls):
        key = field.name.upper()
        if prefix + key in env:
            values[field.name] = env[prefix + key]
        elif field.name in SHARED and key in env:
            values[field.name] = env[key]
    try:
        return msgspec.convert(values, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid settings ({prefix}*): {exc}") from exc


def environ_get(name: str, default: str = "") -> str:
    """For the dev tooling (stack, test fixtures) that must look at the raw environment."""
    return os.environ.get(name, default)


def environ_copy() -> dict[str, str]:
    return dict(os.environ)
