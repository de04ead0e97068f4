"""The valuation -> quote process's messages (funnel's contracts.quotes events; docs/quotes.md).

Plain data kept apart from the other flows' so that process can grow on its own: catalog.py turns TEMPLATES into
TemplateSpecs and domain.py RULES into built-in Rules. Staff are addressed by the event's own fields
(`field:agent_id`, `field:doctor_id`: the prospect's agent and the valuation's doctor as funnel knows them) or
by role (every diagnostic doctor).
"""

# ruff: noqa: E501, RUF001 - message texts in four languages

from __future__ import annotations

from typing import Any

_PERSON = ("name", "first_name")
_PATIENT_CHANNELS = ("whatsapp", "sms", "email")
AGENT, DOCTOR = "field:agent_id", "field:doctor_id"


def _person(
    name: str, event: str, variables: tuple[str, ...], texts: dict[str, str], subjects: dict[str, str]
) -> dict[str, Any]:
    return {
        "name": name,
        "event_type": event,
        "audience": "person",
        "variables": (*_PERSON, *variables),
        "texts": texts,
        "subjects": subjects,
    }


def _staff(
    name: str,
    event: str,
    variables: tuple[str, ...],
    texts: dict[str, str],
    subjects: dict[str, str],
    *,
    about_person: bool = True,
) -> dict[str, Any]:
    about = (*_PERSON, "phone") if about_person else ()
    return {
        "name": name,
        "event_type": event,
        "audience": "staff",
        "variables": (*about, *variables),
        "texts": texts,
        "subjects": subjects,
    }


TEMPLATES: tuple[dict[str, Any], ...] = (
    _person(
        "valuation_photos",
        "valuation.opened",
        ("upload_url", "photos_required"),
        {
            "pt-BR": "Olá, {{ first_name }}! Para a sua avaliação capilar precisamos de {{ photos_required }} fotos (frente, topo, coroa, lado esquerdo e direito). Envie por aqui ou pelo link: {{ upload_url }}",
            "es": "¡Hola, {{ first_name }}! Para tu valoración capilar necesitamos {{ photos_required }} fotos (frente, parte superior, coronilla, lado izquierdo y derecho). Envíalas por aquí o en este enlace: {{ upload_url }}",
            "ru": "Здравствуйте, {{ first_name }}! Для оценки нам нужно {{ photos_required }} фото (спереди, сверху, макушка, слева и справа). Пришлите их сюда или по ссылке: {{ upload_url }}",
            "en": "Hello {{ first_name }}! For your hair valuation we need {{ photos_required }} photos (front, top, crown, left and right side). Send them here or through this link: {{ upload_url }}",
        },
        {
            "pt-BR": "Fotos para a sua avaliação",
            "es": "Fotos para tu valoración",
            "ru": "Фото для оценки",
            "en": "Photos for your valuation",
        },
    ),
    _person(
        "valuation_photos_reminder",
        "valuation.photos_requested",
        ("upload_url", "photos_missing", "photos_received"),
        {
            "pt-BR": "{{ first_name }}, ainda faltam {{ photos_missing }} fotos para a sua avaliação. Envie por aqui ou pelo link: {{ upload_url }}",
            "es": "{{ first_name }}, aún nos faltan {{ photos_missing }} fotos para tu valoración. Envíalas por aquí o en este enlace: {{ upload_url }}",
            "ru": "{{ first_name }}, для оценки не хватает ещё {{ photos_missing }} фото. Пришлите их сюда или по ссылке: {{ upload_url }}",
            "en": "{{ first_name }}, we still need {{ photos_missing }} photos for your valuation. Send them here or through this link: {{ upload_url }}",
        },
        {"pt-BR": "Faltam fotos", "es": "Faltan fotos", "ru": "Не хватает фото", "en": "Photos missing"},
    ),
    _staff(
        "staff_valuation_digest",
        "valuation.digest",
        ("count", "summary"),
        {
            "pt-BR": "{{ count }} perfil(is) com fotos incompletas: {{ summary }}",
            "es": "{{ count }} perfil(es) con fotos incompletas: {{ summary }}",
            "ru": "Профилей без всех фото: {{ count }}. {{ summary }}",
            "en": "{{ count }} profile(s) with incomplete photos: {{ summary }}",
        },
        {
            "pt-BR": "Perfis incompletos",
            "es": "Perfiles incompletos",
            "ru": "Неполные профили",
            "en": "Incomplete profiles",
        },
        about_person=False,  # one agent, many prospects
    ),
    _staff(
        "staff_valuation_ready",
        "valuation.photos_completed",
        (),
        {
            "pt-BR": "As fotos de {{ name }} estão completas: uma avaliação capilar aguarda.",
            "es": "Las fotos de {{ name }} están completas: hay una valoración capilar pendiente.",
            "ru": "Все фото {{ name }} получены: ожидается оценка.",
            "en": "{{ name }}'s photos are complete: a hair valuation is waiting.",
        },
        {"pt-BR": "Nova avaliação", "es": "Nueva valoración", "ru": "Новая оценка", "en": "New valuation"},
    ),
    _staff(
        "staff_valuation_assigned",
        "valuation.assigned",
        ("open_valuations",),
        {
            "pt-BR": "A avaliação de {{ name }} é sua.",
            "es": "La valoración de {{ name }} es tuya.",
            "ru": "Оценка пациента {{ name }} назначена вам.",
            "en": "{{ name }}'s valuation is yours.",
        },
        {
            "pt-BR": "Avaliação atribuída",
            "es": "Valoración asignada",
            "ru": "Вам назначена оценка",
            "en": "Valuation assigned",
        },
    ),
    _staff(
        "staff_prospect_assigned",
        "valuation.agent_changed",
        (),
        {
            "pt-BR": "{{ name }} ({{ phone }}) agora é seu prospect na avaliação capilar.",
            "es": "{{ name }} ({{ phone }}) ahora es tu prospecto en la valoración capilar.",
            "ru": "{{ name }} ({{ phone }}) теперь ваш клиент в процессе оценки.",
            "en": "{{ name }} ({{ phone }}) is now your prospect in the hair valuation.",
        },
        {"pt-BR": "Novo prospect", "es": "Nuevo prospecto", "ru": "Новый клиент", "en": "New prospect"},
    ),
    _person(
        "quote_sent",
        "quote.sent",
        ("total", "currency", "quote_url"),
        {
            "pt-BR": "{{ first_name }}, seu orçamento está pronto: {{ currency }} {{ total }}. Veja e responda (aceitar, recusar ou falar com a gente): {{ quote_url }}",
            "es": "{{ first_name }}, tu presupuesto está listo: {{ currency }} {{ total }}. Revísalo y responde (aceptar, rechazar o hablar con tu asesor): {{ quote_url }}",
            "ru": "{{ first_name }}, ваш расчёт готов: {{ total }} {{ currency }}. Посмотрите и ответьте (принять, отклонить или поговорить с менеджером): {{ quote_url }}",
            "en": "{{ first_name }}, your quote is ready: {{ currency }} {{ total }}. See it and answer (accept, reject or talk to your advisor): {{ quote_url }}",
        },
        {"pt-BR": "Seu orçamento", "es": "Tu presupuesto", "ru": "Ваш расчёт", "en": "Your quote"},
    ),
    _person(
        "quote_accepted",
        "quote.accepted",
        ("total", "currency"),
        {
            "pt-BR": "Obrigado, {{ first_name }}! Recebemos o seu aceite ({{ currency }} {{ total }}). Nossa equipe entra em contato para os próximos passos.",
            "es": "¡Gracias, {{ first_name }}! Recibimos tu aceptación ({{ currency }} {{ total }}). Tu asesor te contactará con los siguientes pasos.",
            "ru": "Спасибо, {{ first_name }}! Мы получили ваше согласие ({{ total }} {{ currency }}). Менеджер свяжется с вами.",
            "en": "Thank you, {{ first_name }}! We have your acceptance ({{ currency }} {{ total }}). Your advisor will contact you with the next steps.",
        },
        {"pt-BR": "Orçamento aceito", "es": "Presupuesto aceptado", "ru": "Расчёт принят", "en": "Quote accepted"},
    ),
    _person(
        "quote_rejected",
        "quote.rejected",
        ("reason",),
        {
            "pt-BR": "Entendido, {{ first_name }}. Registramos que você recusou o orçamento. Se mudar de ideia, é só responder.",
            "es": "Entendido, {{ first_name }}. Registramos que rechazaste el presupuesto. Si cambias de opinión, solo responde a este mensaje.",
            "ru": "Понятно, {{ first_name }}. Мы отметили, что вы отклонили расчёт. Если передумаете, просто ответьте.",
            "en": "Understood, {{ first_name }}. We noted that you declined the quote. If you change your mind, just reply.",
        },
        {"pt-BR": "Orçamento recusado", "es": "Presupuesto rechazado", "ru": "Расчёт отклонён", "en": "Quote declined"},
    ),
    _person(
        "quote_question",
        "quote.question",
        ("message",),
        {
            "pt-BR": "{{ first_name }}, seu consultor vai falar com você em breve sobre o orçamento.",
            "es": "{{ first_name }}, tu asesor te contactará pronto para hablar del presupuesto.",
            "ru": "{{ first_name }}, менеджер скоро свяжется с вами по поводу расчёта.",
            "en": "{{ first_name }}, your advisor will contact you shortly about the quote.",
        },
        {
            "pt-BR": "Seu consultor vai falar com você",
            "es": "Tu asesor te contactará",
            "ru": "Менеджер свяжется с вами",
            "en": "Your advisor will contact you",
        },
    ),
    _staff(
        "staff_quote_accepted",
        "quote.accepted",
        ("total", "currency"),
        {
            "pt-BR": "{{ name }} aceitou o orçamento ({{ currency }} {{ total }}). Responda em até 24 h.",
            "es": "{{ name }} aceptó el presupuesto ({{ currency }} {{ total }}). Responde en menos de 24 h.",
            "ru": "{{ name }} принял(а) расчёт ({{ total }} {{ currency }}). Ответьте в течение 24 ч.",
            "en": "{{ name }} accepted the quote ({{ currency }} {{ total }}). Reply within 24 h.",
        },
        {"pt-BR": "Orçamento aceito", "es": "Presupuesto aceptado", "ru": "Расчёт принят", "en": "Quote accepted"},
    ),
    _staff(
        "staff_quote_rejected",
        "quote.rejected",
        ("reason",),
        {
            "pt-BR": "{{ name }} recusou o orçamento{% if reason %}: {{ reason }}{% endif %}.",
            "es": "{{ name }} rechazó el presupuesto{% if reason %}: {{ reason }}{% endif %}.",
            "ru": "{{ name }} отклонил(а) расчёт{% if reason %}: {{ reason }}{% endif %}.",
            "en": "{{ name }} declined the quote{% if reason %}: {{ reason }}{% endif %}.",
        },
        {"pt-BR": "Orçamento recusado", "es": "Presupuesto rechazado", "ru": "Расчёт отклонён", "en": "Quote declined"},
    ),
    _staff(
        "staff_quote_question",
        "quote.question",
        ("message",),
        {
            "pt-BR": "{{ name }} ({{ phone }}) quer falar com você sobre o orçamento{% if message %}: {{ message }}{% endif %}",
            "es": "{{ name }} ({{ phone }}) quiere hablar contigo del presupuesto{% if message %}: {{ message }}{% endif %}",
            "ru": "{{ name }} ({{ phone }}) хочет обсудить расчёт{% if message %}: {{ message }}{% endif %}",
            "en": "{{ name }} ({{ phone }}) wants to talk to you about the quote{% if message %}: {{ message }}{% endif %}",
        },
        {
            "pt-BR": "Pergunta sobre o orçamento",
            "es": "Pregunta sobre el presupuesto",
            "ru": "Вопрос по расчёту",
            "en": "Question about the quote",
        },
    ),
    _staff(
        "staff_quote_unanswered",
        "quote.unanswered",
        ("waiting_for",),
        {
            "pt-BR": "{% if waiting_for == 'clinic' %}{{ name }} aceitou o orçamento há 24 h e ainda não teve resposta da clínica.{% else %}{{ name }} não responde ao orçamento há 24 h. Vale um contato.{% endif %}",
            "es": "{% if waiting_for == 'clinic' %}{{ name }} aceptó el presupuesto hace 24 h y la clínica aún no le responde.{% else %}{{ name }} no responde al presupuesto desde hace 24 h. Conviene contactarle.{% endif %}",
            "ru": "{% if waiting_for == 'clinic' %}{{ name }} принял(а) расчёт 24 ч назад, а клиника ещё не ответила.{% else %}{{ name }} не отвечает на расчёт 24 ч. Стоит связаться.{% endif %}",
            "en": "{% if waiting_for == 'clinic' %}{{ name }} accepted the quote 24 h ago and the clinic has not replied yet.{% else %}{{ name }} has not answered the quote for 24 h. Worth a call.{% endif %}",
        },
        {
            "pt-BR": "Orçamento sem resposta",
            "es": "Presupuesto sin respuesta",
            "ru": "Нет ответа по расчёту",
            "en": "Quote unanswered",
        },
    ),
)

#: Built-in rules (key, event, template, channels, recipient); clinics edit or switch them off like the others.
RULES: tuple[dict[str, Any], ...] = (
    {
        "key": "valuation-photos",
        "event_type": "valuation.opened",
        "template": "valuation_photos",
        "channels": _PATIENT_CHANNELS,
    },
    {
        "key": "valuation-photos-reminder",
        "event_type": "valuation.photos_requested",
        "template": "valuation_photos_reminder",
        "channels": _PATIENT_CHANNELS,
    },
    {
        "key": "valuation-digest",
        "event_type": "valuation.digest",
        "template": "staff_valuation_digest",
        "channels": ("inapp",),
        "recipient": AGENT,
    },
    {
        "key": "valuation-doctors",
        "event_type": "valuation.photos_completed",
        "template": "staff_valuation_ready",
        "channels": ("inapp",),
        "recipient": "role:diagnostic_doctor",
    },
    {
        "key": "valuation-assigned",
        "event_type": "valuation.assigned",
        "template": "staff_valuation_assigned",
        "channels": ("inapp",),
        "recipient": DOCTOR,
    },
    {
        "key": "valuation-agent",
        "event_type": "valuation.agent_changed",
        "template": "staff_prospect_assigned",
        "channels": ("inapp",),
        "recipient": AGENT,
    },
    {"key": "quote-sent", "event_type": "quote.sent", "template": "quote_sent", "channels": _PATIENT_CHANNELS},
    {
        "key": "quote-accepted",
        "event_type": "quote.accepted",
        "template": "quote_accepted",
        "channels": _PATIENT_CHANNELS,
    },
    {
        "key": "quote-accepted-agent",
        "event_type": "quote.accepted",
        "template": "staff_quote_accepted",
        "channels": ("inapp",),
        "recipient": AGENT,
    },
    {
        "key": "quote-rejected",
        "event_type": "quote.rejected",
        "template": "quote_rejected",
        "channels": _PATIENT_CHANNELS,
    },
    {
        "key": "quote-rejected-agent",
        "event_type": "quote.rejected",
        "template": "staff_quote_rejected",
        "channels": ("inapp",),
        "recipient": AGENT,
    },
    {
        "key": "quote-question",
        "event_type": "quote.question",
        "template": "quote_question",
        "channels": _PATIENT_CHANNELS,
    },
    {
        "key": "quote-question-agent",
        "event_type": "quote.question",
        "template": "staff_quote_question",
        "channels": ("inapp",),
        "recipient": AGENT,
    },
    {
        "key": "quote-unanswered",
        "event_type": "quote.unanswered",
        "template": "staff_quote_unanswered",
        "channels": ("inapp",),
        "recipient": AGENT,
    },
)
