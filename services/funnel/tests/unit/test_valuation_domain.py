"""The valuation -> quote state machine: whatever the order or repetition of what happens, each step is taken
once and the process ends where the story says (docs/quotes.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.domain import Conflict, InvalidFunnel
from funnel.domain import valuation as v

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
DOCTOR, QUOTE = "doc-1", "quote-1"


def story(action: str = v.ACCEPT) -> list[v.Happening]:
    photos: list[v.Happening] = [v.PhotoAdded(slot, T0 + timedelta(minutes=i)) for i, slot in enumerate(v.SLOTS)]
    return [
        *photos,
        v.DoctorAssigned(DOCTOR),
        v.ValuationRecorded(DOCTOR),
        v.QuoteSent(QUOTE, T0 + timedelta(hours=2)),
        v.Answered(QUOTE, action, T0 + timedelta(hours=3)),
    ]


def converge(arrivals: list[v.Happening]) -> tuple[v.Process, list[str]]:
    """A consumer that retries what the state refused (a redelivery later), until nothing more applies."""
    p, said, pending = v.Process(), [], list(arrivals)
    while True:
        refused = []
        for e in pending:
            try:
                p, out = v.step(p, e)
            except (Conflict, InvalidFunnel):
                refused.append(e)
                continue
            said += out
        if len(refused) == len(pending):
            return p, said
        pending = refused


def test_the_story_in_order() -> None:
    p, said = v.run(story())
    assert p.state == v.ACCEPTED
    assert p.photos == frozenset(v.SLOTS)
    assert said.count(v.COMPLETED) == 1
    assert said == [v.RECEIVED] * 5 + [v.COMPLETED, v.ASSIGNED, v.RECORDED, v.SENT_OUT, v.ANSWERED]
    assert p.waiting_for == v.CLINIC
    assert p.answer_due_at == T0 + timedelta(hours=3) + v.ANSWER_WITHIN


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([v.ACCEPT, v.REJECT, v.ASK]))
def test_any_order_with_duplicates_takes_each_step_once(data: st.DataObject, action: str) -> None:
    events = story(action)
    repeated = data.draw(st.lists(st.sampled_from(events), max_size=12))
    arrivals = data.draw(st.permutations(events + repeated))
    p, said = converge(arrivals)
    expected, _ = v.run(story(action))
    assert p == expected
    for step in (v.COMPLETED, v.ASSIGNED, v.SENT_OUT, v.ANSWERED):
        assert said.count(step) == 1, (step, said)
    # The doctor may amend the valuation until the quote goes out: each recording is announced, none after.
    amendments = sum(1 for e in repeated if isinstance(e, v.ValuationRecorded))
    assert 1 <= said.count(v.RECORDED) <= 1 + amendments
    # A replaced photo is announced again, never counted again.
    assert len(p.photos) == v.PHOTOS_REQUIRED


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(v.SLOTS), max_size=20))
def test_photos_complete_once_exactly_when_every_slot_is_in(slots: list[str]) -> None:
    p, said = v.run(v.PhotoAdded(s, T0) for s in slots)
    complete = set(slots) == set(v.SLOTS)
    assert said.count(v.COMPLETED) == (1 if complete else 0)
    assert p.state == (v.VALUING if complete else v.COLLECTING)
    assert p.photos == frozenset(slots)
    assert p.reminder_due_at is None if complete else True


def test_a_new_photo_after_completion_is_refused_and_a_redelivered_one_ignored() -> None:
    p, _ = v.run(v.PhotoAdded(s, T0) for s in v.SLOTS)
    assert v.step(p, v.PhotoAdded("front", T0)) == (p, ())
    with pytest.raises(InvalidFunnel):
        v.step(p, v.PhotoAdded("nape", T0))


def test_a_final_answer_is_final_and_a_repeated_one_a_no_op() -> None:
    p, _ = v.run(story(v.ACCEPT))
    assert v.step(p, v.Answered(QUOTE, v.ACCEPT, T0)) == (p, ())
    with pytest.raises(Conflict):
        v.step(p, v.Answered(QUOTE, v.REJECT, T0))
    with pytest.raises(Conflict):  # an old link after a newer quote
        v.step(p, v.Answered("quote-0", v.ACCEPT, T0))


def test_a_question_then_the_agents_reply_reopens_the_prospects_24_hours() -> None:
    p, _ = v.run(story(v.ASK))
    assert p.state == v.QUESTION
    assert p.answer_due_at is None
    later = T0 + timedelta(hours=5)
    p, said = v.step(p, v.ClinicReplied(later))
    assert said == (v.REPLIED,)
    assert (p.state, p.waiting_for, p.answer_due_at) == (v.SENT, v.PROSPECT, later + v.ANSWER_WITHIN)
    p, _ = v.step(p, v.Answered(QUOTE, v.ACCEPT, later))
    assert p.state == v.ACCEPTED


def test_the_24_hour_rules() -> None:
    sent, _ = v.run(story()[:-1])
    due = T0 + timedelta(hours=2) + v.ANSWER_WITHIN
    assert v.answer_overdue(sent, due - timedelta(seconds=1)) is None
    assert v.answer_overdue(sent, due) == v.PROSPECT
    accepted, _ = v.run(story())
    assert v.answer_overdue(accepted, T0 + timedelta(hours=26, seconds=59)) is None
    assert v.answer_overdue(accepted, T0 + timedelta(hours=27)) == v.CLINIC
    closed, _ = v.step(accepted, v.ClinicReplied(T0 + timedelta(hours=4)))
    assert closed.state == v.CLOSED
    assert v.answer_overdue(closed, T0 + timedelta(days=9)) is None
    rejected, _ = v.run(story(v.REJECT))
    assert v.answer_overdue(rejected, T0 + timedelta(days=9)) is None


def test_reminders_every_day_up_to_the_limit() -> None:
    p = v.opened(T0)
    assert not v.reminder_due(p, T0 + timedelta(hours=23))
    now = T0 + v.REMINDER_EVERY
    for n in range(1, v.MAX_REMINDERS + 1):
        assert v.reminder_due(p, now)
        p = v.after_reminder(p, now)
        assert p.reminders == n
        now += v.REMINDER_EVERY
    assert p.reminder_due_at is None
    assert not v.reminder_due(p, now + timedelta(days=30))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.none() | st.integers(0, 1000).map(lambda m: T0 - timedelta(minutes=m))),
        min_size=1,
        max_size=8,
    )
)
def test_the_doctor_with_the_fewest_open_valuations_then_idle_longest(loads: list[tuple[int, datetime | None]]) -> None:
    doctors = [v.DoctorLoad(f"d{i}", n, at) for i, (n, at) in enumerate(loads)]
    chosen = v.choose_doctor(doctors)
    assert chosen is not None
    fewest = min(d.open_valuations for d in doctors)
    assert chosen.open_valuations == fewest
    tied = [d for d in doctors if d.open_valuations == fewest]
    if any(d.last_active_at is None for d in tied):
        assert chosen.last_active_at is None
    else:
        assert chosen.last_active_at == min(d.last_active_at for d in tied if d.last_active_at)
    assert v.choose_doctor([]) is None


def test_only_active_diagnostic_doctors_count() -> None:
    assert v.is_diagnostic_doctor(["diagnostic_doctor"], True)
    assert not v.is_diagnostic_doctor(["diagnostic_doctor"], False)
    assert not v.is_diagnostic_doctor(["professional"], True)


def test_quote_prices_come_from_costs_and_discounts() -> None:
    fue = v.Cost("c1", "FUE 2500 grafts", Decimal("85000.00"), "MXN")
    prp = v.Cost("c2", "PRP session", Decimal("3500.00"), "MXN")
    launch = v.Discount("d1", "Launch", Decimal("10"))
    priced = v.price_quote([v.Line(fue, 1), v.Line(prp, 3, v.Discount("d2", "PRP pack", Decimal("20")))], launch)
    assert priced.currency == "MXN"
    assert priced.subtotal == Decimal("95500.00")
    assert [line.total for line in priced.lines] == [Decimal("76500.00"), Decimal("8400.00")]
    assert priced.total == Decimal("84900.00")
    with pytest.raises(InvalidFunnel) as empty:
        v.price_quote([])
    assert empty.value.field == "items"
    with pytest.raises(InvalidFunnel, match="same currency"):
        v.price_quote([v.Line(fue, 1), v.Line(v.Cost("c3", "x", Decimal(1), "USD"), 1)])
    with pytest.raises(InvalidFunnel) as qty:
        v.price_quote([v.Line(fue, 0)])
    assert qty.value.field == "items[0].quantity"


def test_photos_are_checked_by_their_bytes() -> None:
    assert v.check_photo(b"\xff\xd8\xff\xe0" + b"0" * 100) == "image/jpeg"
    assert v.check_photo(b"\x89PNG\r\n\x1a\n" + b"0" * 10) == "image/png"
    assert v.check_photo(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    for bad in (b"", b"%PDF-1.7", b"\xff\xd8\xff" + b"0" * v.MAX_PHOTO_BYTES):
        with pytest.raises(InvalidFunnel) as refused:
            v.check_photo(bad)
        assert refused.value.field == "photo"


def test_contact_details() -> None:
    assert v.clean_phone("+52 55 1234-5678") == "+525512345678"
    assert v.clean_phone("  ") is None
    with pytest.raises(InvalidFunnel):
        v.clean_phone("5512345678")
    assert v.clean_email(" a@b.mx ") == "a@b.mx"
    with pytest.raises(InvalidFunnel):
        v.clean_email("not-an-email")


# --- opened by a lead's request ------------------------------------------------------------------------
RULE = v.RequestRule(treatments=frozenset({"hair_transplant"}), agent_id="agent-1")
MARIA = v.Prospect(name="María López", phone="+5215512345678", locale="es")


def test_a_request_opens_a_valuation_only_for_the_clinics_treatments() -> None:
    assert v.on_request(RULE, "hair_transplant", MARIA, has_open=False) == v.OPEN
    assert v.on_request(RULE, "botox", MARIA, has_open=False) == v.NOT_NEEDED
    assert v.on_request(RULE, None, MARIA, has_open=False) == v.NOT_NEEDED
    assert v.on_request(None, "hair_transplant", MARIA, has_open=False) == v.NOT_NEEDED  # never configured
    assert v.on_request(v.RequestRule(), "hair_transplant", MARIA, has_open=False) == v.NOT_NEEDED
    assert v.on_request(RULE, "hair_transplant", None, has_open=False) == v.NO_LEAD
    assert v.on_request(RULE, "hair_transplant", MARIA, has_open=True) == v.ALREADY_OPEN
    no_address = v.Prospect(name="Telegram 123")
    assert v.on_request(RULE, "hair_transplant", no_address, has_open=False) == v.UNREACHABLE
    by_mail = v.Prospect(name="Ana", email="ana@example.com")
    assert v.on_request(RULE, "hair_transplant", by_mail, has_open=False) == v.OPEN


def test_the_treatments_setting_is_cleaned_and_refused_with_the_field() -> None:
    assert v.clean_treatments([" hair_transplant", "prp", "hair_transplant"]) == ("hair_transplant", "prp")
    assert v.clean_treatments([]) == ()
    with pytest.raises(InvalidFunnel) as bad:
        v.clean_treatments(["prp", "Hair Transplant"])
    assert bad.value.field == "treatments.1"
    with pytest.raises(InvalidFunnel) as many:
        v.clean_treatments([f"t{i}" for i in range(v.MAX_TREATMENTS + 1)])
    assert many.value.field == "treatments"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["hair_transplant", "botox", None, "dup"]), max_size=12))
def test_requests_in_any_order_open_at_most_one_process_at_a_time(treatments: list[str | None]) -> None:
    """Whatever requests arrive (duplicates included), a lead has at most one open valuation, and the first
    request for a treatment that needs one opens it."""
    has_open = False
    opened = 0
    for t in treatments:
        verdict = v.on_request(RULE, "hair_transplant" if t == "dup" else t, MARIA, has_open=has_open)
        if verdict == v.OPEN:
            opened += 1
            has_open = True
    assert opened == (1 if any(t in ("hair_transplant", "dup") for t in treatments) else 0)
