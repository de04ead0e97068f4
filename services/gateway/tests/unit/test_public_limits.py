"""Public paths that take files (the prospects' photos) get their own body limit; the rest keep the default."""

from __future__ import annotations

import pytest

from gateway.api import public_handlers
from gateway.settings import GatewaySettings


def test_the_photo_prefix_takes_more_than_the_default() -> None:
    settings = GatewaySettings()
    assert settings.public_limit_map() == {"public/funnel/photos": 10 * 1024 * 1024}
    assert settings.public_route_map()["public/funnel"] == "funnel"
    handlers = public_handlers({"public/funnel": "funnel", "webhooks/tilda": "leads"}, 256 * 1024, {
        "public/funnel/photos": 10 * 1024 * 1024,
        "public/nowhere": 1,  # a prefix no public route owns is ignored
    })  # fmt: skip
    paths = sorted(p for h in handlers for p in h.paths)
    assert "/public/funnel/photos/{rest:path}" in paths
    assert not [p for p in paths if p.startswith("/public/nowhere")]
    photos = next(h for h in handlers if "/public/funnel/photos" in h.paths)
    assert photos.request_max_body_size is not None
    assert photos.request_max_body_size > 10 * 1024 * 1024


def test_a_malformed_limit_stops_the_start() -> None:
    with pytest.raises(SystemExit, match="prefix=bytes"):
        GatewaySettings(public_body_limits="public/funnel/photos=lots").public_limit_map()
