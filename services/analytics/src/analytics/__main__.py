"""python -m analytics api | worker | migrate | rebuild"""

import sys

from analytics.settings import SERVICE, get_settings
from kit.cli import service_main


def _rebuild() -> None:
    """Empty the projections and replay every topic from its start (docs/analytics.md, "Rebuild")."""
    import asyncio
    import json
    from typing import cast

    from analytics.consumers import replay
    from analytics.services.work import AnalyticsUnitOfWork, AnalyticsWorkFactory
    from kit import personal
    from kit.db import make_engine, uow_factory

    async def run() -> dict[str, dict[str, int]]:
        settings = get_settings()
        engine = make_engine(settings.database_url)
        # The replayed events' personal fields open with the people's keys; an erased person's read as erased.
        cipher = personal.from_settings(
            settings.personal_keys_url, settings.personal_keys_token, settings.personal_keys_cache_seconds
        )
        try:
            return await replay.run(
                settings.kafka_bootstrap_servers,
                cast(AnalyticsWorkFactory, uow_factory(engine, SERVICE, AnalyticsUnitOfWork, cipher)),
                cipher,
            )
        finally:
            if cipher is not None:
                await cipher.close()
            await engine.dispose()

    print(json.dumps(asyncio.run(run()), indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["rebuild"]:
        _rebuild()
    else:
        service_main(SERVICE, get_settings, "analytics.app")
