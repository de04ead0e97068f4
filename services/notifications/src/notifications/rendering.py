"""Clinic templates are Jinja2 in a sandbox: staff write them, so they must not reach Python."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from notifications.domain import InvalidTemplate

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
VARIABLES = ("name", "first_name")


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    """Compiling costs far more than rendering; clinics reuse a handful of texts."""
    return _env.from_string(source)


def render(source: str, values: dict[str, Any]) -> str:
    try:
        return _compiled(source).render(**values).strip()
    except TemplateError as exc:
        raise InvalidTemplate(f"The template cannot be rendered: {exc}", field="body") from exc
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        # Expressions in a staff-written template fail at render time too ({{ 1 / 0 }}, {{ name + 1 }}).
        raise InvalidTemplate(f"The template fails when rendered: {type(exc).__name__}: {exc}", field="body") from exc


def validate(source: str) -> None:
    """Render with sample values so a broken template is refused when saved, not when sent."""
    if not source.strip():
        raise InvalidTemplate("The template must not be empty.", field="body")
    if len(source) > 4096:
        raise InvalidTemplate("WhatsApp text messages hold at most 4096 characters.", field="body")
    render(source, {"name": "Maria Souza", "first_name": "Maria"})
