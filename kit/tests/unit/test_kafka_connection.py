"""The Kafka connection settings: what each listener protocol gives the aiokafka clients, and the clear
start-up errors for settings that cannot work together."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from kit.kafka import KafkaConnection, KafkaSettingsError, connection_options, from_settings
from kit.settings import ServiceSettings, load

pytestmark = pytest.mark.unit


def test_a_bare_bootstrap_string_is_plain_text() -> None:
    assert connection_options("127.0.0.1:9092") == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_with_scram_gives_tls_and_the_user() -> None:
    options = KafkaConnection(
        bootstrap="kafka:9093", security_protocol="SASL_SSL", sasl_username="leads", sasl_password="pw"
    ).client_options()
    assert isinstance(options.pop("ssl_context"), ssl.SSLContext)
    assert options == {
        "bootstrap_servers": "kafka:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "leads",
        "sasl_plain_password": "pw",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"security_protocol": "TLS"}, "kafka_security_protocol must be one of"),
        ({"security_protocol": "SASL_SSL"}, "kafka_sasl_username and kafka_sasl_password are required"),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "u", "sasl_password": "p"},
            "kafka_sasl_mechanism must be one of",
        ),
        ({"sasl_username": "u", "sasl_password": "p"}, "use SASL_SSL"),
        ({"ssl_cafile": "/ca.crt"}, "does not use TLS"),
        ({"bootstrap": " "}, "kafka_bootstrap_servers is empty"),
    ],
)
def test_settings_that_cannot_work_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(KafkaSettingsError, match=message):
        KafkaConnection(**{"bootstrap": "kafka:9093", **fields})


def test_from_settings_reads_the_shared_variables_and_stops_on_a_missing_ca(tmp_path: Path) -> None:
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9093",
        "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "KAFKA_SASL_USERNAME": "payments",
        "PAYMENTS_KAFKA_SASL_PASSWORD": "secret",
    }
    connection = from_settings(load(ServiceSettings, "PAYMENTS_", environ))
    assert (connection.security_protocol, connection.sasl_username, connection.sasl_password) == (
        "SASL_SSL",
        "payments",
        "secret",
    )
    missing = load(ServiceSettings, "PAYMENTS_", {**environ, "KAFKA_SSL_CAFILE": str(tmp_path / "nope.crt")})
    with pytest.raises(SystemExit, match=r"kafka_ssl_cafile .* cannot be read"):
        from_settings(missing)
