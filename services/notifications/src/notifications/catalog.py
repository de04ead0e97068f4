"""The built-in templates: texts per locale, the variables each one gets, buttons, and the name of the
approved WhatsApp template used outside the 24-hour window. Clinics override any text per channel."""

# ruff: noqa: E501, RUF001 - message texts in four languages

from __future__ import annotations

from dataclasses import dataclass, field

from notifications import quotes

WELCOME = "lead_welcome"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    #: The event whose variables the template gets.
    event_type: str
    #: person: a patient or prospect; staff: an in-app notification.
    audience: str
    variables: tuple[str, ...]
    texts: dict[str, str]
    #: E-mail subjects and in-app titles per locale.
    subjects: dict[str, str] = field(default_factory=dict)
    #: Button kinds (the event's actions give their ids) and their titles per locale (WhatsApp: 20 chars).
    buttons: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The approved WhatsApp template sent outside the 24-hour window, with its body parameters in order.
    wa_template: str | None = None
    wa_params: tuple[str, ...] = ()


_PERSON = ("name", "first_name")

TEMPLATES: dict[str, TemplateSpec] = {
    t.name: t
    for t in (
        TemplateSpec(
            WELCOME,
            "lead.created",
            "person",
            _PERSON,
            {
                "pt-BR": "Olá, {{ first_name }}! Recebemos o seu contato e em breve nossa equipe vai falar com você por aqui. Se preferir, responda com o melhor horário para conversarmos.",
                "es": "¡Hola, {{ first_name }}! Recibimos tu mensaje y muy pronto alguien de nuestro equipo te escribirá por aquí. Si prefieres, responde con el mejor horario para hablar.",
                "ru": "Здравствуйте, {{ first_name }}! Мы получили вашу заявку, и скоро администратор свяжется с вами здесь. Если удобно, ответьте, в какое время вам лучше позвонить.",
                "en": "Hello {{ first_name }}! We have received your enquiry and someone from our team will write to you here shortly. Feel free to reply with the best time to reach you.",
            },
            subjects={
                "pt-BR": "Recebemos o seu contato",
                "es": "Recibimos tu mensaje",
                "ru": "Мы получили вашу заявку",
                "en": "We received your enquiry",
            },
            wa_template="lead_welcome",
            wa_params=("first_name",),
        ),
        TemplateSpec(
            "payment_link",
            "payment.link_created",
            "person",
            (*_PERSON, "amount", "currency", "description", "url", "checkout_url", "expires_date"),
            {
                "pt-BR": "Olá, {{ first_name }}! Segue o link para pagamento de {{ description }} ({{ currency }} {{ amount }}): {{ url }} (válido até {{ expires_date }}).",
                "es": "¡Hola, {{ first_name }}! Aquí tienes el enlace de pago de {{ description }} ({{ currency }} {{ amount }}): {{ url }} (válido hasta {{ expires_date }}).",
                "ru": "Здравствуйте, {{ first_name }}! Ссылка для оплаты «{{ description }}» ({{ amount }} {{ currency }}): {{ url }} (действует до {{ expires_date }}).",
                "en": "Hello {{ first_name }}! Here is the payment link for {{ description }} ({{ currency }} {{ amount }}): {{ url }} (valid until {{ expires_date }}).",
            },
            subjects={
                "pt-BR": "Seu link de pagamento",
                "es": "Tu enlace de pago",
                "ru": "Ссылка для оплаты",
                "en": "Your payment link",
            },
            wa_template="payment_link",
            wa_params=("first_name", "description", "amount", "url"),
        ),
        TemplateSpec(
            "payment_receipt",
            "payment.confirmed",
            "person",
            (*_PERSON, "amount", "currency", "method", "paid_date", "receipt_url"),
            {
                "pt-BR": "Pagamento confirmado, {{ first_name }}: {{ currency }} {{ amount }} em {{ paid_date }}.{% if receipt_url %} Recibo: {{ receipt_url }}{% endif %} Obrigado!",
                "es": "Pago confirmado, {{ first_name }}: {{ currency }} {{ amount }} el {{ paid_date }}.{% if receipt_url %} Recibo: {{ receipt_url }}{% endif %} ¡Gracias!",
                "ru": "Оплата получена, {{ first_name }}: {{ amount }} {{ currency }}, {{ paid_date }}.{% if receipt_url %} Чек: {{ receipt_url }}{% endif %} Спасибо!",
                "en": "Payment confirmed, {{ first_name }}: {{ currency }} {{ amount }} on {{ paid_date }}.{% if receipt_url %} Receipt: {{ receipt_url }}{% endif %} Thank you!",
            },
            subjects={
                "pt-BR": "Recibo do seu pagamento",
                "es": "Recibo de tu pago",
                "ru": "Чек об оплате",
                "en": "Your payment receipt",
            },
            wa_template="payment_receipt",
            wa_params=("first_name", "amount"),
        ),
        TemplateSpec(
            "payment_nudge",
            "payment.link_created",
            "staff",
            (*_PERSON, "amount", "currency", "description", "url"),
            {
                "pt-BR": "{{ name }} ainda não pagou o link de {{ description }} ({{ currency }} {{ amount }}) enviado há 24 h. Vale um contato.",
                "es": "{{ name }} aún no pagó el enlace de {{ description }} ({{ currency }} {{ amount }}) enviado hace 24 h. Conviene contactarle.",
                "ru": "{{ name }} не оплатил(а) ссылку «{{ description }}» ({{ amount }} {{ currency }}) за 24 ч. Стоит связаться.",
                "en": "{{ name }} has not paid the link for {{ description }} ({{ currency }} {{ amount }}) sent 24 h ago. Worth a call.",
            },
            subjects={
                "pt-BR": "Pagamento sem resposta",
                "es": "Pago sin respuesta",
                "ru": "Нет оплаты",
                "en": "Payment link unanswered",
            },
        ),
        TemplateSpec(
            "appointment_booked",
            "appointment.booked",
            "person",
            (
                *_PERSON,
                "procedure_name",
                "professional_name",
                "branch_name",
                "branch_address",
                "date",
                "time",
                "ics_url",
            ),
            {
                "pt-BR": "{{ first_name }}, sua consulta de {{ procedure_name }} com {{ professional_name }} está marcada para {{ date }} às {{ time }} ({{ branch_name }}{% if branch_address %}, {{ branch_address }}{% endif %}).{% if ics_url %} Adicione ao calendário: {{ ics_url }}{% endif %}",
                "es": "{{ first_name }}, tu cita de {{ procedure_name }} con {{ professional_name }} es el {{ date }} a las {{ time }} ({{ branch_name }}{% if branch_address %}, {{ branch_address }}{% endif %}).{% if ics_url %} Añádela al calendario: {{ ics_url }}{% endif %}",
                "ru": "{{ first_name }}, вы записаны на «{{ procedure_name }}» к {{ professional_name }} {{ date }} в {{ time }} ({{ branch_name }}{% if branch_address %}, {{ branch_address }}{% endif %}).{% if ics_url %} Добавить в календарь: {{ ics_url }}{% endif %}",
                "en": "{{ first_name }}, your {{ procedure_name }} with {{ professional_name }} is booked for {{ date }} at {{ time }} ({{ branch_name }}{% if branch_address %}, {{ branch_address }}{% endif %}).{% if ics_url %} Add it to your calendar: {{ ics_url }}{% endif %}",
            },
            subjects={
                "pt-BR": "Consulta marcada",
                "es": "Cita reservada",
                "ru": "Вы записаны",
                "en": "Appointment booked",
            },
            wa_template="appointment_booked",
            wa_params=("first_name", "procedure_name", "date", "time"),
        ),
        TemplateSpec(
            "appointment_reminder",
            "reminder.due",
            "person",
            (
                *_PERSON,
                "procedure_name",
                "professional_name",
                "branch_name",
                "branch_address",
                "date",
                "time",
                "confirm_url",
                "reschedule_url",
            ),
            {
                "pt-BR": "Olá, {{ first_name }}! Lembrete: {{ procedure_name }} com {{ professional_name }} em {{ date }} às {{ time }}, {{ branch_name }}. Você confirma?",
                "es": "¡Hola, {{ first_name }}! Recordatorio: {{ procedure_name }} con {{ professional_name }} el {{ date }} a las {{ time }}, {{ branch_name }}. ¿Confirmas?",
                "ru": "Здравствуйте, {{ first_name }}! Напоминаем: «{{ procedure_name }}», {{ professional_name }}, {{ date }} в {{ time }}, {{ branch_name }}. Подтвердите, пожалуйста.",
                "en": "Hello {{ first_name }}! Reminder: {{ procedure_name }} with {{ professional_name }} on {{ date }} at {{ time }}, {{ branch_name }}. Can you confirm?",
            },
            subjects={
                "pt-BR": "Lembrete da sua consulta",
                "es": "Recordatorio de tu cita",
                "ru": "Напоминание о записи",
                "en": "Appointment reminder",
            },
            buttons={
                "confirm": {"pt-BR": "Confirmar", "es": "Confirmar", "ru": "Подтвердить", "en": "Confirm"},
                "reschedule": {"pt-BR": "Remarcar", "es": "Reprogramar", "ru": "Перенести", "en": "Reschedule"},
            },
            wa_template="appointment_reminder",
            wa_params=("first_name", "procedure_name", "date", "time"),
        ),
        TemplateSpec(
            "staff_call_patient",
            "reminder.due",
            "staff",
            (*_PERSON, "phone", "procedure_name", "date", "time"),
            {
                "pt-BR": "Ligar para {{ name }} ({{ phone }}): não confirmou {{ procedure_name }} de {{ date }} às {{ time }}.",
                "es": "Llamar a {{ name }} ({{ phone }}): no confirmó {{ procedure_name }} del {{ date }} a las {{ time }}.",
                "ru": "Позвонить: {{ name }} ({{ phone }}) не подтвердил(а) «{{ procedure_name }}» {{ date }} в {{ time }}.",
                "en": "Call {{ name }} ({{ phone }}): no confirmation for {{ procedure_name }} on {{ date }} at {{ time }}.",
            },
            subjects={
                "pt-BR": "Ligar para o paciente",
                "es": "Llamar al paciente",
                "ru": "Позвонить пациенту",
                "en": "Call the patient",
            },
        ),
        TemplateSpec(
            "staff_patient_confirmed",
            "appointment.confirmed",
            "staff",
            (*_PERSON, "date", "time", "via"),
            {
                "pt-BR": "{{ name }} confirmou a consulta de {{ date }} às {{ time }} ({{ via }}).",
                "es": "{{ name }} confirmó la cita del {{ date }} a las {{ time }} ({{ via }}).",
                "ru": "{{ name }} подтвердил(а) запись на {{ date }} в {{ time }} ({{ via }}).",
                "en": "{{ name }} confirmed the appointment on {{ date }} at {{ time }} ({{ via }}).",
            },
            subjects={
                "pt-BR": "Paciente confirmou",
                "es": "Paciente confirmó",
                "ru": "Пациент подтвердил",
                "en": "Patient confirmed",
            },
        ),
        TemplateSpec(
            "anamnesis_link",
            "patient.arrived",
            "person",
            (*_PERSON, "anamnesis_url"),
            {
                "pt-BR": "Bem-vindo(a), {{ first_name }}! Enquanto aguarda, preencha a sua ficha de anamnese: {{ anamnesis_url }}",
                "es": "¡Bienvenido(a), {{ first_name }}! Mientras esperas, completa tu ficha de anamnesis: {{ anamnesis_url }}",
                "ru": "Добро пожаловать, {{ first_name }}! Пока вы ждёте, заполните, пожалуйста, анкету: {{ anamnesis_url }}",
                "en": "Welcome, {{ first_name }}! While you wait, please fill in your health questionnaire: {{ anamnesis_url }}",
            },
            subjects={
                "pt-BR": "Sua ficha de anamnese",
                "es": "Tu ficha de anamnesis",
                "ru": "Анкета пациента",
                "en": "Your health questionnaire",
            },
            wa_template="anamnesis_link",
            wa_params=("first_name", "anamnesis_url"),
        ),
    )
}

# The valuation -> quote process's templates (notifications.quotes, plain data kept apart).
TEMPLATES.update({t["name"]: TemplateSpec(**t) for t in quotes.TEMPLATES})

#: (name, locale) -> built-in text.
DEFAULT_TEMPLATES: dict[tuple[str, str], str] = {
    (spec.name, locale): text for spec in TEMPLATES.values() for locale, text in spec.texts.items()
}
