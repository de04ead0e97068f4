"""JSON logs with service, tenant and correlation id on every line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

from kit import context, tracing


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, var in (
            ("correlation_id", context.correlation_id),
            ("tenant_id", context.tenant_id),
            ("causation_id", context.causation_id),
        ):
            value = var.get()
            if value:
                entry[key] = value
        if ids := tracing.current_ids():
            entry["trace_id"], entry["span_id"] = ids
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry).decode()


def setup(service: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "httpx", "sqlalchemy.engine", "granian.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def fields(**values: Any) -> dict[str, Any]:
    """`log.info("...", extra=fields(lead_id=...))` adds structured fields to the JSON line."""
    return {"fields": values}
