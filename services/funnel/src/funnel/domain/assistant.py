"""The pre-qualification assistant as a pure state machine (docs/funnel.md#the-pre-qualification-assistant).

`decide(process, signal, setup)` returns the next process and the effects to carry out (messages to send,
the lead to update, a payment or booking link to ask for, a task for a sales agent). It never reads a clock
or a database: the use cases feed it the signals (the patient's replies, payments' and scheduling's events,
the timer, staff actions) and apply its effects in one transaction. Every signal has an id; a process
remembers the ids it has handled, so a duplicate changes nothing, and a reply older than the last one taken
or a tap on a question already answered is recorded in the history but never advances the process.
"""

# ruff: noqa: RUF001  (the Russian texts are Cyrillic on purpose)
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from funnel.domain import InvalidFunnel

#: Where the process waits. The four questions, then payments, then the booking.
NAME, CPF, PROCEDURE, REGION = "name", "cpf", "procedure", "region"
PAYMENT_LINK, PAYMENT, BOOKING_LINK, BOOKING, DONE = "payment_link", "payment", "booking_link", "booking", "done"
STEPS = (NAME, CPF, PROCEDURE, REGION, PAYMENT_LINK, PAYMENT, BOOKING_LINK, BOOKING, DONE)
QUESTIONS = (NAME, CPF, PROCEDURE, REGION)
#: Who is talking to the patient: the assistant, a sales agent (took over, or the timer handed it over).
ACTIVE, AGENT, COMPLETED = "active", "agent", "completed"
LOCALES = ("pt-BR", "es", "ru", "en")
CHANNELS = ("whatsapp", "telegram", "instagram")
#: WhatsApp interactive lists hold 10 rows whose titles are at most 24 characters.
MAX_OPTIONS = 10
MAX_OPTION_TITLE = 24
MAX_MESSAGE = 1024
TAP_PREFIX = "asst"

#: The texts a clinic may edit, with the variables each may use.
MESSAGE_VARS: dict[str, tuple[str, ...]] = {
    "greeting": (),
    "ask_name": (),
    "bad_name": (),
    "ask_cpf": ("first_name",),
    "bad_cpf": ("first_name", "reason"),
    "cpf_length": ("digits",),
    "cpf_check": (),
    "ask_procedure": ("first_name",),
    "bad_procedure": (),
    "ask_region": ("first_name", "procedure"),
    "bad_region": (),
    "list_button": (),
    "payment_link": ("first_name", "procedure", "amount", "currency", "url"),
    "booking_link": ("first_name", "procedure", "region", "url"),
    "completed": ("first_name", "procedure", "region", "date", "time"),
    "reminder": ("first_name",),
    "handoff": ("first_name",),
    "handback": ("first_name",),
}

DEFAULT_MESSAGES: dict[str, dict[str, str]] = {
    "pt-BR": {
        "greeting": "Olá! Sou a assistente virtual da clínica e vou te ajudar a agendar sua avaliação.",
        "ask_name": "Para começar, qual é o seu nome completo?",
        "bad_name": "Não consegui entender o seu nome. Pode escrever o nome completo, só com letras?",
        "ask_cpf": "Obrigada, {first_name}! Agora me informe o seu CPF (apenas números).",
        "bad_cpf": "Esse CPF não é válido: {reason}. Pode enviar de novo?",
        "cpf_length": "ele precisa ter 11 dígitos e tem {digits}",
        "cpf_check": "os dígitos verificadores não conferem",
        "ask_procedure": "{first_name}, qual procedimento você procura? Escolha na lista.",
        "bad_procedure": "Por favor, escolha um dos procedimentos da lista.",
        "ask_region": "Em qual unidade você prefere ser atendida para {procedure}?",
        "bad_region": "Por favor, escolha uma das unidades da lista.",
        "list_button": "Ver opções",
        "payment_link": "Para reservar {procedure}, pague {amount} {currency} por este link: {url}",
        "booking_link": "Pagamento confirmado! Escolha o melhor horário em {region}: {url}",
        "completed": "Tudo certo, {first_name}! {procedure} em {region}, {date} às {time}. Até lá!",
        "reminder": "{first_name}, ainda está por aí? Falta pouco para concluir.",
        "handoff": "Uma pessoa da nossa equipe vai continuar o seu atendimento em breve.",
        "handback": "Olá de novo, {first_name}! Vamos continuar de onde paramos.",
    },
    "es": {
        "greeting": "¡Hola! Soy la asistente virtual de la clínica y te ayudaré a agendar tu valoración.",
        "ask_name": "Para empezar, ¿cuál es tu nombre completo?",
        "bad_name": "No entendí tu nombre. ¿Puedes escribir tu nombre completo, solo con letras?",
        "ask_cpf": "¡Gracias, {first_name}! Ahora envíame tu CPF (solo números).",
        "bad_cpf": "Ese CPF no es válido: {reason}. ¿Puedes enviarlo de nuevo?",
        "cpf_length": "debe tener 11 dígitos y tiene {digits}",
        "cpf_check": "los dígitos verificadores no coinciden",
        "ask_procedure": "{first_name}, ¿qué procedimiento buscas? Elige en la lista.",
        "bad_procedure": "Por favor, elige uno de los procedimientos de la lista.",
        "ask_region": "¿En qué sucursal prefieres atenderte para {procedure}?",
        "bad_region": "Por favor, elige una de las sucursales de la lista.",
        "list_button": "Ver opciones",
        "payment_link": "Para reservar {procedure}, paga {amount} {currency} en este enlace: {url}",
        "booking_link": "¡Pago confirmado! Elige tu horario en {region}: {url}",
        "completed": "¡Listo, {first_name}! {procedure} en {region}, {date} a las {time}. ¡Te esperamos!",
        "reminder": "{first_name}, ¿sigues ahí? Falta poco para terminar.",
        "handoff": "Una persona de nuestro equipo continuará tu atención en breve.",
        "handback": "¡Hola de nuevo, {first_name}! Sigamos donde lo dejamos.",
    },
    "ru": {
        "greeting": "Здравствуйте! Я виртуальный ассистент клиники и помогу записаться на консультацию.",
        "ask_name": "Для начала: как вас зовут (имя и фамилия)?",
        "bad_name": "Не удалось разобрать имя. Напишите, пожалуйста, имя и фамилию буквами.",
        "ask_cpf": "Спасибо, {first_name}! Теперь отправьте ваш CPF (только цифры).",
        "bad_cpf": "Этот CPF недействителен: {reason}. Отправьте, пожалуйста, ещё раз.",
        "cpf_length": "в нём должно быть 11 цифр, а в присланном {digits}",
        "cpf_check": "контрольные цифры не совпадают",
        "ask_procedure": "{first_name}, какая процедура вас интересует? Выберите из списка.",
        "bad_procedure": "Пожалуйста, выберите процедуру из списка.",
        "ask_region": "В каком филиале вам удобнее пройти {procedure}?",
        "bad_region": "Пожалуйста, выберите филиал из списка.",
        "list_button": "Варианты",
        "payment_link": "Чтобы забронировать {procedure}, оплатите {amount} {currency} по ссылке: {url}",
        "booking_link": "Оплата получена! Выберите время в филиале {region}: {url}",
        "completed": "Готово, {first_name}! {procedure}, {region}, {date} в {time}. Ждём вас!",
        "reminder": "{first_name}, вы ещё здесь? Осталось совсем немного.",
        "handoff": "Сотрудник клиники скоро продолжит разговор с вами.",
        "handback": "Снова здравствуйте, {first_name}! Продолжим с того же места.",
    },
    "en": {
        "greeting": "Hello! I am the clinic's virtual assistant and I will help you book your assessment.",
        "ask_name": "To start, what is your full name?",
        "bad_name": "I could not read your name. Could you type your full name, in letters only?",
        "ask_cpf": "Thank you, {first_name}! Now please send your CPF (digits only).",
        "bad_cpf": "That CPF is not valid: {reason}. Could you send it again?",
        "cpf_length": "it must have 11 digits and has {digits}",
        "cpf_check": "its check digits do not match",
        "ask_procedure": "{first_name}, which procedure are you looking for? Choose from the list.",
        "bad_procedure": "Please choose one of the procedures in the list.",
        "ask_region": "Which branch would you like to be seen at for {procedure}?",
        "bad_region": "Please choose one of the branches in the list.",
        "list_button": "See options",
        "payment_link": "To reserve {procedure}, pay {amount} {currency} here: {url}",
        "booking_link": "Payment confirmed! Choose your time at {region}: {url}",
        "completed": "All set, {first_name}! {procedure} at {region}, {date} at {time}. See you!",
        "reminder": "{first_name}, are you still there? We are nearly done.",
        "handoff": "A member of our team will continue with you shortly.",
        "handback": "Hello again, {first_name}! Let us carry on where we stopped.",
    },
}

_VAR = re.compile(r"\{([a-z_]+)\}")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


# --- the clinic's set-up ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """A procedure (scheduling's procedure id) or a region (scheduling's branch id) the patient may choose."""

    id: str
    title: str
    #: A procedure's deposit for the payment link; None lets payments use the procedure's price.
    amount: str | None = None


@dataclass(frozen=True)
class Setup:
    """What the clinic configured, plus the CPF check (an adapter over validate-docbr, passed in)."""

    procedures: tuple[Option, ...]
    regions: tuple[Option, ...]
    #: locale -> key -> the clinic's own text (falls back to DEFAULT_MESSAGES).
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    default_locale: str = "pt-BR"
    #: No answer for this long → one reminder; as long again → a task for a sales agent.
    reply_timeout: timedelta = timedelta(hours=1)
    handoff_timeout: timedelta = timedelta(hours=2)
    currency: str = "BRL"
    cpf_valid: Callable[[str], bool] = lambda digits: True

    def text(self, locale: str, key: str, **values: str) -> str:
        for loc in (locale, self.default_locale, "pt-BR"):
            raw = self.messages.get(loc, {}).get(key) or DEFAULT_MESSAGES.get(loc, {}).get(key)
            if raw:
                return render(raw, values)
        raise KeyError(key)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders; an unknown one is left as written (validation refuses it on save)."""
    return _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def clean_messages(messages: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """A clinic's edited texts: known locales and keys, known variables, WhatsApp's length."""
    out: dict[str, dict[str, str]] = {}
    for locale, texts in messages.items():
        if locale not in LOCALES:
            raise InvalidFunnel(f"Unknown locale {locale!r}; use one of {', '.join(LOCALES)}.", field="messages")
        for key, raw in texts.items():
            where = f"messages.{locale}.{key}"
            if key not in MESSAGE_VARS:
                raise InvalidFunnel(f"Unknown message {key!r}; see docs/funnel.md for the list.", field=where)
            text = raw.strip()
            if not text:
                raise InvalidFunnel("A message cannot be empty.", field=where)
            if len(text) > MAX_MESSAGE:
                raise InvalidFunnel(f"At most {MAX_MESSAGE} characters.", field=where)
            unknown = sorted(set(_VAR.findall(text)) - set(MESSAGE_VARS[key]))
            if unknown:
                allowed = ", ".join("{" + v + "}" for v in MESSAGE_VARS[key]) or "none"
                raise InvalidFunnel(f"Unknown variable {{{unknown[0]}}}; this message may use {allowed}.", field=where)
            out.setdefault(locale, {})[key] = text
    return out


def clean_options(options: list[Option], *, field_name: str) -> tuple[Option, ...]:
    if len(options) > MAX_OPTIONS:
        raise InvalidFunnel(f"A WhatsApp list holds at most {MAX_OPTIONS} options.", field=field_name)
    seen: set[str] = set()
    out = []
    for i, o in enumerate(options):
        title = o.title.strip()
        if not title or len(title) > MAX_OPTION_TITLE:
            raise InvalidFunnel(f"A title has 1 to {MAX_OPTION_TITLE} characters.", field=f"{field_name}.{i}.title")
        if not o.id.strip() or o.id in seen:
            raise InvalidFunnel("Each option needs its own id.", field=f"{field_name}.{i}.id")
        seen.add(o.id)
        out.append(Option(o.id.strip(), title, o.amount))
    return tuple(out)


def clean_amount(raw: str, *, field_name: str) -> str:
    """A deposit: a positive amount with at most two decimals, e.g. "150.00"."""
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise InvalidFunnel("An amount such as 150.00.", field=field_name) from None
    # The range first: quantizing a huge number is itself an error.
    if not value.is_finite() or value <= 0 or value > Decimal("1e9") or value != value.quantize(Decimal("0.01")):
        raise InvalidFunnel("A positive amount with at most two decimals.", field=field_name)
    return f"{value:.2f}"


def clean_timeout(minutes: int, *, field_name: str) -> timedelta:
    if not 1 <= minutes <= 7 * 24 * 60:
        raise InvalidFunnel("Between 1 minute and 7 days.", field=field_name)
    return timedelta(minutes=minutes)


# --- the process -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Process:
    id: str
    lead_id: str
    channel: str
    address: str
    locale: str
    step: str = NAME
    status: str = ACTIVE
    name: str | None = None
    cpf: str | None = None
    procedure_id: str | None = None
    procedure: str | None = None
    branch_id: str | None = None
    region: str | None = None
    payment_id: str | None = None
    paid: bool = False
    appointment_id: str | None = None
    #: When the next timer fires (None: nothing to wait for) and how many nudges it already gave.
    due_at: datetime | None = None
    nudges: int = 0
    #: The time of the last patient reply taken: older ones are out of order.
    last_reply_at: datetime | None = None
    #: Ids of the signals already handled.
    seen: frozenset[str] = frozenset()

    @property
    def first_name(self) -> str:
        return (self.name or "").split(" ")[0]


# Signals.
@dataclass(frozen=True)
class Start:
    id: str
    at: datetime


@dataclass(frozen=True)
class Reply:
    """A message from the patient: text, or a tapped list row / button (`choice`)."""

    id: str
    at: datetime
    text: str | None = None
    choice: str | None = None


@dataclass(frozen=True)
class LinkCreated:
    id: str  # the payment id
    at: datetime
    url: str
    amount: str
    currency: str


@dataclass(frozen=True)
class Paid:
    id: str  # the payment id
    at: datetime


@dataclass(frozen=True)
class BookingLinkIssued:
    id: str
    at: datetime
    url: str


@dataclass(frozen=True)
class Booked:
    id: str  # the appointment id
    at: datetime
    date: str = ""
    time: str = ""


@dataclass(frozen=True)
class Tick:
    id: str
    at: datetime


@dataclass(frozen=True)
class TakeOver:
    id: str
    at: datetime
    by: str


@dataclass(frozen=True)
class HandBack:
    id: str
    at: datetime
    by: str


Signal = Start | Reply | LinkCreated | Paid | BookingLinkIssued | Booked | Tick | TakeOver | HandBack


# Effects.
@dataclass(frozen=True)
class Say:
    key: str
    text: str
    #: text, list (a WhatsApp interactive list) or buttons.
    style: str = "text"
    options: tuple[tuple[str, str], ...] = ()
    button: str | None = None


@dataclass(frozen=True)
class UpdateLead:
    fields: Mapping[str, str]


@dataclass(frozen=True)
class AskPaymentLink:
    procedure_id: str
    procedure: str
    amount: str | None
    currency: str


@dataclass(frozen=True)
class AskBookingLink:
    procedure_id: str
    branch_id: str


@dataclass(frozen=True)
class HandToAgent:
    reason: str


@dataclass(frozen=True)
class Completed:
    appointment_id: str


@dataclass(frozen=True)
class Step:
    """One line of the process's history: who or what did it."""

    actor: str
    action: str
    detail: str = ""


Effect = Say | UpdateLead | AskPaymentLink | AskBookingLink | HandToAgent | Completed | Step


class Rejected(Exception):
    """A staff action the process cannot take now (409 on the API)."""


def tap_id(kind: str, option_id: str) -> str:
    return f"{TAP_PREFIX}:{kind}:{option_id}"


def cpf_digits(raw: str) -> str:
    return re.sub(r"\D", "", raw)


def clean_name(raw: str) -> str | None:
    name = " ".join(raw.split())
    letters = len(_LETTERS.findall(name))
    if not 2 <= len(name) <= 120 or letters < 2 or letters < len(name.replace(" ", "")) * 0.8:
        return None
    return name.title() if name.islower() or name.isupper() else name


def signal_key(s: Signal) -> str:
    """What makes a signal the same one again: its kind and id (a payment's link and its money share an id)."""
    return f"{type(s).__name__}:{s.id}"


def decide(p: Process, s: Signal, setup: Setup) -> tuple[Process, list[Effect]]:
    """The next process and what to do. A signal already seen changes nothing and does nothing.

    What the assistant says in one turn is one message (e.g. the reason a CPF was refused and the question
    again): separate messages could reach the patient out of order.
    """
    after, effects = _decide(p, s, setup)
    says = [e for e in effects if isinstance(e, Say)]
    if len(says) < 2:
        return after, effects
    last = says[-1]
    merged = replace(last, key="+".join(e.key for e in says), text="\n\n".join(e.text for e in says))
    # The one message goes where the turn's last words were (after the history lines that led to it).
    return after, [merged if e is last else e for e in effects if not isinstance(e, Say) or e is last]


def _decide(p: Process, s: Signal, setup: Setup) -> tuple[Process, list[Effect]]:
    key = signal_key(s)
    if key in p.seen:
        return p, []
    p = replace(p, seen=p.seen | {key})
    if isinstance(s, TakeOver):
        if p.status == COMPLETED:
            raise Rejected("The process is completed.")
        if p.status == AGENT:
            return p, [Step(f"agent:{s.by}", "took over", "already with an agent")]
        return replace(p, status=AGENT, due_at=None), [Step(f"agent:{s.by}", "took over", f"at {p.step}")]
    if isinstance(s, HandBack):
        if p.status != AGENT:
            raise Rejected("The assistant is not stopped: nothing to hand back.")
        p = replace(p, status=ACTIVE, nudges=0)
        p = replace(p, due_at=_due(p, s.at, setup))
        return p, [
            Step(f"agent:{s.by}", "handed back", f"at {p.step}"),
            _say(setup, p, "handback"),
            *_prompt(p, setup),
        ]
    if isinstance(s, Start):
        if p.step != NAME or p.status != ACTIVE:
            return p, []
        # What the patient wrote before the first contact (the message the lead was made from) answers nothing:
        # it arrives as a reply older than the start and is only recorded.
        p = replace(p, due_at=s.at + setup.reply_timeout, last_reply_at=max(p.last_reply_at or s.at, s.at))
        return p, [Step("assistant", "first contact"), _say(setup, p, "greeting"), *_prompt(p, setup)]
    if isinstance(s, Tick):
        return _tick(p, s, setup)
    if isinstance(s, Booked):
        # The patient booked (by our link or otherwise): done, whatever step we were at.
        if p.status == COMPLETED:
            return p, [Step("scheduling", "booked again", s.id)]
        was_active = p.status == ACTIVE
        p = replace(p, step=DONE, status=COMPLETED, appointment_id=s.id, due_at=None)
        out: list[Effect] = [Step("scheduling", "booked", s.id), Completed(s.id)]
        if was_active:
            out.append(_say(setup, p, "completed", date=s.date, time=s.time))
        return p, out
    if p.status == COMPLETED:
        return p, [Step(_actor(s), "ignored", "the process is completed")]
    if isinstance(s, Paid):
        if p.paid or STEPS.index(p.step) > STEPS.index(PAYMENT):
            return p, [Step("payments", "ignored", f"payment {s.id}: already paid")]
        if p.step in QUESTIONS:
            # Paid before the questions were done (out of order): remembered, no link will be asked for.
            return replace(p, paid=True, payment_id=s.id), [Step("payments", "paid early", s.id)]
        p = replace(p, step=BOOKING_LINK, paid=True, payment_id=s.id, nudges=0)
        p = replace(p, due_at=_due(p, s.at, setup))
        return p, [Step("payments", "paid", s.id), *_ask_booking(p)]
    if isinstance(s, LinkCreated):
        if p.step != PAYMENT_LINK:
            return p, [Step("payments", "ignored", f"link {s.id} at {p.step}")]
        p = replace(p, step=PAYMENT, payment_id=s.id, nudges=0, due_at=_due(p, s.at, setup))
        out = [Step("payments", "link created", s.id)]
        if p.status == ACTIVE:
            amount = s.amount
            out.append(_say(setup, p, "payment_link", amount=amount, currency=s.currency, url=s.url))
        return p, out
    if isinstance(s, BookingLinkIssued):
        if p.step != BOOKING_LINK:
            return p, [Step("scheduling", "ignored", f"booking link at {p.step}")]
        p = replace(p, step=BOOKING, nudges=0, due_at=_due(p, s.at, setup))
        out = [Step("scheduling", "booking link issued", s.id)]
        if p.status == ACTIVE:
            out.append(_say(setup, p, "booking_link", url=s.url))
        return p, out
    assert isinstance(s, Reply)
    return _reply(p, s, setup)


def _actor(s: Signal) -> str:
    return {Reply: "patient", LinkCreated: "payments", Paid: "payments", BookingLinkIssued: "scheduling"}.get(
        type(s), "assistant"
    )


def _due(p: Process, at: datetime, setup: Setup) -> datetime | None:
    return at + setup.reply_timeout if p.status == ACTIVE and p.step != DONE else None


def _tick(p: Process, s: Tick, setup: Setup) -> tuple[Process, list[Effect]]:
    if p.status != ACTIVE or p.due_at is None or s.at < p.due_at:
        return p, []
    if p.step in (PAYMENT_LINK, BOOKING_LINK):
        # Our own side did not answer (no price for the procedure, a branch closed): a person takes over.
        p = replace(p, status=AGENT, due_at=None)
        who = "payments made no payment link" if p.step == PAYMENT_LINK else "scheduling issued no booking link"
        return p, [
            Step("timer", "handed to a sales agent", who),
            _say(setup, p, "handoff"),
            HandToAgent(f"{who.capitalize()}."),
        ]
    if p.nudges == 0:
        p = replace(p, nudges=1, due_at=s.at + setup.handoff_timeout)
        return p, [Step("timer", "reminded", f"no answer at {p.step}"), _say(setup, p, "reminder"), *_prompt(p, setup)]
    p = replace(p, status=AGENT, due_at=None)
    reason = f"No answer from the patient at the {p.step.replace('_', ' ')} step after a reminder."
    return p, [Step("timer", "handed to a sales agent", f"no answer at {p.step}"), _say(setup, p, "handoff"),
               HandToAgent(reason)]  # fmt: skip


def _reply(p: Process, s: Reply, setup: Setup) -> tuple[Process, list[Effect]]:
    if p.last_reply_at is not None and s.at < p.last_reply_at:
        return p, [Step("patient", "ignored", "an older reply arrived late")]
    if p.status != ACTIVE:
        # A sales agent is talking to the patient: the assistant keeps quiet.
        return p, [Step("patient", "replied", "to the agent")]
    if p.step not in QUESTIONS:
        return replace(p, last_reply_at=s.at), [Step("patient", "replied", f"while waiting at {p.step}")]
    if (
        s.choice is not None
        and s.choice.startswith(f"{TAP_PREFIX}:")
        and not s.choice.startswith(f"{TAP_PREFIX}:{p.step}:")
    ):
        # A tap on a list already answered (or not yet asked): never moves the process.
        return p, [Step("patient", "ignored", f"a tap on another question ({s.choice})")]
    p = replace(p, last_reply_at=s.at)
    text = (s.text or "").strip()
    if p.step == NAME:
        name = clean_name(text) if text else None
        if name is None:
            return _again(p, s, setup, "bad_name", "not a name")
        p = replace(p, name=name, step=CPF, nudges=0, due_at=_due(p, s.at, setup))
        return p, [Step("patient", "answered", "name"), UpdateLead({"name": name}), *_prompt(p, setup)]
    if p.step == CPF:
        digits = cpf_digits(text)
        if len(digits) != 11:
            reason = setup.text(p.locale, "cpf_length", digits=str(len(digits)))
            return _again(p, s, setup, "bad_cpf", "CPF with a wrong length", reason=reason)
        if not setup.cpf_valid(digits):
            reason = setup.text(p.locale, "cpf_check")
            return _again(p, s, setup, "bad_cpf", "CPF check digits", reason=reason)
        p = replace(p, cpf=digits, step=PROCEDURE, nudges=0, due_at=_due(p, s.at, setup))
        return p, [Step("patient", "answered", "cpf"), UpdateLead({"cpf": digits}), *_prompt(p, setup)]
    if p.step == PROCEDURE:
        chosen = _choose(setup.procedures, PROCEDURE, s, text)
        if chosen is None:
            return _again(p, s, setup, "bad_procedure", "not a procedure of the list", prompt=True)
        p = replace(p, procedure_id=chosen.id, procedure=chosen.title, step=REGION, nudges=0,
                    due_at=_due(p, s.at, setup))  # fmt: skip
        return p, [
            Step("patient", "answered", f"procedure {chosen.title}"),
            UpdateLead({"procedure_id": chosen.id, "procedure": chosen.title}),
            *_prompt(p, setup),
        ]
    chosen = _choose(setup.regions, REGION, s, text)
    if chosen is None:
        return _again(p, s, setup, "bad_region", "not a region of the list", prompt=True)
    answered: list[Effect] = [
        Step("patient", "answered", f"region {chosen.title}"),
        UpdateLead({"branch_id": chosen.id, "region": chosen.title}),
    ]
    if p.paid:
        p = replace(
            p, branch_id=chosen.id, region=chosen.title, step=BOOKING_LINK, nudges=0, due_at=_due(p, s.at, setup)
        )
        return p, [*answered, *_ask_booking(p)]
    p = replace(p, branch_id=chosen.id, region=chosen.title, step=PAYMENT_LINK, nudges=0, due_at=_due(p, s.at, setup))
    procedure = next((o for o in setup.procedures if o.id == p.procedure_id), None)
    return p, [
        *answered,
        AskPaymentLink(p.procedure_id or "", p.procedure or "", procedure.amount if procedure else None,
                       setup.currency),
        Step("assistant", "asked payments for a link"),
    ]  # fmt: skip


def _ask_booking(p: Process) -> list[Effect]:
    return [AskBookingLink(p.procedure_id or "", p.branch_id or ""), Step("assistant", "asked for a booking link")]


def _again(
    p: Process, s: Reply, setup: Setup, key: str, why: str, *, prompt: bool = False, reason: str = ""
) -> tuple[Process, list[Effect]]:
    """A wrong answer: say why and ask the same question again; the timer restarts."""
    p = replace(p, nudges=0, due_at=_due(p, s.at, setup))
    out: list[Effect] = [Step("patient", "answered wrongly", why), _say(setup, p, key, reason=reason)]
    if prompt:
        out.extend(_prompt(p, setup))
    return p, out


def _choose(options: tuple[Option, ...], kind: str, s: Reply, text: str) -> Option | None:
    for i, o in enumerate(options, 1):
        if s.choice == tap_id(kind, o.id):
            return o
        if text and (text.casefold() == o.title.casefold() or text == str(i)):
            return o
    return None


def _say(setup: Setup, p: Process, key: str, **values: str) -> Say:
    base = {"first_name": p.first_name, "procedure": p.procedure or "", "region": p.region or ""}
    return Say(key, setup.text(p.locale, key, **(base | values)))


def _prompt(p: Process, setup: Setup) -> list[Effect]:
    """The question of the current step (after a reminder or a hand-back, the same one again)."""
    if p.step == NAME:
        return [_say(setup, p, "ask_name")]
    if p.step == CPF:
        return [_say(setup, p, "ask_cpf")]
    if p.step in (PROCEDURE, REGION):
        options = setup.procedures if p.step == PROCEDURE else setup.regions
        say = _say(setup, p, f"ask_{p.step}")
        rows = tuple((tap_id(p.step, o.id), o.title) for o in options)
        style = "buttons" if len(rows) <= 3 else "list"
        return [replace(say, style=style, options=rows, button=setup.text(p.locale, "list_button"))]
    return []
