"""The only package of scheduling that builds queries: one module per aggregate.

- `rows`: table rows <-> domain objects;
- `setup`: policy, branches, professionals, procedures, questionnaires;
- `appointments`: appointments and holds (the exclusion constraint), busy spans, the board's NOTIFY;
- `reminders`: the durable reminder schedule (`FOR UPDATE SKIP LOCKED`);
- `entitlements`: paid entitlements behind the payment gate;
- `anamnesis`: signed questionnaires;
- `waitlist`: the waitlist, lapsed offers and a person's attendance.
"""
