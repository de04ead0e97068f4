"""`just bench leads`: one clinic with a million leads; list, search, metrics and match latency.

Starts the whole system on free ports (its own embedded servers, or the ones the environment names), logs in,
writes N generated leads of the admin's clinic straight into the leads database with COPY (plus the per-day
statistics the service keeps), then drives the real HTTP API through the gateway and reports p50/p95/p99 for:

- list with filters (status + source + created range, newest first), and sorted by name;
- free-text search by phone, by name, and by a fragment of a name (someone still typing; one that matches nothing);
- the metrics endpoint;
- the match endpoint (by phone, by name, by e-mail, a name with a typo in its first word, a name nobody has).

Every name search and match also gets its bare ceiling in the same run: the SQL statements the leads service
ran for that request (captured once through its own repository code), replayed straight on PostgreSQL with asyncpg.

    just bench leads                       # 1,000,000 leads, 200 requests per query
    just bench leads --leads 100000 --requests 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, Stack
from kit.db import make_engine, uow_factory
from kit.outbox import plain_dsn
from leads.domain.leads import search_key as service_search_key
from leads.domain.matching import Contact
from leads.domain.queries import LeadQuery
from leads.repository import LeadRepository
from leads.services.matching import find_candidates
from leads.services.work import LeadsUnitOfWork

FIRST = [
    "Maria",
    "Ana",
    "Francisca",
    "Antônia",
    "Adriana",
    "Juliana",
    "Márcia",
    "Fernanda",
    "Patrícia",
    "Aline",
    "Sandra",
    "Camila",
    "Amanda",
    "Bruna",
    "Jéssica",
    "Letícia",
    "Júlia",
    "Luciana",
    "Vanessa",
    "Mariana",
    "Gabriela",
    "Rafaela",
    "Beatriz",
    "Larissa",
    "Débora",
    "José",
    "João",
    "Antônio",
    "Francisco",
    "Carlos",
    "Paulo",
    "Pedro",
    "Lucas",
    "Luiz",
    "Marcos",
    "Luís",
    "Gabriel",
    "Rafael",
    "Daniel",
    "Marcelo",
    "Bruno",
    "Eduardo",
    "Felipe",
    "Raimundo",
    "Rodrigo",
    "Manoel",
    "Mateus",
    "André",
    "Fernando",
    "Fábio",
    "Leonardo",
    "Gustavo",
    "Guilherme",
    "Leandro",
    "Tiago",
    "Anderson",
    "Ricardo",
    "Márcio",
    "Jorge",
    "Sebastião",
    "Alexandre",
    "Roberto",
    "Edson",
    "Diego",
    "Vitor",
    "Sérgio",
    "Cláudio",
    "Matheus",
    "Thiago",
    "Geraldo",
    "Adriano",
    "Luciano",
    "Júlio",
    "Renato",
    "Alex",
    "Vinícius",
    "Rogério",
    "Samuel",
    "Ronaldo",
    "Mário",
    "Flávio",
    "Igor",
    "Douglas",
    "Davi",
    "Manuel",
    "Jeferson",
    "Cícero",
    "Victor",
    "Miguel",
    "Robson",
    "Mauro",
    "Danilo",
    "Joaquim",
    "Ivan",
    "Hugo",
    "Otávio",
    "Caio",
    "Heitor",
    "Enzo",
]
LAST = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Pinto",
    "Correia",
    "Cavalcanti",
    "Moura",
    "Campos",
    "Monteiro",
    "Castro",
    "Batista",
    "Rezende",
    "Azevedo",
    "Freire",
    "Bezerra",
    "Medeiros",
    "Siqueira",
    "Farias",
    "Pires",
    "Borges",
    "Cunha",
    "Aguiar",
    "Brito",
    "Xavier",
    "Sales",
    "Vasconcelos",
    "Miranda",
    "Fonseca",
    "Queiroz",
    "Duarte",
    "Macedo",
    "Tavares",
    "Coelho",
    "Reis",
]
SOURCES = (
    "medical_recommendation",
    "family_recommendation",
    "google_search",
    "social_media_ads",
    "facebook",
    "instagram",
    "tiktok",
    "phone_call",
    "whatsapp",
    "telegram",
    "website_form",
    "walk_in",
)
STATUSES = (
    "PENDING_CONTACT",
    "CONTACTED_NO_RESPONSE",
    "CONTACTED_CALL_LATER",
    "RESCHEDULED",
    "REQUIRES_FOLLOW_UP",
    "NOT_INTERESTED",
    "APPOINTMENT_CANCELED",
    "INTERESTED_SCHEDULE_APPOINTMENT",
    "APPOINTMENT_SCHEDULED",
    "VISIT_COMPLETED",
)
STATUS_WEIGHTS = (25, 12, 10, 4, 8, 15, 3, 6, 7, 10)
DDDS = (11, 21, 31, 41, 51, 61, 71, 81, 85, 91)
NAME, PHONE, EMAIL = 0, 1, 2  # the columns of a sample


def as_typed(phone: str) -> str:
    """'+5511987654321' as staff type it: '(11) 98765-4321'."""
    return f"({phone[3:5]}) {phone[5:10]}-{phone[10:]}"


def _text_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _weighted(weights: tuple[int, ...], values: tuple[str, ...], r: str) -> str:
    """A CASE picking values[i] with probability weights[i] / sum(weights), from a uniform draw `r` in [0, 1)."""
    total, bound, arms = sum(weights), 0.0, []
    for weight, value in zip(weights[:-1], values[:-1], strict=True):
        bound += weight / total
        arms.append(f"WHEN {r} < {bound:.6f} THEN '{value}'")
    return f"CASE {' '.join(arms)} ELSE '{values[-1]}' END"


#: Accented letters of the name pools and their plain forms (leads.domain.search_key strips accents).
ACCENTED, PLAIN = "áàâãéêíóôõúüç", "aaaaeeiooouuc"

#: Every generated lead in one INSERT … SELECT over generate_series: PostgreSQL draws the values (seeded), so
#: a million rows take seconds instead of a minute of Python. The same mix as a clinic's: names from the pools
#: (three words), distinct mobiles over ten area codes, 60 % with an e-mail, weighted statuses and urgencies,
#: creation dates over two years, 30 % with a follow-up in the next weeks or overdue.
SEED_SQL = f"""
INSERT INTO leads (id, tenant_id, name, name_search, name_words, phone, phones, email, source, locale, status,
                   urgency, next_follow_up, channel, visible, stats_day, created_by, created_at, updated_by,
                   updated_at)
SELECT gen_random_uuid(), $1, name, key, string_to_array(key, ' '), phone, ARRAY[phone],
       CASE WHEN r_email < 0.6 THEN replace(key, ' ', '.') || '.' || n || '@example.com' END,
       source, 'pt-BR', status, urgency,
       CASE WHEN r_follow < 0.3 THEN $3::date + (floor(r_follow * 200)::int - 20) END,
       'manual', true, (created AT TIME ZONE 'UTC')::date, $2, created, $2, created
FROM (
    SELECT n, name, translate(lower(name), '{ACCENTED}', '{PLAIN}') AS key, phone, created, r_email, r_follow,
           source, {_weighted(STATUS_WEIGHTS, STATUSES, "r_status")} AS status,
           {_weighted((10, 75, 15), ("high", "normal", "low"), "r_urgency")} AS urgency
    FROM (
        SELECT n,
               ({_text_array(tuple(FIRST))})[1 + floor(random() * {len(FIRST)})::int] || ' ' ||
               ({_text_array(tuple(LAST))})[1 + floor(random() * {len(LAST)})::int] || ' ' ||
               ({_text_array(tuple(LAST))})[1 + floor(random() * {len(LAST)})::int] AS name,
               '+55' || ({_text_array(tuple(str(d) for d in DDDS))})[1 + n % {len(DDDS)}] || '9' ||
               lpad(((n::bigint * 7919 + 10000000) % 90000000 + 10000000)::text, 8, '0') AS phone,
               now() - interval '730 days' + random() * interval '730 days' AS created,
               random() AS r_email, random() AS r_follow,
               ({_text_array(SOURCES)})[1 + floor(random() * {len(SOURCES)})::int] AS source,
               random() AS r_status, random() AS r_urgency
        FROM generate_series(0, $4 - 1) AS n
    ) drawn
) named
"""

STATS_SQL = """
INSERT INTO lead_stats (tenant_id, day, dimension, value, n)
SELECT tenant_id, stats_day, d, v, count(*)
FROM leads, LATERAL (VALUES ('status', status), ('source', source), ('urgency', urgency)) AS x(d, v)
WHERE tenant_id = $1
GROUP BY 1, 2, 3, 4
"""


async def seed(
    dsn: str, count: int, tenant_id: str, user_id: str, today: date, samples: int
) -> tuple[float, list[tuple[Any, ...]]]:
    """Bulk load as an import would: drop the secondary indexes, insert, build them again, analyse. Returns
    the seconds it took and `samples` random leads (name, phone, e-mail) to query for."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads' AND indexname <> 'leads_pkey'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        await conn.execute("SELECT setseed(0.7)")
        await conn.execute(SEED_SQL, uuid.UUID(tenant_id), uuid.UUID(user_id), today, count)
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute(STATS_SQL, uuid.UUID(tenant_id))
        await conn.execute("VACUUM ANALYZE leads")
        await conn.execute("VACUUM ANALYZE lead_stats")
        rows = await conn.fetch(
            "SELECT name, phone, email FROM leads TABLESAMPLE BERNOULLI (1) REPEATABLE (11) WHERE tenant_id = $1 "
            "ORDER BY id LIMIT $2",
            uuid.UUID(tenant_id),
            samples,
        )
    finally:
        await conn.close()
    picked = [(r["name"], r["phone"], r["email"]) for r in rows]
    return time.perf_counter() - started, (picked * (samples // max(1, len(picked)) + 1))[:samples]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def typo_first_word(name: str) -> str:
    """Swap the 2nd and 3rd letters of the first word: 'Maria Silva' -> 'Mrai... ' ('Mraia Silva')."""
    first, _, rest = name.partition(" ")
    if len(first) >= 3:
        first = first[0] + first[2] + first[1] + first[3:]
    return f"{first} {rest}"


def fragment(name: str) -> str:
    """What staff have typed so far: the first word and the start of the next ('Maria Sil')."""
    words = name.split()
    return f"{words[0]} {words[1][:3]}"


NOBODY = ("Xandrina", "Quelvia", "Yolete", "Zuleima", "Wandeca")
NOBODY_LAST = ("Pimentel Brandt", "Kowalski Ybarra", "Quintela Wernke", "Zanetti Okada", "Brummer Yilmaz")


def nobody(i: int) -> str:
    return f"{NOBODY[i % 5]} {NOBODY_LAST[(i // 5) % 5]}"


class Ceiling:
    """Captures the statements the leads service's own code runs for one request, replays them with asyncpg."""

    def __init__(self, url: str, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.engine = make_engine(url, pool_size=1)
        self.uows = uow_factory(self.engine, "bench", LeadsUnitOfWork)
        self.statements: list[tuple[str, Any]] = []
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._grab)
        self.dsn = plain_dsn(url)

    def _grab(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.statements.append((statement, parameters))

    async def capture(self, kind: str, value: Any) -> list[tuple[str, Any]]:
        self.statements = []
        async with self.uows() as uow:
            if kind == "search":
                await LeadRepository(uow.session).page(self.tenant_id, LeadQuery(name=service_search_key(value)))
            else:
                await find_candidates(uow, self.tenant_id, value)
        return [(s, p) for s, p in self.statements if not s.lstrip().upper().startswith(("BEGIN", "ROLLBACK"))]

    async def measure(self, name: str, kind: str, values: list[Any]) -> dict[str, Any]:
        plans = [await self.capture(kind, v) for v in values]
        conn = await asyncpg.connect(self.dsn)
        timings = []
        try:
            for statements in plans[:3] + plans:  # the first three again as warm-up, like the HTTP run
                started = time.perf_counter()
                for statement, parameters in statements:
                    await conn.fetch(statement, *(parameters or ()))
                timings.append((time.perf_counter() - started) * 1000)
        finally:
            await conn.close()
        timings = timings[3:]
        return {
            "query": name,
            "statements": round(statistics.fmean(len(p) for p in plans), 1),
            "p50_ms": round(percentile(timings, 50), 1),
            "p95_ms": round(percentile(timings, 95), 1),
            "p99_ms": round(percentile(timings, 99), 1),
        }

    async def close(self) -> None:
        await self.engine.dispose()


async def log_in(client: httpx.AsyncClient) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}
    )
    login.raise_for_status()
    client.headers["authorization"] = f"Bearer {login.json()['access_token']}"


async def measure(client: httpx.AsyncClient, name: str, make: Any, requests: int) -> dict[str, Any]:
    timings: list[float] = []
    statuses: Counter[int] = Counter()
    sizes = []
    for i in range(requests):
        method, path, kwargs = make(i)
        started = time.perf_counter()
        answer = await client.request(method, path, **kwargs)
        if answer.status_code == 401:  # the access token expired (15 min) during the run: again, untimed
            await log_in(client)
            started = time.perf_counter()
            answer = await client.request(method, path, **kwargs)
        timings.append((time.perf_counter() - started) * 1000)
        statuses[answer.status_code] += 1
        body = answer.json()
        sizes.append(len(body.get("items") or body.get("candidates") or []) if isinstance(body, dict) else 0)
    return {
        "query": name,
        "requests": requests,
        "statuses": dict(statuses),
        "p50_ms": round(percentile(timings, 50), 1),
        "p95_ms": round(percentile(timings, 95), 1),
        "p99_ms": round(percentile(timings, 99), 1),
        "mean_ms": round(statistics.fmean(timings), 1),
        "mean_results": round(statistics.fmean(sizes), 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clinicflow-bench-leads-") as tmp:
        stack = Stack(Path(tmp), free_ports=True)
        try:
            print("starting the system ...", flush=True)
            await asyncio.to_thread(stack.up)
            async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60.0) as client:
                await log_in(client)
                me = (await client.get("/api/v1/me")).json()
                await client.get("/api/v1/leads/lists/source")  # seeds the clinic's lists
                today = date.today()
                print(f"writing {args.leads:,} leads (INSERT … SELECT generate_series) and indexing ...", flush=True)
                load_s, samples = await seed(
                    plain_dsn(stack.database_url("leads")),
                    args.leads,
                    me["tenant"]["id"],
                    me["id"],
                    today,
                    args.requests,
                )
                from_day = (today - timedelta(days=90)).isoformat()
                queries: list[tuple[str, Any]] = [
                    (
                        "list: status+source+90 days, newest first",
                        lambda i: (
                            "GET",
                            "/api/v1/leads",
                            {
                                "params": {
                                    "status": STATUSES[i % 3],
                                    "source": SOURCES[i % len(SOURCES)],
                                    "created_from": from_day,
                                    "limit": 50,
                                }
                            },
                        ),
                    ),
                    (
                        "list: urgency high + owner none, by name",
                        lambda i: (
                            "GET",
                            "/api/v1/leads",
                            {
                                "params": {
                                    "urgency": "high",
                                    "owner_id": "none",
                                    "sort": "name",
                                    "limit": 50,
                                    "offset": (i % 10) * 50,
                                }
                            },
                        ),
                    ),
                    (
                        "list: follow-ups today",
                        lambda i: ("GET", "/api/v1/leads", {"params": {"follow_up": "today", "limit": 50}}),
                    ),
                    (
                        "search: phone",
                        lambda i: (
                            "GET",
                            "/api/v1/leads",
                            {"params": {"q": as_typed(samples[i][PHONE])}},
                        ),
                    ),
                    (
                        "search: name",
                        lambda i: ("GET", "/api/v1/leads", {"params": {"q": " ".join(samples[i][NAME].split()[:2])}}),
                    ),
                    (
                        "search: name fragment (typing)",
                        lambda i: ("GET", "/api/v1/leads", {"params": {"q": fragment(samples[i][NAME])}}),
                    ),
                    (
                        "search: 3 letters of a first name",
                        lambda i: ("GET", "/api/v1/leads", {"params": {"q": samples[i][NAME][:3]}}),
                    ),
                    (
                        "search: fragment matching nothing",
                        lambda i: ("GET", "/api/v1/leads", {"params": {"q": f"{nobody(i)[:9]}"}}),
                    ),
                    ("metrics: last 30 days", lambda i: ("GET", "/api/v1/leads/metrics", {})),
                    (
                        "metrics: two years",
                        lambda i: (
                            "GET",
                            "/api/v1/leads/metrics",
                            {"params": {"from": (today - timedelta(days=730)).isoformat()}},
                        ),
                    ),
                    ("match: phone", lambda i: ("POST", "/api/v1/leads/match", {"json": {"phone": samples[i][PHONE]}})),
                    ("match: name", lambda i: ("POST", "/api/v1/leads/match", {"json": {"name": samples[i][NAME]}})),
                    (
                        "match: name, typo in the first word",
                        lambda i: (
                            "POST",
                            "/api/v1/leads/match",
                            {"json": {"name": typo_first_word(samples[i][NAME])}},
                        ),
                    ),
                    (
                        "match: a name nobody has",
                        lambda i: ("POST", "/api/v1/leads/match", {"json": {"name": nobody(i)}}),
                    ),
                    (
                        "match: name + e-mail + phone",
                        lambda i: (
                            "POST",
                            "/api/v1/leads/match",
                            {
                                "json": {
                                    "name": samples[i][NAME],
                                    "email": samples[i][EMAIL],
                                    "phone": samples[i][PHONE],
                                }
                            },
                        ),
                    ),
                ]
                await log_in(client)  # a fresh token: the seeding took minutes
                for _, make in queries:  # warm caches the way a running clinic has them
                    for i in range(3):
                        await client.request(*make(i)[:2], **make(i)[2])
                results = [await measure(client, name, make, args.requests) for name, make in queries]
                print("bare ceiling: the same statements straight on PostgreSQL ...", flush=True)
                ceiling = Ceiling(stack.database_url("leads"), me["tenant"]["id"])
                try:
                    n = range(args.requests)
                    names = [s[NAME] for s in samples]
                    ceilings = [
                        await ceiling.measure("search: name", "search", [" ".join(x.split()[:2]) for x in names]),
                        await ceiling.measure("search: name fragment (typing)", "search", [fragment(x) for x in names]),
                        await ceiling.measure("search: 3 letters of a first name", "search", [x[:3] for x in names]),
                        await ceiling.measure(
                            "search: fragment matching nothing", "search", [nobody(i)[:9] for i in n]
                        ),
                        await ceiling.measure("match: name", "match", [Contact(name=x) for x in names]),
                        await ceiling.measure(
                            "match: name, typo in the first word",
                            "match",
                            [Contact(name=typo_first_word(x)) for x in names],
                        ),
                        await ceiling.measure(
                            "match: a name nobody has", "match", [Contact(name=nobody(i)) for i in n]
                        ),
                    ]
                finally:
                    await ceiling.close()
        finally:
            stack.stop()
    return {
        "leads": args.leads,
        "requests_per_query": args.requests,
        "load_seconds": round(load_s, 1),
        "machine": {
            "nproc": os.cpu_count(),
            "python": sys.version.split()[0],
            "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "results": results,
        "ceiling": ceilings,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="just bench leads")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per query")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(
        f"\n{report['leads']:,} leads in one clinic (loaded in {report['load_seconds']} s); "
        f"{report['requests_per_query']} sequential requests per query through the gateway\n"
    )
    print(f"{'query':<45} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'results':>8}  statuses")
    for r in report["results"]:
        print(
            f"{r['query']:<45} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {r['mean_results']:>8}  "
            f"{r['statuses']}"
        )
    print(
        f"\nbare ceiling, the same statements on PostgreSQL with asyncpg\n{'query':<45} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'stmts':>8}"
    )
    for r in report["ceiling"]:
        print(f"{r['query']:<45} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {r['statements']:>8}")
    slow = [r["query"] for r in report["results"] if r["p95_ms"] >= 100]
    print("\nall under 100 ms p95" if not slow else f"\nover 100 ms p95: {', '.join(slow)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
