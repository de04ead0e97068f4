// `just bench console` (scripts/bench_console.py runs this): how long each list screen of the console takes,
// in a real headless Chromium, from the moment its list's answer arrives (the fetch resolves) to the frame
// that shows all its rows painted (the first task after the next animation frame), with 1,000 rows in the
// answer. The built console (web/dist) is served by a small static server here; every API call is answered by
// Playwright's routing with data of the shape the gateway's OpenAPI document says (web/src/api/openapi.json:
// a value per schema, its examples where it has them, the few enumerations the screens translate given their
// real values), so the screens run their real code on real-shaped data. The bare ceiling is measured in the
// same run and browser: the same 1,000 rows put into a plain table by hand-written DOM code.
//
//   node e2e/bench.ts [--rows 1000] [--repeat 5] [--only board,week]   (prints one JSON line per screen)
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { extname, join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page, type Route } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "..", "dist");
const SPEC = JSON.parse(readFileSync(join(HERE, "..", "src", "api", "openapi.json"), "utf8"));
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg("rows", 1000);
/** What a windowed list paints at first (web/src/components.tsx, WINDOW). */
const WINDOW = Math.min(ROWS, 100);
const REPEAT = arg("repeat", 5);
/** `--only board,week`: the screens whose name contains one of these (the bare ceiling always runs). */
const ONLY = (() => {
  const i = process.argv.indexOf("--only");
  return i > 0 ? process.argv[i + 1]!.split(",").filter(Boolean) : [];
})();

// --- data of the API's shapes ----------------------------------------------------------------------------
type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const LEAD_STATUSES = ["PENDING_CONTACT", "CONTACTED_NO_RESPONSE", "CONTACTED_CALL_LATER", "REQUIRES_FOLLOW_UP", "INTERESTED_SCHEDULE_APPOINTMENT", "APPOINTMENT_SCHEDULED"];
const BY_NAME: Record<string, (i: number, owner: string) => unknown> = {
  phone: (i) => `+55119${String(87650000 + i).padStart(8, "0")}`,
  currency: () => "BRL",
  timezone: () => "America/Sao_Paulo",
  locale: () => "pt-BR",
  country: () => "BR",
  channel: () => "whatsapp",
  color: () => "#1d5fa8",
  email: (i) => `pessoa${i}@example.com`,
  name: (i) => `Pessoa ${i}`,
  full_name: (i) => `Pessoa ${i}`,
  patient_name: (i) => `Paciente ${i}`,
  status: (i, owner) =>
    owner === "LeadOut" ? LEAD_STATUSES[i % LEAD_STATUSES.length] : owner === "AgendaItem" ? "booked" : owner.startsWith("Charge") ? "paid" : "active",
  state: () => "scheduled",
  urgency: (i) => (i % 3 ? "normal" : "high"),
  source: () => "instagram",
  type: () => "call",
  kind: () => "call",
  direction: () => "in",
};
const MONEY = /(^|_)(amount|price|paid|total|revenue|debt|refunded|gross|discount)$/;
let clock = Date.UTC(2026, 11, 7, 12, 0, 0);

function resolve(schema: Schema): Schema {
  while (schema.$ref) schema = SPEC.components.schemas[schema.$ref.split("/").pop()];
  return schema;
}

function valueOf(raw: Schema, i: number, n: number, owner: string, prop: string): unknown {
  const name = raw.$ref ? raw.$ref.split("/").pop() : owner;
  const schema = resolve(raw);
  if (schema.oneOf || schema.anyOf) {
    const options = (schema.oneOf ?? schema.anyOf) as Schema[];
    return valueOf(options.find((o) => resolve(o).type !== "null") ?? options[0]!, i, n, name, prop);
  }
  if (schema.allOf) return valueOf(schema.allOf[0], i, n, name, prop);
  if (schema.enum) return schema.enum[i % schema.enum.length];
  if (prop in BY_NAME && (schema.type === "string" || !schema.type)) return BY_NAME[prop]!(i, owner);
  if (schema.examples?.length && schema.type !== "object" && schema.type !== "array") return schema.examples[0];
  switch (schema.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) out[key] = valueOf(sub, i, n, name, key);
      return out;
    }
    case "array":
      return Array.from({ length: n }, (_, k) => valueOf(schema.items ?? {}, k, 3, name, prop));
    case "integer":
      return prop === "total" ? n : (i % 7) + 1;
    case "number":
      return (i % 50) + 0.5;
    case "boolean":
      return i % 2 === 0;
    case "string":
      if (schema.format === "uuid" || prop === "id" || prop.endsWith("_id")) return `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`;
      if (schema.format === "date-time" || prop.endsWith("_at")) return new Date((clock -= 60_000)).toISOString();
      if (schema.format === "date") return "2026-12-07";
      if (MONEY.test(prop)) return `${100 + (i % 900)}.00`;
      return `${prop} ${i}`;
    default:
      return null;
  }
}

/** The OpenAPI operation a request is for, and a 200 answer of its schema (the list `big` has `ROWS` items). */
function answerFor(method: string, path: string, big: string | null): unknown {
  const template = Object.keys(SPEC.paths).find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, "[^/]+")}/?$`).test(path));
  const op = template && SPEC.paths[template][method.toLowerCase()];
  if (!op) return null;
  const ok = Object.keys(op.responses).find((c) => c.startsWith("2"));
  const schema = ok && op.responses[ok].content?.["application/json"]?.schema;
  if (!schema) return null;
  return valueOf(schema, 0, template === big ? ROWS : 3, "", "");
}

const ME = {
  id: "00000000-0000-7000-8000-000000000001",
  email: "admin@clinic.example",
  full_name: "Ana Admin",
  roles: ["admin"],
  permissions: ["crm:read", "crm:write", "crm:admin", "scheduling:read", "scheduling:book", "scheduling:checkin", "scheduling:admin", "funnel:read", "funnel:write", "finance:read", "analytics:read", "payments:write"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

/** The agenda's own fixture: `ROWS` appointments over a week of one branch and ten professionals. */
function agenda(date: string, branchId: string, professionals: { id: string; name: string }[]) {
  const monday = new Date(`${date}T00:00:00Z`);
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  const items = Array.from({ length: ROWS }, (_, i) => {
    const day = new Date(monday.getTime() + (i % 7) * 86_400_000).toISOString().slice(0, 10);
    const p = professionals[i % professionals.length]!;
    const minute = 8 * 60 + (Math.floor(i / 7 / professionals.length) % 24) * 30;
    const hh = String(Math.floor(minute / 60)).padStart(2, "0");
    const mm = String(minute % 60).padStart(2, "0");
    const starts = new Date(`${day}T${hh}:${mm}:00-03:00`);
    return {
      ...(valueOf({ $ref: "#/components/schemas/AgendaItem" }, i, 3, "", "") as object),
      id: `appt-${i}`, branch_id: branchId, professional_id: p.id, professional_name: p.name, status: "booked",
      local_start: `${day}T${hh}:${mm}:00-03:00`, starts_at: starts.toISOString(), ends_at: new Date(starts.getTime() + 30 * 60_000).toISOString(),
    };
  });
  return { start: date, end: date, timezone: "America/Sao_Paulo", items };
}

// --- the browser ------------------------------------------------------------------------------------------
interface Screen {
  name: string;
  hash: string;
  /** the OpenAPI path whose list gets ROWS items */
  list: string;
  /** what counts as a row on the screen */
  rows: string;
  /** after the screen shows: something to do that makes it fetch the big list (a view switch) */
  then?: (page: Page) => Promise<void>;
  expected?: number;
}

const SCREENS: Screen[] = [
  { name: "prospects", hash: "#/prospects", list: "/api/v1/leads", rows: "tr[data-lead]", expected: WINDOW },
  { name: "activities", hash: "#/activities", list: "/api/v1/leads/activities", rows: "tr[data-activity]", expected: WINDOW },
  { name: "conversations", hash: "#/conversations", list: "/api/v1/notifications/conversations", rows: "a.conversation", expected: WINDOW },
  { name: "finance", hash: "#/finance", list: "/api/v1/payments/payments", rows: "tr[data-payment]", expected: WINDOW },
  // The board's answer: three stages of ROWS deals each; a column renders the tiles in its scroll box (windowed:
  // about eight each at this viewport), so the screen counts as shown at four per column.
  { name: "pipelines board", hash: "#/pipelines", list: "/api/v1/funnel/pipelines/{pipeline_id}/board", rows: "article[data-deal]", expected: 12 },
  { name: "reception (today)", hash: "#/reception", list: "/api/v1/scheduling/agenda", rows: "tr.slot-row", expected: WINDOW },
  { name: "agenda (list)", hash: "#/agenda", list: "/api/v1/scheduling/agenda", rows: "tr.slot-row", expected: WINDOW, then: async (page) => void (await page.getByLabel("Visão").selectOption("list")) },
  // The week grid renders the half hours in its scroll box, each with at most three cards ("+n" the third when
  // more start then): about 20 rows x 7 days x 3 here, so the screen counts as shown at 100 cards.
  { name: "agenda (week grid)", hash: "#/agenda", list: "/api/v1/scheduling/agenda", rows: ".agenda-grid .slot", expected: 100, then: async (page) => void (await page.getByLabel("Visão").selectOption("week")) },
];

const PROFESSIONALS = Array.from({ length: 10 }, (_, i) => ({ id: `pro-${i}`, name: `Dra. Profissional ${i}` }));

async function route(r: Route, big: string | null) {
  const request = r.request();
  const url = new URL(request.url());
  const path = url.pathname;
  if (path.endsWith("/stream")) return r.fulfill({ status: 200, headers: { "content-type": "text/event-stream" }, body: ": idle\n\n" });
  if (path === "/api/v1/auth/login" || path === "/api/v1/auth/refresh")
    return r.fulfill({ json: { access_token: "a", refresh_token: "r", token_type: "bearer", expires_in: 900 } });
  if (path === "/api/v1/me") return r.fulfill({ json: ME });
  if (path === "/api/v1/scheduling/branches") return r.fulfill({ json: { items: [{ ...(answerFor("GET", path, null) as { items: object[] }).items[0], id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true }] } });
  if (path === "/api/v1/scheduling/professionals") {
    const hours = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "08:00", end: "20:00", branch_id: "b1" }));
    return r.fulfill({ json: { items: PROFESSIONALS.map((p) => ({ ...p, active: true, branch_ids: ["b1"], breaks: [], days_off: [], hours, kind: "doctor", specialties: [], user_id: null })) } });
  }
  if (path === "/api/v1/scheduling/agenda") {
    const date = url.searchParams.get("date") ?? "2026-12-07";
    const view = url.searchParams.get("view");
    const all = agenda(date, "b1", PROFESSIONALS);
    // A day view asks for one day: all ROWS rows on that day when the big list is the agenda.
    if (view === "day") all.items = all.items.map((a) => ({ ...a, local_start: `${date}${a.local_start.slice(10)}` }));
    return r.fulfill({ json: big === "/api/v1/scheduling/agenda" ? all : { ...all, items: all.items.slice(0, 3) } });
  }
  if (big && big.endsWith("/board") && /\/board\/?$/.test(path)) {
    // Three stages of ROWS deals each (the generic answer would make ROWS stages of three).
    const board = answerFor(request.method(), path, null) as { columns: { deals: unknown[]; count: number }[] };
    for (const column of board.columns) {
      column.deals = Array.from({ length: ROWS }, (_, i) => valueOf({ $ref: "#/components/schemas/DealOut" }, i, 3, "", ""));
      column.count = ROWS;
    }
    return r.fulfill({ json: board });
  }
  const body = answerFor(request.method(), path, big);
  return r.fulfill({ status: body === null ? 404 : 200, json: body ?? { status: 404, title: "Not found" } });
}

const MEASURE = `
  window.__bench = { target: null, arrived: 0, rendered: 0, selector: "", want: 0 };
  const original = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const answer = await original(...args);
    const url = args[0] instanceof Request ? args[0].url : String(args[0]);
    const b = window.__bench;
    if (b.target && new RegExp(b.target).test(new URL(url, location.href).pathname)) b.arrived = performance.now();
    return answer;
  };
  new MutationObserver(() => {
    const b = window.__bench;
    if (!b.arrived || b.rendered || !b.selector) return;
    if (document.querySelectorAll(b.selector).length < b.want) return;
    b.rendered = -1;
    requestAnimationFrame(() => setTimeout(() => { b.rendered = performance.now(); }, 0));
  }).observe(document, { childList: true, subtree: true });
`;

function serve(): Promise<{ url: string; close: () => void }> {
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const file = join(DIST, path === "/" ? "index.html" : path);
    if (!file.startsWith(DIST) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, close: () => server.close() })));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("web/dist is missing: `just console-build` first");
  const site = await serve();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=pt-BR"],
  });
  try {
    // The bare ceiling: the same number of rows of six cells built by plain DOM code, same measure.
    const page0 = await browser.newPage();
    await page0.setContent("<main></main>");
    for (const size of [ROWS, WINDOW]) {
    const bare: number[] = [];
    for (let k = 0; k < REPEAT; k++) {
      bare.push(
        await page0.evaluate(async (rows) => {
          const data = JSON.stringify(Array.from({ length: rows }, (_, i) => ({ id: `r${i}`, name: `Pessoa ${i}`, phone: `+5511987650${i}`, status: "booked", at: new Date().toISOString(), amount: "100.00" })));
          const start = performance.now();
          const items = JSON.parse(data) as Record<string, string>[];
          const table = document.createElement("table");
          const body = table.createTBody();
          for (const item of items) {
            const tr = body.insertRow();
            for (const key of ["id", "name", "phone", "status", "at", "amount"]) tr.insertCell().textContent = item[key]!;
          }
          document.querySelector("main")!.replaceChildren(table);
          return new Promise<number>((ok) => requestAnimationFrame(() => setTimeout(() => ok(performance.now() - start), 0)));
        }, size),
      );
    }
    console.log(JSON.stringify({ screen: `bare ceiling (plain table, ${size} rows)`, rows: size, median_ms: Math.round(median(bare)), runs_ms: bare.map(Math.round) }));
    }
    await page0.close();

    for (const screen of SCREENS.filter((s) => !ONLY.length || ONLY.some((o) => s.name.includes(o)))) {
      const runs: number[] = [];
      let shown = 0;
      for (let k = 0; k < REPEAT; k++) {
        const context = await browser.newContext({ locale: "pt-BR", viewport: { width: 1360, height: 860 }, timezoneId: "America/Sao_Paulo" });
        const page = await context.newPage();
        page.setDefaultTimeout(60_000);
        await page.addInitScript(MEASURE);
        let big: string | null = screen.then ? null : screen.list;
        await page.route("**/api/**", (r) => route(r, big));
        await page.goto(site.url);
        await page.getByLabel("E-mail").fill(ME.email);
        await page.getByLabel("Senha").fill("x");
        await page.getByRole("button", { name: "Entrar" }).click();
        await page.getByRole("navigation", { name: "Menu principal" }).waitFor();
        const target = `^${screen.list.replace(/\{[^}]+\}/g, "[^/]+")}/?$`;
        // Away from the screen first (the console may open on it after the log-in), so that it mounts anew.
        await page.evaluate(() => (location.hash = "#/reports"));
        await page.getByRole("heading", { level: 1, name: "Relatórios" }).waitFor();
        if (screen.then) {
          await page.evaluate((h) => (location.hash = h), screen.hash);
          await page.getByLabel("Visão").waitFor();
          big = screen.list;
        }
        await page.evaluate(
          ([t, s, n]) => Object.assign((window as unknown as { __bench: object }).__bench, { target: t, selector: s, want: n, arrived: 0, rendered: 0 }),
          [target, screen.rows, screen.expected ?? ROWS] as const,
        );
        if (screen.then) await screen.then(page);
        else await page.evaluate((h) => (location.hash = h), screen.hash);
        const got = await page.waitForFunction(() => {
          const b = (window as unknown as { __bench: { arrived: number; rendered: number } }).__bench;
          return b.rendered > 0 ? b.rendered - b.arrived : null;
        });
        runs.push((await got.jsonValue()) as number);
        shown = await page.locator(screen.rows).count();
        await context.close();
      }
      console.log(JSON.stringify({ screen: screen.name, rows: shown, median_ms: Math.round(median(runs)), runs_ms: runs.map(Math.round) }));
    }
  } finally {
    await browser.close();
    site.close();
  }
}

await main();
