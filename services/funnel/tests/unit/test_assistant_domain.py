"""The assistant's state machine: the story, wrong answers, timers, take-over, and any order or repetition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.cpf import cpf_valid
from funnel.domain import InvalidFunnel
from funnel.domain import assistant as a

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
M = timedelta(minutes=1)
GOOD_CPF = "529.982.247-25"
SETUP = a.Setup(
    procedures=(a.Option("p-botox", "Botox", "150.00"), a.Option("p-peel", "Peeling"), a.Option("p-laser", "Laser"),
                a.Option("p-fill", "Preenchimento")),
    regions=(a.Option("b-moema", "Moema"), a.Option("b-paulista", "Av. Paulista")),
    cpf_valid=cpf_valid,
)  # fmt: skip


def fresh(locale: str = "pt-BR") -> a.Process:
    return a.Process(id="proc-1", lead_id="lead-1", channel="whatsapp", address="+5511987654321", locale=locale)


def story() -> list[a.Signal]:
    return [
        a.Start("start", T0),
        a.Reply("m1", T0 + 1 * M, text="maria souza"),
        a.Reply("m2", T0 + 2 * M, text=GOOD_CPF),
        a.Reply("m3", T0 + 3 * M, choice="asst:procedure:p-botox"),
        a.Reply("m4", T0 + 4 * M, choice="asst:region:b-moema"),
        a.LinkCreated("pay-1", T0 + 5 * M, url="https://pay/1", amount="150.00", currency="BRL"),
        a.Paid("pay-1", T0 + 6 * M),
        a.BookingLinkIssued("book-1", T0 + 7 * M, url="https://book/1"),
        a.Booked("appt-1", T0 + 8 * M, date="05/12/2026", time="10:00"),
    ]


def run(signals: list[a.Signal], p: a.Process | None = None) -> tuple[a.Process, list[a.Effect]]:
    p = p or fresh()
    out: list[a.Effect] = []
    for s in signals:
        p, effects = a.decide(p, s, SETUP)
        out.extend(effects)
    return p, out


def said(effects: list[a.Effect]) -> list[str]:
    """The texts said, in order (one turn's texts travel as one message, its key joined with "+")."""
    return [k for e in effects if isinstance(e, a.Say) for k in e.key.split("+")]


def test_the_whole_story() -> None:
    p, out = run(story())
    assert p.status == a.COMPLETED
    assert p.step == a.DONE
    assert (p.name, p.cpf, p.procedure_id, p.branch_id, p.payment_id, p.appointment_id) == (
        "Maria Souza", "52998224725", "p-botox", "b-moema", "pay-1", "appt-1",
    )  # fmt: skip
    assert said(out) == [
        "greeting", "ask_name", "ask_cpf", "ask_procedure", "ask_region", "payment_link", "booking_link", "completed",
    ]  # fmt: skip
    updates = [dict(e.fields) for e in out if isinstance(e, a.UpdateLead)]
    assert updates == [
        {"name": "Maria Souza"}, {"cpf": "52998224725"}, {"procedure_id": "p-botox", "procedure": "Botox"},
        {"branch_id": "b-moema", "region": "Moema"},
    ]  # fmt: skip
    ask = next(e for e in out if isinstance(e, a.AskPaymentLink))
    assert (ask.procedure_id, ask.amount, ask.currency) == ("p-botox", "150.00", "BRL")
    assert [e for e in out if isinstance(e, a.AskBookingLink)] == [a.AskBookingLink("p-botox", "b-moema")]
    assert [e for e in out if isinstance(e, a.Completed)] == [a.Completed("appt-1")]
    texts = [e for e in out if isinstance(e, a.Say)]
    assert "Maria" in texts[1].text
    assert "https://pay/1" in texts[4].text
    assert "150.00 BRL" in texts[4].text
    assert "Moema" in texts[5].text
    assert "https://book/1" in texts[5].text
    # Four procedures: a WhatsApp list; two regions: reply buttons; the row ids name the question.
    assert texts[2].style == "list"
    assert texts[2].options[0] == ("asst:procedure:p-botox", "Botox")
    assert texts[3].style == "buttons"
    assert [o[1] for o in texts[3].options] == ["Moema", "Av. Paulista"]
    assert all(e.actor for e in out if isinstance(e, a.Step))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("123", "ele precisa ter 11 dígitos e tem 3"), ("529.982.247-26", "os dígitos verificadores não conferem"),
     ("111.111.111-11", "os dígitos verificadores não conferem")],
)  # fmt: skip
def test_an_invalid_cpf_is_asked_again_with_the_reason(raw: str, reason: str) -> None:
    p, _ = run(story()[:2])
    p, out = a.decide(p, a.Reply("bad", T0 + 2 * M, text=raw), SETUP)
    assert p.step == a.CPF
    assert p.cpf is None
    assert said(out) == ["bad_cpf"]
    assert reason in next(e for e in out if isinstance(e, a.Say)).text
    p, out = a.decide(p, a.Reply("good", T0 + 3 * M, text="52998224725"), SETUP)
    assert p.step == a.PROCEDURE
    assert p.cpf == "52998224725"


def test_the_message_the_lead_was_made_from_answers_nothing() -> None:
    # "Olá" opened the conversation (leads made the lead from it) and reaches the process after its start.
    p, out = run([a.Start("s", T0), a.Reply("opening", T0 - M, text="Olá")])
    assert p.step == a.NAME
    assert said(out) == ["greeting", "ask_name"]
    p, _ = a.decide(p, a.Reply("m1", T0 + M, text="Maria Souza"), SETUP)
    assert (p.step, p.name) == (a.CPF, "Maria Souza")


def test_wrong_answers_of_each_question() -> None:
    p, out = run([a.Start("s", T0), a.Reply("m1", T0 + M, text="12345")])
    assert p.step == a.NAME
    assert said(out)[-1] == "bad_name"
    p, _ = run([a.Reply("m2", T0 + 2 * M, text="Ana Lima"), a.Reply("m3", T0 + 3 * M, text=GOOD_CPF)], p)
    p, out = a.decide(p, a.Reply("m4", T0 + 4 * M, text="a nose job"), SETUP)
    assert p.step == a.PROCEDURE
    assert said(out) == ["bad_procedure", "ask_procedure"]
    # Typing the title or the number of a row works as well as tapping it.
    p, _ = a.decide(p, a.Reply("m5", T0 + 5 * M, text="peeling"), SETUP)
    assert p.procedure_id == "p-peel"
    p, out = a.decide(p, a.Reply("m6", T0 + 6 * M, choice="asst:region:nowhere"), SETUP)
    assert p.step == a.REGION
    assert said(out)[0] == "bad_region"
    p, _ = a.decide(p, a.Reply("m7", T0 + 7 * M, text="2"), SETUP)
    assert p.branch_id == "b-paulista"
    assert p.step == a.PAYMENT_LINK


def test_no_answer_one_reminder_then_a_sales_agent() -> None:
    p, _ = run(story()[:3])
    assert p.due_at == T0 + 2 * M + SETUP.reply_timeout
    p, out = a.decide(p, a.Tick("t0", T0 + 30 * M), SETUP)
    assert out == []  # not due yet
    p, out = a.decide(p, a.Tick("t1", T0 + 2 * M + SETUP.reply_timeout), SETUP)
    assert said(out) == ["reminder", "ask_procedure"]
    assert p.nudges == 1
    p, out = a.decide(p, a.Tick("t2", T0 + 2 * M + SETUP.reply_timeout + M), SETUP)
    assert out == []
    p, out = a.decide(p, a.Tick("t3", T0 + 2 * M + SETUP.reply_timeout + SETUP.handoff_timeout), SETUP)
    assert p.status == a.AGENT
    assert p.due_at is None
    assert said(out) == ["handoff"]
    assert any(isinstance(e, a.HandToAgent) for e in out)
    # With an agent, replies do not move the process and timers stay quiet.
    p2, out = a.decide(p, a.Reply("late", T0 + 5 * timedelta(hours=1), choice="asst:procedure:p-botox"), SETUP)
    assert p2.step == a.PROCEDURE
    assert said(out) == []
    assert a.decide(p2, a.Tick("t4", T0 + timedelta(days=3)), SETUP)[1] == []


def test_an_answer_resets_the_reminder() -> None:
    p, _ = run(story()[:2])
    p, _ = a.decide(p, a.Tick("t1", T0 + M + SETUP.reply_timeout), SETUP)
    assert p.nudges == 1
    p, _ = a.decide(p, a.Reply("m2", T0 + M + SETUP.reply_timeout + M, text=GOOD_CPF), SETUP)
    assert p.nudges == 0
    assert p.due_at == T0 + 2 * M + 2 * SETUP.reply_timeout


def test_take_over_stops_at_once_and_hand_back_asks_again() -> None:
    p, _ = run(story()[:3])
    p, out = a.decide(p, a.TakeOver("to", T0 + 3 * M, by="agent-7"), SETUP)
    assert p.status == a.AGENT
    assert p.due_at is None
    assert next(e for e in out if isinstance(e, a.Step)).actor == "agent:agent-7"
    p, out = a.decide(p, a.Reply("m3", T0 + 4 * M, choice="asst:procedure:p-botox"), SETUP)
    assert p.step == a.PROCEDURE
    assert said(out) == []
    p, out = a.decide(p, a.HandBack("hb", T0 + 5 * M, by="agent-7"), SETUP)
    assert p.status == a.ACTIVE
    assert said(out) == ["handback", "ask_procedure"]
    assert p.due_at == T0 + 5 * M + SETUP.reply_timeout  # the timer is armed again
    with pytest.raises(a.Rejected):
        a.decide(p, a.HandBack("hb2", T0 + 6 * M, by="agent-7"), SETUP)
    done, _ = run(story())
    with pytest.raises(a.Rejected):
        a.decide(done, a.TakeOver("to2", T0 + 9 * M, by="agent-7"), SETUP)


def test_a_payment_while_an_agent_has_the_chat_moves_on_quietly() -> None:
    p, _ = run(story()[:5])
    p, _ = a.decide(p, a.TakeOver("to", T0 + 5 * M, by="agent-7"), SETUP)
    p, out = run(story()[5:8], p)
    assert p.step == a.BOOKING
    assert said(out) == []


def test_locales_and_the_clinics_own_texts() -> None:
    setup = replace(SETUP, messages={"es": {"ask_name": "¿Cómo te llamas, por favor?"}})
    _, out = a.decide(fresh("es"), a.Start("s", T0), setup)
    assert [e.text for e in out if isinstance(e, a.Say)] == [  # one turn: one message
        a.DEFAULT_MESSAGES["es"]["greeting"] + "\n\n¿Cómo te llamas, por favor?"
    ]
    _, out = a.decide(fresh("ru"), a.Start("s", T0), SETUP)
    assert "Здравствуйте" in next(e for e in out if isinstance(e, a.Say)).text
    _, out = a.decide(fresh("fr"), a.Start("s", T0), SETUP)  # unknown locale: the clinic's default
    assert next(e for e in out if isinstance(e, a.Say)).text.startswith(a.DEFAULT_MESSAGES["pt-BR"]["greeting"])


def test_edited_texts_are_checked() -> None:
    assert a.clean_messages({"en": {"ask_cpf": " Your CPF, {first_name}? "}}) == {
        "en": {"ask_cpf": "Your CPF, {first_name}?"}
    }
    for bad, where in [
        ({"fr": {"ask_name": "Nom?"}}, "messages"),
        ({"en": {"ask_shoe": "Size?"}}, "messages.en.ask_shoe"),
        ({"en": {"ask_name": "  "}}, "messages.en.ask_name"),
        ({"en": {"ask_name": "Hi {url}"}}, "messages.en.ask_name"),
        ({"en": {"ask_name": "x" * 1025}}, "messages.en.ask_name"),
    ]:
        with pytest.raises(InvalidFunnel) as err:
            a.clean_messages(bad)
        assert err.value.field == where
    with pytest.raises(InvalidFunnel) as err:
        a.clean_options([a.Option("x", "A" * 25)], field_name="procedures")
    assert err.value.field == "procedures.0.title"
    with pytest.raises(InvalidFunnel):
        a.clean_options([a.Option(str(i), "A") for i in range(11)], field_name="regions")


# --- any order, any repetition -------------------------------------------------------------------------
ADVANCES = (a.AskPaymentLink, a.AskBookingLink, a.Completed, a.HandToAgent)


def _check(signals: list[a.Signal]) -> tuple[a.Process, list[a.Effect]]:
    p = fresh()
    out: list[a.Effect] = []
    for s in signals:
        before = p.step
        try:
            p, effects = a.decide(p, s, SETUP)
        except a.Rejected:
            continue
        assert a.STEPS.index(p.step) >= a.STEPS.index(before), "the process never goes back"
        assert sum(isinstance(e, a.Say) for e in effects) <= 1, "one turn is one message"
        out.extend(effects)
    for kind in ADVANCES:
        assert sum(isinstance(e, kind) for e in out) <= 1, f"{kind.__name__} twice"
    fields = [k for e in out if isinstance(e, a.UpdateLead) for k in e.fields]
    assert len(fields) == len(set(fields)), "each answer updates the lead once"
    return p, out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=30))
def test_duplicates_never_advance_twice(copies: list[tuple[int, int]]) -> None:
    """The story with any of its signals repeated anywhere after it: as if each came once."""
    signals = story()
    keyed = [((i, 0, 0), s) for i, s in enumerate(signals)]
    keyed += [((i + later, 1, n), signals[i]) for n, (i, later) in enumerate(copies)]
    p, out = _check([s for _, s in sorted(keyed, key=lambda k: k[0])])
    clean_p, clean_out = run(signals)
    assert (p.step, p.status, p.name, p.cpf, p.procedure_id, p.branch_id) == (
        clean_p.step, clean_p.status, clean_p.name, clean_p.cpf, clean_p.procedure_id, clean_p.branch_id,
    )  # fmt: skip
    assert out == clean_out  # a repeated signal does nothing at all, not even a line of history


@settings(max_examples=400, deadline=None)
@given(st.permutations(range(9)), st.lists(st.integers(0, 8), max_size=10), st.booleans())
def test_any_order_never_advances_twice(order: list[int], repeats: list[int], agent: bool) -> None:
    """Replies, payments' and scheduling's events and staff actions shuffled and repeated."""
    signals = [story()[i] for i in order] + [story()[i] for i in repeats]
    if agent:
        signals.insert(len(signals) // 2, a.TakeOver("to", T0 + 4 * M, by="agent"))
        signals.append(a.HandBack("hb", T0 + 9 * M, by="agent"))
    p, _out = _check(signals)
    if any(isinstance(s, a.Booked) for s in signals):
        assert p.status == a.COMPLETED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=12))
def test_timers_fire_once_per_wait(minutes: list[int]) -> None:
    """Ticks at any times (repeated, out of order): at most one reminder and one hand-over per wait."""
    p, _ = run(story()[:2])
    out: list[a.Effect] = []
    for n, m in enumerate(minutes):
        p, effects = a.decide(p, a.Tick(f"t{n}", T0 + m * M), SETUP)
        out.extend(effects)
    assert said(out).count("reminder") <= 1
    assert sum(isinstance(e, a.HandToAgent) for e in out) <= 1
    assert said(out).count("handoff") == sum(isinstance(e, a.HandToAgent) for e in out)


def test_when_payments_or_scheduling_never_answer_a_sales_agent_takes_over() -> None:
    p, _ = run(story()[:5])
    assert p.step == a.PAYMENT_LINK
    assert p.due_at == T0 + 4 * M + SETUP.reply_timeout
    p, out = a.decide(p, a.Tick("t", T0 + 4 * M + SETUP.reply_timeout), SETUP)
    assert p.status == a.AGENT
    assert said(out) == ["handoff"]
    assert [e.reason for e in out if isinstance(e, a.HandToAgent)] == ["Payments made no payment link."]
    p, _ = run(story()[:7])
    assert p.step == a.BOOKING_LINK
    p, out = a.decide(p, a.Tick("t", T0 + 6 * M + SETUP.reply_timeout), SETUP)
    assert [e.reason for e in out if isinstance(e, a.HandToAgent)] == ["Scheduling issued no booking link."]


@pytest.mark.parametrize("raw", ["0", "-1", "1.234", "NaN", "Infinity", "1e400", "abc", ""])
def test_a_deposit_that_is_no_amount_is_refused(raw: str) -> None:
    with pytest.raises(InvalidFunnel) as err:
        a.clean_amount(raw, field_name="procedures.0.amount")
    assert err.value.field == "procedures.0.amount"
    assert a.clean_amount("150", field_name="x") == "150.00"
