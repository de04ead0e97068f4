"""Export and erasure of one person's data held in analytics' read models (docs/privacy.md); the only queries of it.

The person is found as the reports find people: their leads (named, or by their patient ids or phones, and the
leads merged into those), then every appointment, payment and deal naming one of those leads, patient ids or
phones. Erasure keeps every id, time, channel, source and amount, so the facts, the rollups and therefore every
count and revenue total stay as they were; it replaces what names the person:

- the lead's name becomes `kit.privacy.ERASED_NAME`;
- each of the person's phones becomes one random token (`erased:<hex>`) in every table of the clinic that holds
  it (leads, appointments, payments, deals, calls, the fact queue), so rows that named the person only by the
  phone still resolve to the same lead (a payment by phone keeps counting for that lead) while the number is gone;
- the titles of the person's treatment plans and funnel tasks become `kit.privacy.ERASED_TEXT`, the note of a
  source correction is removed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.privacy import Subject
from kit.privacy import ERASED_NAME, ERASED_TEXT

#: What an erased phone starts with (a token, not a number: it never matches a phone of a later event).
ERASED_PHONE = "erased:"

#: The tables that hold a phone, and the column.
_PHONES = (("leads", "phone"), ("appointments", "phone"), ("payments", "phone"), ("deals", "phone"),
           ("calls", "caller"))  # fmt: skip

_PEOPLE = """
    SELECT lead_id, patient_id, phone FROM leads
    WHERE tenant_id = :tenant AND (lead_id = ANY(CAST(:leads AS text[])) OR merged_into = ANY(CAST(:leads AS text[]))
          OR patient_id = ANY(CAST(:patients AS text[])) OR phone = ANY(CAST(:phones AS text[])))"""

_NAMING = """tenant_id = :tenant AND (lead_id = ANY(CAST(:leads AS text[]))
             OR patient_id = ANY(CAST(:patients AS text[])) OR phone = ANY(CAST(:phones AS text[])))"""


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _all(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(r) for r in (await self.session.execute(text(sql), params)).mappings().all()]

    async def _person(self, tenant_id: str, subject: Subject) -> dict[str, Any]:
        """The person's leads, patient ids and phones as analytics knows them (two rounds: the leads found by a
        patient id or a phone bring their own, and the leads merged into them)."""
        leads, patients, phones = set(subject.lead_ids), set(subject.patient_ids), set(subject.phones)
        for _ in range(2):
            params = {"tenant": tenant_id, "leads": sorted(leads), "patients": sorted(patients),
                      "phones": sorted(phones)}  # fmt: skip
            for r in await self._all(_PEOPLE, params):
                leads.add(r["lead_id"])
                patients |= {r["patient_id"]} if r["patient_id"] else set()
                phones |= {r["phone"]} if r["phone"] else set()
        found = {"tenant": tenant_id, "leads": sorted(leads), "patients": sorted(patients), "phones": sorted(phones)}
        deals = await self._all(f"SELECT deal_id FROM deals WHERE {_NAMING}", found)
        return found | {"deals": sorted(d["deal_id"] for d in deals)}

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        p = await self._person(tenant_id, subject)
        mine = "tenant_id = :tenant AND lead_id = ANY(CAST(:leads AS text[]))"
        of_deals = "tenant_id = :tenant AND deal_id = ANY(CAST(:deals AS text[]))"
        queries = {
            "leads": f"SELECT * FROM leads WHERE {mine} AND created_at IS NOT NULL ORDER BY created_at",
            "lead_facts": f"SELECT * FROM lead_facts WHERE {mine} ORDER BY created_at",
            "source_corrections": f"SELECT * FROM source_corrections WHERE {mine}",
            "appointments": f"SELECT * FROM appointments WHERE {_NAMING} ORDER BY booked_at, appointment_id",
            "payments": f"SELECT * FROM payments WHERE {_NAMING} ORDER BY paid_at, payment_id",
            "payment_facts": f"SELECT * FROM payment_facts WHERE {mine} ORDER BY paid_at, payment_id",
            "deals": f"SELECT * FROM deals WHERE {of_deals} ORDER BY created_at",
            "plans": f"SELECT * FROM plans WHERE {of_deals} ORDER BY created_at",
            "tasks": """SELECT * FROM tasks WHERE tenant_id = :tenant AND (lead_id = ANY(CAST(:leads AS text[]))
                         OR deal_id = ANY(CAST(:deals AS text[]))) ORDER BY created_at, task_id""",
            "calls": """SELECT * FROM calls WHERE tenant_id = :tenant AND (lead_id = ANY(CAST(:leads AS text[]))
                        OR caller = ANY(CAST(:phones AS text[]))) ORDER BY started_at""",
            "suggestions": """SELECT * FROM suggestions WHERE tenant_id = :tenant
                              AND (lead_id = ANY(CAST(:leads AS text[])) OR patient_id = ANY(CAST(:patients AS text[])))
                              ORDER BY suggested_at""",
        }
        return {kind: await self._all(sql, p) for kind, sql in queries.items()}

    async def _count(self, sql: str, params: dict[str, Any]) -> int:
        result = await self.session.execute(text(sql), params)
        return int(getattr(result, "rowcount", 0) or 0)

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        """Anonymise the person's rows (the module's docstring); nothing is retained by law here: the facts and
        rollups keep no personal data."""
        p = await self._person(tenant_id, subject)
        counts: dict[str, int] = {}
        counts["leads"] = await self._count(
            "UPDATE leads SET name = :name WHERE tenant_id = :tenant AND lead_id = ANY(CAST(:leads AS text[]))",
            p | {"name": ERASED_NAME},
        )
        phones = [ph for ph in p["phones"] if not ph.startswith(ERASED_PHONE)]
        swap = {"tenant": tenant_id, "from": phones, "to": [f"{ERASED_PHONE}{uuid.uuid4().hex}" for _ in phones]}
        for table, column in _PHONES:
            moved = await self._count(
                f"""UPDATE {table} t SET {column} = m.token
                    FROM unnest(CAST(:from AS text[]), CAST(:to AS text[])) AS m(phone, token)
                    WHERE t.tenant_id = :tenant AND t.{column} = m.phone""",
                swap,
            )
            if table != "leads":
                counts[table] = moved
        await self._count(
            """UPDATE fact_queue q SET ref = m.token
               FROM unnest(CAST(:from AS text[]), CAST(:to AS text[])) AS m(phone, token)
               WHERE q.tenant_id = :tenant AND q.kind = 'phones' AND q.ref = m.phone""",
            swap,
        )
        counts["plans"] = await self._count(
            """UPDATE plans SET title = :erased WHERE tenant_id = :tenant AND deal_id = ANY(CAST(:deals AS text[]))
               AND title IS NOT NULL""",
            p | {"erased": ERASED_TEXT},
        )
        counts["tasks"] = await self._count(
            """UPDATE tasks SET title = :erased WHERE tenant_id = :tenant AND origin = 'deal'
               AND deal_id = ANY(CAST(:deals AS text[])) AND title IS NOT NULL""",
            p | {"erased": ERASED_TEXT},
        )
        counts["source_corrections"] = await self._count(
            """UPDATE source_corrections SET note = NULL WHERE tenant_id = :tenant
               AND lead_id = ANY(CAST(:leads AS text[])) AND note IS NOT NULL""",
            p,
        )
        return counts, {}
