"""A browser opening a patient link gets its page; every other client (and the page's own fetch) the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.pages import patient_page, patient_router

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/public/payments/pay", "pay"),
        ("/public/payments/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/done", "pay"),
        ("/public/scheduling/booking", "book"),
        ("/public/scheduling/confirm", "confirm"),
        ("/public/scheduling/reschedule", "reschedule"),
        ("/public/scheduling/anamnesis", "anamnesis"),
        ("/public/forms/site-abc_1", "lead-form"),
        ("/public/funnel/quotes", "quote"),
        ("/public/funnel/photos", "photos"),
    ],
)
def test_a_browser_navigating_to_a_patient_link_gets_its_page(path: str, page: str) -> None:
    assert patient_page("GET", path, BROWSER) == page


@pytest.mark.parametrize(
    ("method", "path", "accept"),
    [
        ("GET", "/public/scheduling/confirm", "application/json"),  # the page's own fetch, and API clients
        ("GET", "/public/scheduling/confirm", "*/*"),  # curl, httpx
        ("POST", "/public/scheduling/confirm", BROWSER),  # the confirmation itself
        ("GET", "/public/scheduling/calendar.ics", BROWSER),  # the file, not a page
        ("GET", "/public/scheduling/booking/slots", BROWSER),
        ("GET", "/public/payments/not-a-uuid/done", BROWSER),
        ("GET", "/webhooks/payments/mercadopago", BROWSER),
        ("PUT", "/public/funnel/photos/front", BROWSER),  # the upload itself
        ("GET", "/public/funnel/photos/front", BROWSER),
    ],
)
def test_everything_else_reaches_the_api(method: str, path: str, accept: str) -> None:
    assert patient_page(method, path, accept) is None


def test_the_patient_files_are_public_at_p_only_when_built(tmp_path: Path) -> None:
    assert patient_router(str(tmp_path / "missing")) == []
    assert patient_router("") == []
    [handler] = patient_router(str(tmp_path))
    assert handler.paths == {"/p/{name:path}"}
    assert handler.opt.get("exclude_from_auth") is True  # the JWT middleware skips it (the files hold no data)


def test_the_files_are_compressed_and_hashed_assets_cached_for_good(tmp_path: Path) -> None:
    import gzip

    from litestar import Litestar
    from litestar.testing import TestClient

    (tmp_path / "assets").mkdir()
    script = "export const x = 1;\n" * 200
    (tmp_path / "assets" / "pay-abc.js").write_text(script)
    (tmp_path / "pay.html").write_text("<!doctype html><title>Pay</title>")
    (tmp_path.parent / "secret.txt").write_text("no")
    with TestClient(Litestar(route_handlers=patient_router(str(tmp_path)))) as client:
        answer = client.get("/p/assets/pay-abc.js", headers={"accept-encoding": "gzip"})
        assert answer.status_code == 200
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.text == script  # the client undid the gzip
        assert "immutable" in answer.headers["cache-control"]
        assert answer.headers["content-type"].startswith("text/javascript")
        assert client.get("/p/pay.html").headers["cache-control"] == "no-cache"
        plain = client.get("/p/assets/pay-abc.js", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert len(gzip.compress(script.encode())) < len(script)
        assert client.get("/p/../secret.txt").status_code == 404
        assert client.get("/p/%2e%2e/secret.txt").status_code == 404
        assert client.get("/p/assets/missing.js").status_code == 404
