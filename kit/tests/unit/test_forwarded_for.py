"""Which address a request comes from: X-Forwarded-For is trusted only as far as the configured proxy hops."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request, get
from litestar.testing import create_test_client

from kit.web import client_ip

PEER = "testclient"  # the peer address Litestar's test client reports


def seen(proxy_hops: int, headers: list[tuple[str, str]]) -> str:
    @get("/ip", sync_to_thread=False)
    def ip(request: Request[Any, Any, Any]) -> str:
        return client_ip(request, proxy_hops)

    with create_test_client([ip]) as client:
        return client.get("/ip", headers=headers).text


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert seen(0, [("x-forwarded-for", "6.6.6.6")]) == PEER


def test_one_trusted_proxy_takes_the_address_it_appended() -> None:
    # The client forged "6.6.6.6"; the ingress appended the address it really saw.
    assert seen(1, [("x-forwarded-for", "6.6.6.6, 203.0.113.7")]) == "203.0.113.7"


def test_two_trusted_proxies_count_from_the_right() -> None:
    # ingress appends the client, the gateway appends the ingress: the client is second from the right.
    assert seen(2, [("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.5")]) == "203.0.113.7"


def test_several_headers_are_one_chain() -> None:
    assert seen(1, [("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.7")]) == "203.0.113.7"


@pytest.mark.parametrize("header", ["", " , ,", None])
def test_a_missing_or_empty_header_falls_back_to_the_peer(header: str | None) -> None:
    assert seen(1, [("x-forwarded-for", header)] if header is not None else []) == PEER


def test_a_chain_shorter_than_the_hops_gives_its_leftmost_address() -> None:
    assert seen(3, [("x-forwarded-for", "203.0.113.7, 10.0.0.5")]) == "203.0.113.7"


def test_an_overlong_value_is_cut() -> None:
    assert len(seen(1, [("x-forwarded-for", "9" * 500)])) == 64
