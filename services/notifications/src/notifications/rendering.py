"""Clinic templates are Jinja2 in a sandbox: staff write them, so they must not reach Python.

A template renders once per channel of its rule: WhatsApp gets reply buttons (or, outside the 24-hour
window, the approved template's parameters), SMS and e-mail get the buttons' links as text, e-mail and
in-app get a subject.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from notifications.catalog import TEMPLATES
from notifications.domain import EMAIL, INAPP, SMS, TELEGRAM, WHATSAPP, InvalidTemplate, zone

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
#: Every template gets these.
VARIABLES = ("name", "first_name")
MAX_BODY = 4096
#: WhatsApp interactive bodies hold 1024 characters, button titles 20, three buttons at most.
MAX_INTERACTIVE_BODY, MAX_BUTTON_TITLE, MAX_BUTTONS = 1024, 20, 3

#: Sample values for the preview and for checking a template when it is saved.
SAMPLES: dict[str, Any] = {
    "name": "Maria Souza",
    "first_name": "Maria",
    "phone": "+5511987654321",
    "email": "maria@example.com",
    "amount": "350.00",
    "currency": "BRL",
    "description": "Avaliação capilar",
    "url": "https://clinic.example/public/payments/pay?token=abc123",
    "checkout_url": "https://pay.example/l/abc123",
    "expires_date": "05/12/2026",
    "method": "pix",
    "paid_date": "01/12/2026",
    "receipt_url": "https://pay.example/r/abc123",
    "procedure_name": "Limpeza de pele",
    "professional_name": "Dra. Ana Lima",
    "branch_name": "Moema",
    "branch_address": "Av. Ibirapuera, 2000",
    "date": "05/12/2026",
    "time": "10:00",
    "ics_url": "https://clinic.example/p/ics/abc",
    "confirm_url": "https://clinic.example/p/confirm/abc",
    "reschedule_url": "https://clinic.example/p/reschedule/abc",
    "via": "whatsapp",
    "anamnesis_url": "https://clinic.example/p/anamnesis/abc",
    "status": "QUALIFIED",
    "source": "instagram",
}


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


def variables_of(template: str) -> tuple[str, ...]:
    """What a template may use: its event's variables, or every known one for a clinic's own template."""
    spec = TEMPLATES.get(template)
    return spec.variables if spec else tuple(SAMPLES)


def used_variables(*sources: str | None) -> tuple[str, ...]:
    """The variables these texts use (each once, sorted): what has to have a value for them to render."""
    found: set[str] = set()
    for source in sources:
        if not source:
            continue
        try:
            found |= meta.find_undeclared_variables(_env.parse(source))
        except TemplateError as exc:
            raise InvalidTemplate(f"The template cannot be read: {exc}", field="template") from exc
    return tuple(sorted(found))


def wa_params_of(template: str) -> tuple[str, ...]:
    """The approved WhatsApp template's body parameters, in order (a clinic's own: the first name)."""
    spec = TEMPLATES.get(template)
    return spec.wa_params if spec else ("first_name",)


def sample_values(template: str) -> dict[str, Any]:
    return {name: SAMPLES.get(name, name) for name in variables_of(template)}


def validate(source: str, template: str | None = None, *, field: str = "body") -> None:
    """Render with sample values so a broken template is refused when saved, not when sent."""
    if not source.strip():
        raise InvalidTemplate("The template must not be empty.", field=field)
    if len(source) > MAX_BODY:
        raise InvalidTemplate("WhatsApp text messages hold at most 4096 characters.", field=field)
    try:
        render(source, sample_values(template) if template else {"name": "Maria Souza", "first_name": "Maria"})
    except InvalidTemplate as exc:
        raise InvalidTemplate(str(exc), field=field) from exc


_DATE = {"pt-BR": "%d/%m/%Y", "es": "%d/%m/%Y", "ru": "%d.%m.%Y", "en": "%d %b %Y"}


def local_date(when: datetime | None, tz: str | None, locale: str) -> str | None:
    return when.astimezone(zone(tz)).strftime(_DATE.get(locale, "%d/%m/%Y")) if when else None


def local_time(when: datetime | None, tz: str | None) -> str | None:
    return when.astimezone(zone(tz)).strftime("%H:%M") if when else None


def for_channel(
    channel: str,
    *,
    template: str,
    locale: str,
    body_source: str,
    subject_source: str | None,
    values: dict[str, Any],
    actions: list[dict[str, str]],
    wa_template: str | None,
) -> dict[str, Any]:
    """What the channel adapter sends: body (+ subject, buttons, approved-template parameters)."""
    body = render(body_source, values)
    out: dict[str, Any] = {"body": body}
    spec = TEMPLATES.get(template)
    titles = spec.buttons if spec else {}
    buttons = [
        {
            "id": a["id"],
            "title": titles.get(a["kind"], {}).get(locale, a["kind"].title())[:MAX_BUTTON_TITLE],
            "url": a.get("url", ""),
        }
        for a in actions[:MAX_BUTTONS]
    ]
    if channel in (WHATSAPP, TELEGRAM):
        out["buttons"] = [{"id": b["id"], "title": b["title"]} for b in buttons]
        if channel == WHATSAPP and buttons and len(body) > MAX_INTERACTIVE_BODY:
            out["body"] = body[: MAX_INTERACTIVE_BODY - 1] + "…"
    elif buttons and channel in (SMS, EMAIL):
        out["body"] = body + "".join(f"\n{b['title']}: {b['url']}" for b in buttons if b["url"])
    if channel == WHATSAPP and wa_template:
        params = [str(values.get(p) or "-") for p in wa_params_of(template)]
        out["wa"] = {"name": wa_template, "language": locale.replace("-", "_"), "params": params}
    if channel in (EMAIL, INAPP):
        out["subject"] = render(subject_source, values) if subject_source else body[:80]
    return out
