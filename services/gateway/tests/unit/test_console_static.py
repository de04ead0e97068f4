"""The gateway serves the built console at / only when it is there."""

from __future__ import annotations

from pathlib import Path

from gateway.app import console_router


def test_no_console_router_without_a_build(tmp_path: Path) -> None:
    assert console_router(str(tmp_path / "missing")) == []
    assert console_router("") == []


def test_console_router_is_public_and_revalidated(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>ClinicFlow</title>")
    [router] = console_router(str(tmp_path))
    assert router.path == "/"
    assert router.opt.get("exclude_from_auth") is True  # the JWT middleware skips it (the files hold no data)
    assert router.cache_control is not None
    assert router.cache_control.no_cache
