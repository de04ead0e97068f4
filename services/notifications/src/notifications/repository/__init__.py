"""The only package of notifications that builds queries: one module per concern.

- `rows`: Table rows <-> domain objects: messages and the plain dict of a row.
- `messages`: Outbound messages: add once per dedupe key, save, lease the due ones (`SKIP LOCKED`), cancel, find.
- `templates`: The clinic's own template texts per name, locale and channel.
- `rules`: The clinic's own rules (and changed defaults).
- `settings`: The clinic's time zone, locale and quiet hours.
- `opt_outs`: Channel opt-outs per clinic, channel and address (checked for every batch before sending).
- `contacts`: notifications' copy of the people leads describes (name, phones, e-mail, locale, owner).
- `conversations`: One conversation per person across channels: addresses, links to the lead, the last inbound per
  address.
- `inbound`: What people wrote (and sent): stored once per provider id; media waiting for the worker to fetch them.
- `inapp`: Staff's in-app notifications and who read them.
- `accounts`: The clinics' provider accounts that route inbound messages to them.
- `confirmations`: Appointment confirmations per channel and step (the confirmation rates).
- `assistant`: The reply assistant's settings, its suggestions and the past answers it learns from.
- `privacy`: the consent ledger's copy, a person's export and erasure, the messages retention.
"""
