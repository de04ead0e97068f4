"""kit's Kafka clients over a real TLS listener: the embedded Tansu broker speaks plain text, so it is put behind
a TLS-terminating proxy and advertises the proxy's address; every client (admin, producer, consumer) must then
verify the cluster CA the way it does against Strimzi's TLS listener in production."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contracts import Topic
from devkit.infra import free_port, tansu_binary, wait_for_port
from kit.kafka import KafkaConnection, connection_options
from kit.messaging import ensure_topics, make_producer

pytestmark = pytest.mark.integration


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer.subject if issuer else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A cluster CA and a broker certificate for 127.0.0.1, plus an unrelated CA."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("clinicflow-test-cluster-ca", ca_key, None, ca_key)
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _certificate("broker", broker_key, ca, ca_key)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _certificate("someone-else", other_key, None, other_key)
    files = {"ca": folder / "ca.crt", "other_ca": folder / "other.crt", "cert": folder / "broker.crt"}
    files["ca"].write_bytes(_pem(ca))
    files["other_ca"].write_bytes(_pem(other))
    files["cert"].write_bytes(_pem(broker))
    files["key"] = folder / "broker.key"
    files["key"].write_bytes(
        broker_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


@pytest.fixture(scope="module")
def tls_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """A broker of its own listening on `inner`, advertising the TLS port `outer` (served by the proxy)."""
    inner, outer = free_port(), free_port()
    log = (tmp_path_factory.mktemp("tansu-tls") / "tansu.log").open("wb")
    args = [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{inner}"]
    args += ["--advertised-listener-url", f"tcp://127.0.0.1:{outer}", "--storage-engine", "memory://tansu/"]
    broker = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for_port(inner, 15, "Tansu", broker)
        yield inner, outer
    finally:
        broker.terminate()
        broker.wait(10)
        log.close()


@contextlib.asynccontextmanager
async def tls_proxy(pki: dict[str, Path], listen: int, upstream: int) -> AsyncIterator[None]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki["cert"], pki["key"])

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", upstream)
        await asyncio.gather(pipe(client_reader, broker_writer), pipe(broker_reader, client_writer))

    server = await asyncio.start_server(serve, "127.0.0.1", listen, ssl=context)
    try:
        yield
    finally:
        server.close()


async def test_every_client_speaks_tls_with_the_cluster_ca(pki: dict[str, Path], tls_port: tuple[int, int]) -> None:
    inner, outer = tls_port
    secure = KafkaConnection(bootstrap=f"127.0.0.1:{outer}", security_protocol="SSL", ssl_cafile=str(pki["ca"]))
    topic = Topic("clinicflow.tlscheck.events", 1, "TLS check")
    async with tls_proxy(pki, outer, inner):
        await ensure_topics(secure, (topic,))
        producer = make_producer(secure, idempotent=False, client_id="tls-test")
        await producer.start()
        try:
            await producer.send_and_wait(topic.name, b"over tls", key=b"k")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic.name, **connection_options(secure), auto_offset_reset="earliest")
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 20)
        finally:
            await consumer.stop()
        assert record.value == b"over tls"

        # A client that trusts another CA, or does not use TLS at all, gets nowhere.
        for wrong in (
            KafkaConnection(bootstrap=f"127.0.0.1:{outer}", security_protocol="SSL", ssl_cafile=str(pki["other_ca"])),
            KafkaConnection(bootstrap=f"127.0.0.1:{outer}"),
        ):
            stranger = make_producer(wrong, idempotent=False, client_id="tls-stranger")
            with pytest.raises(KafkaConnectionError):
                await asyncio.wait_for(stranger.start(), 30)
            await stranger.stop()
