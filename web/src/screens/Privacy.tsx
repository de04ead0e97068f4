// Privacy (issue 19 in the console), for the privacy officer and admins (`privacy:read`; opening, closing and
// downloading need `privacy:manage`): subject requests with each service's progress and the export's download
// link, the read audit, the retention rules with what the timer removed, and the clinic's consent ledger. The
// lead card shows one person's consent (`ConsentPanel`, `crm:read`; recording it `crm:write`).
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { ApiError, fieldErrors, unwrap, type Problem, type Schemas } from "../api/client";
import { Field, Loading, ProblemBanner } from "../components";
import { useLoad, useStaffName } from "../data";
import { PRIVACY_DICTIONARIES, privacyTranslator, type PrivacyKey, type PT } from "../i18n-privacy";
import { PURPOSES } from "../purpose";
import { useSession } from "../session";

type Request = Schemas["privacy_RequestOut"];
type Consent = Schemas["ConsentOut"];

const KINDS = ["access", "export", "correction", "erasure"] as const;
const STATUSES = ["open", "in_progress", "completed", "rejected"] as const;
const RECORD_KINDS = ["lead", "patient", "anamnesis", "conversation", "recording", "appointment"] as const;
const RETENTION_KINDS = ["lost_leads", "recordings", "messages", "read_audit", "exports"] as const;
/** What applies each rule today (docs/privacy.md, "How long"). */
const RETENTION_APPLIED: Record<string, PrivacyKey> = { read_audit: "ret.applied", exports: "ret.applied", recordings: "ret.elsewhere", lost_leads: "ret.applied", messages: "ret.applied" };
const PURPOSE_KINDS = ["marketing", "reminders", "ai_assistant", "external_ai"] as const;
const CHANNELS = ["any", "whatsapp", "sms", "email", "telegram", "instagram", "phone"] as const;
const PAGE = 50;
const TABS = ["requests", "audit", "retention", "consents"] as const;

export function usePT(): PT {
  const { locale } = useSession();
  return useMemo(() => privacyTranslator(locale), [locale]);
}

/** A text of a set whose keys the dictionary has (`status.open`), else the value as the API sent it. */
function named(p: PT, prefix: string, value: string | null | undefined): string {
  if (!value) return "—";
  const key = `${prefix}.${value}`;
  return key in PRIVACY_DICTIONARIES.en ? p(key as PrivacyKey) : value;
}

function problemOf(e: unknown): Problem {
  return e instanceof ApiError ? e.problem : { status: 0, detail: String(e) };
}

export function Privacy({ path }: { path: string }) {
  const { api, can } = useSession();
  const p = usePT();
  const parts = path.split("/").filter(Boolean); // privacy, tab, id
  const tab = (TABS as readonly string[]).includes(parts[1] ?? "") ? (parts[1] as (typeof TABS)[number]) : "requests";
  const clinic = useLoad(() => unwrap(api.GET("/api/v1/privacy/clinic")), []);
  if (!can("privacy:read")) return null;
  return (
    <section aria-labelledby="privacy-title">
      <h1 id="privacy-title">{p("title")}</h1>
      {clinic.data ? (
        <p className="muted" data-clinic-region={clinic.data.region}>
          {p("clinic", { country: clinic.data.country, region: clinic.data.region, law: clinic.data.law, days: clinic.data.response_days })}
        </p>
      ) : null}
      <nav aria-label={p("tabs")} className="settings-nav">
        {TABS.map((t) => (
          <a key={t} href={`#/privacy/${t}`} aria-current={t === tab ? "page" : undefined}>
            {p(`tab.${t}`)}
          </a>
        ))}
      </nav>
      {tab === "requests" ? parts[2] ? <RequestDetail id={parts[2]} /> : <Requests /> : null}
      {tab === "audit" ? <ReadAudit /> : null}
      {tab === "retention" ? <Retention /> : null}
      {tab === "consents" ? <Ledger /> : null}
    </section>
  );
}

function Pager({ offset, shown, total, onMove }: { offset: number; shown: number; total: number; onMove: (offset: number) => void }) {
  const { fmt } = useSession();
  const p = usePT();
  if (shown === 0) return null;
  const range = p("list.range", { from: fmt.number(offset + 1), to: fmt.number(offset + shown), total: fmt.number(total) });
  return (
    <nav className="pager" aria-label={range}>
      <button type="button" disabled={offset === 0} onClick={() => onMove(Math.max(0, offset - PAGE))}>
        ‹ {p("list.previous")}
      </button>
      <span role="status">{range}</span>
      <button type="button" disabled={offset + shown >= total} onClick={() => onMove(offset + PAGE)}>
        {p("list.next")} ›
      </button>
    </nav>
  );
}

// --- subject requests ----------------------------------------------------------------------------------------

function Requests() {
  const { api, fmt, can } = useSession();
  const p = usePT();
  const [status, setStatus] = useState("");
  const [offset, setOffset] = useState(0);
  const page = useLoad(
    () => unwrap(api.GET("/api/v1/privacy/requests", { params: { query: { ...(status ? { status } : {}), limit: PAGE, offset } } })),
    [status, offset],
  );
  const items = page.data?.items ?? [];
  return (
    <>
      {can("privacy:manage") ? <NewRequest onOpened={(r) => (location.hash = `/privacy/requests/${r.id}`)} /> : null}
      <div className="filters">
        <Field
          name="status"
          label={p("req.status")}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setOffset(0);
          }}
          options={[{ value: "", label: p("req.allStatuses") }, ...STATUSES.map((s) => ({ value: s, label: p(`status.${s}`) }))]}
        />
      </div>
      <ProblemBanner problem={page.problem} shown={[]} />
      <div className="table-wrap" aria-busy={page.loading}>
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{p("req.kind")}</th>
              <th scope="col">{p("req.subject")}</th>
              <th scope="col">{p("req.status")}</th>
              <th scope="col">{p("req.requested")}</th>
              <th scope="col">{p("req.due")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} data-request={r.id}>
                <td>
                  <a href={`#/privacy/requests/${r.id}`} title={p("req.open.link", { id: r.id.slice(-6) })}>
                    {named(p, "kind", r.kind)}
                  </a>
                </td>
                <td>{subjectText(r, fmt.phone.bind(fmt))}</td>
                <td>
                  <span className={`tag request-${r.status}`}>{named(p, "status", r.status)}</span>
                </td>
                <td className="nowrap">{fmt.dateTime(r.requested_at)}</td>
                <td className="nowrap">
                  {fmt.date(r.due_at.slice(0, 10))} {r.overdue ? <span className="tag tag-red">{p("req.overdue")}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.loading && !page.data ? <Loading /> : null}
        {page.data && items.length === 0 ? <p className="muted">{p("req.empty")}</p> : null}
      </div>
      {page.data ? <Pager offset={offset} shown={items.length} total={page.data.total ?? 0} onMove={setOffset} /> : null}
    </>
  );
}

function subjectText(r: Request, phone: (v: string) => string): string {
  const s = r.subject;
  const bits = [...(s.phones ?? []).map(phone), ...(s.emails ?? []), ...(s.cpfs ?? []).map((c) => `CPF ${c}`)];
  if (bits.length === 0 && (s.lead_ids ?? []).length) bits.push(`#${s.lead_ids![0]!.slice(-6)}`);
  return bits.join(", ") || "—";
}

/** "field=value" lines → the API's `corrections`. */
export function parseCorrections(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

const SUBJECT_FIELDS = ["phone", "email", "cpf", "lead"] as const;

function NewRequest({ onOpened }: { onOpened: (r: Request) => void }) {
  const { api } = useSession();
  const p = usePT();
  const [form, setForm] = useState({ kind: "export", phone: "", email: "", cpf: "", lead: "", details: "", corrections: "" });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const { fields } = fieldErrors(problem);
  // The API names the subject's lists (`subject.phones[0]`) and the body's fields.
  const err = (...names: string[]) => Object.entries(fields).find(([f]) => names.some((n) => f === n || f.startsWith(`${n}[`) || f.startsWith(`subject.${n}`)))?.[1];
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      const opened = await unwrap(
        api.POST("/api/v1/privacy/requests", {
          body: {
            kind: form.kind,
            subject: {
              phones: form.phone.trim() ? [form.phone.trim()] : [],
              emails: form.email.trim() ? [form.email.trim()] : [],
              cpfs: form.cpf.trim() ? [form.cpf.trim()] : [],
              lead_ids: form.lead.trim() ? [form.lead.trim()] : [],
              patient_ids: [],
            },
            details: form.details.trim() || null,
            corrections: form.kind === "correction" ? parseCorrections(form.corrections) : {},
          },
        }),
      );
      setProblem(null);
      onOpened(opened);
    } catch (error) {
      setProblem(problemOf(error)); // everything typed stays
    } finally {
      setBusy(false);
    }
  }
  const shown = ["kind", "subject", "phones", "emails", "cpfs", "lead_ids", "details", "corrections"];
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={p("req.new")}>
      <h2>{p("req.new")}</h2>
      <ProblemBanner problem={problem} shown={Object.keys(fields).filter((f) => shown.some((s) => f === s || f.startsWith(`${s}[`) || f.startsWith("subject")))} />
      <div className="row-fields">
        <Field name="kind" label={p("req.kind")} value={form.kind} onChange={set("kind")} error={err("kind")} options={KINDS.map((k) => ({ value: k, label: p(`kind.${k}`) }))} />
      </div>
      <fieldset className="field">
        <legend>{p("req.who")}</legend>
        <div className="row-fields">
          {SUBJECT_FIELDS.map((f) => (
            <Field
              key={f}
              name={f}
              label={p(`req.${f}`)}
              type={f === "email" ? "email" : f === "phone" ? "tel" : "text"}
              value={form[f]}
              onChange={set(f)}
              error={err({ phone: "phones", email: "emails", cpf: "cpfs", lead: "lead_ids" }[f], ...(f === "phone" ? ["subject"] : []))}
            />
          ))}
        </div>
      </fieldset>
      <Field name="details" label={p("req.details")} value={form.details} onChange={set("details")} error={err("details")} multiline />
      {form.kind === "correction" ? <Field name="corrections" label={p("req.corrections")} value={form.corrections} onChange={set("corrections")} error={err("corrections")} multiline /> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {p("req.open")}
        </button>
      </div>
    </form>
  );
}

function RequestDetail({ id }: { id: string }) {
  const { api, fmt, can } = useSession();
  const p = usePT();
  const staffName = useStaffName();
  const request = useLoad(() => unwrap(api.GET("/api/v1/privacy/requests/{request_id}", { params: { path: { request_id: id } } })), [id]);
  const [link, setLink] = useState<{ url: string; expires_at: string } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [resolution, setResolution] = useState("");
  const r = request.data;
  const finished = r ? r.status === "completed" || r.status === "rejected" : false;
  // Long operation: each service answers through the broker; the progress is read again until all have.
  useEffect(() => {
    if (!r || finished) return;
    const timer = setTimeout(request.reload, 2000);
    return () => clearTimeout(timer);
  }, [r, finished, request.reload]);
  if (request.problem) return <ProblemBanner problem={request.problem} shown={[]} />;
  if (!r) return <Loading />;
  const done = r.parts.filter((x) => x.status !== "pending").length;
  async function makeLink() {
    try {
      setLink(await unwrap(api.POST("/api/v1/privacy/requests/{request_id}/link", { params: { path: { request_id: id } } })));
      setProblem(null);
    } catch (e) {
      setProblem(problemOf(e));
    }
  }
  async function resolve(status: "completed" | "rejected") {
    try {
      await unwrap(api.POST("/api/v1/privacy/requests/{request_id}/resolve", { params: { path: { request_id: id } }, body: { status, resolution: resolution.trim() || null } }));
      setProblem(null);
      request.reload();
    } catch (e) {
      setProblem(problemOf(e)); // the resolution typed stays
    }
  }
  const { fields } = fieldErrors(problem);
  return (
    <article aria-labelledby="request-title" data-request={r.id} data-status={r.status}>
      <p>
        <a href="#/privacy/requests">‹ {p("req.back")}</a>
      </p>
      <h2 id="request-title">
        {p("req.title", { kind: named(p, "kind", r.kind) })} <span className={`tag request-${r.status}`}>{named(p, "status", r.status)}</span>
      </h2>
      <dl className="details">
        <div>
          <dt>{p("req.subject")}</dt>
          <dd>{subjectText(r, fmt.phone.bind(fmt))}</dd>
        </div>
        <div>
          <dt>{p("req.requested")}</dt>
          <dd>
            {fmt.dateTime(r.requested_at)} · {staffName(r.requested_by)}
          </dd>
        </div>
        <div>
          <dt>{p("req.due")}</dt>
          <dd>
            {fmt.dateTime(r.due_at)} {r.overdue ? <span className="tag tag-red">{p("req.overdue")}</span> : null}
          </dd>
        </div>
        {r.details ? (
          <div>
            <dt>{p("req.details")}</dt>
            <dd>{r.details}</dd>
          </div>
        ) : null}
        {Object.keys(r.corrections).length ? (
          <div>
            <dt>{p("req.corrected")}</dt>
            <dd>
              {Object.entries(r.corrections)
                .map(([k, v]) => `${k} = ${v}`)
                .join("; ")}
            </dd>
          </div>
        ) : null}
        {r.resolution ? (
          <div>
            <dt>{p("req.resolution")}</dt>
            <dd>{r.resolution}</dd>
          </div>
        ) : null}
      </dl>
      {r.parts.length ? (
        <>
          <h3>{p("req.parts")}</h3>
          <p role="status">
            <progress max={r.parts.length} value={done} aria-label={p("req.parts")} /> {p("req.progress", { done, total: r.parts.length })}
          </p>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">{p("req.service")}</th>
                <th scope="col">{p("req.status")}</th>
                <th scope="col">{p("req.counts")}</th>
                <th scope="col">{p("req.retained")}</th>
                <th scope="col">{p("req.partAt")}</th>
              </tr>
            </thead>
            <tbody>
              {r.parts.map((part) => (
                <tr key={part.service} data-service={part.service} data-part={part.status}>
                  <th scope="row">{part.service}</th>
                  <td>{named(p, "part", part.status)}</td>
                  <td>{counts(part.counts, fmt.number.bind(fmt))}</td>
                  <td>{counts(part.retained, fmt.number.bind(fmt))}</td>
                  <td className="nowrap">{part.at ? fmt.dateTime(part.at) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      <ProblemBanner problem={problem} shown={["resolution"]} />
      {can("privacy:manage") && (r.kind === "access" || r.kind === "export") ? (
        <div className="actions">
          {r.archive_ready ? (
            link ? (
              <a className="button primary" href={link.url} download data-export-link>
                {p("req.download", { when: fmt.dateTime(link.expires_at) })}
              </a>
            ) : (
              <button type="button" className="primary" onClick={() => void makeLink()}>
                {p("req.link")}
              </button>
            )
          ) : (
            <p className="muted">{p("req.notReady")}</p>
          )}
        </div>
      ) : null}
      {can("privacy:manage") && !finished ? (
        <div className="card">
          <Field name="resolution" label={p("req.resolution")} value={resolution} onChange={setResolution} error={fields.resolution} multiline />
          <div className="actions">
            {r.kind === "correction" ? (
              <button type="button" className="primary" onClick={() => void resolve("completed")}>
                {p("req.complete")}
              </button>
            ) : null}
            <button type="button" onClick={() => void resolve("rejected")}>
              {p("req.reject")}
            </button>
          </div>
        </div>
      ) : null}
    </article>
  );
}

function counts(values: Record<string, number>, number: (n: number) => string): string {
  const entries = Object.entries(values).filter(([, n]) => n > 0);
  return entries.length ? entries.map(([k, n]) => `${k}: ${number(n)}`).join(", ") : "—";
}

// --- the read audit --------------------------------------------------------------------------------------------

function ReadAudit() {
  const { api, fmt, me } = useSession();
  const p = usePT();
  const staffName = useStaffName();
  const [form, setForm] = useState({ record_kind: "", record_id: "", actor_id: "" });
  const [query, setQuery] = useState(form);
  const [offset, setOffset] = useState(0);
  const page = useLoad(
    () =>
      unwrap(
        api.GET("/api/v1/privacy/audit/reads", {
          params: {
            query: {
              ...(query.record_kind ? { record_kind: query.record_kind } : {}),
              ...(query.record_id.trim() ? { record_id: query.record_id.trim() } : {}),
              ...(query.actor_id.trim() ? { actor_id: query.actor_id.trim() } : {}),
              limit: PAGE,
              offset,
            },
          },
        }),
      ),
    [query, offset],
  );
  const { fields } = fieldErrors(page.problem);
  const items = page.data?.items ?? [];
  const purposeName = (v: string | null) => ((PURPOSES as readonly string[]).includes(v ?? "") ? named(p, "purpose", v) : (v ?? p("purpose.none")));
  return (
    <>
      <form
        className="filters"
        role="search"
        aria-label={p("tab.audit")}
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setQuery({ ...form });
        }}
      >
        <Field
          name="record_kind"
          label={p("audit.kind")}
          value={form.record_kind}
          onChange={(v) => setForm((f) => ({ ...f, record_kind: v }))}
          error={fields.record_kind}
          options={[{ value: "", label: p("audit.anyKind") }, ...RECORD_KINDS.map((k) => ({ value: k, label: p(`record.${k}`) }))]}
        />
        <Field name="record_id" label={p("audit.recordId")} value={form.record_id} onChange={(v) => setForm((f) => ({ ...f, record_id: v }))} error={fields.record_id} />
        <Field name="actor_id" label={p("audit.actor")} value={form.actor_id} onChange={(v) => setForm((f) => ({ ...f, actor_id: v }))} error={fields.actor_id} />
        <button type="submit">{p("audit.search")}</button>
      </form>
      <ProblemBanner problem={page.problem} shown={["record_kind", "record_id", "actor_id"]} />
      <div className="table-wrap" aria-busy={page.loading}>
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{p("audit.when")}</th>
              <th scope="col">{p("audit.who")}</th>
              <th scope="col">{p("audit.what")}</th>
              <th scope="col">{p("audit.why")}</th>
              <th scope="col">{p("audit.path")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} data-read={e.record_id} data-purpose={e.purpose ?? ""}>
                <td className="nowrap">{fmt.dateTime(e.at)}</td>
                <td>{e.actor_id === me.id ? me.full_name : staffName(e.actor_id)}</td>
                <td>
                  {named(p, "record", e.record_kind)}{" "}
                  {e.record_kind === "lead" ? <a href={`#/prospects/${e.record_id}`}>#{e.record_id.slice(-6)}</a> : <span className="muted">#{e.record_id.slice(-6)}</span>}
                </td>
                <td>{purposeName(e.purpose)}</td>
                <td>
                  <code>{e.path}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.loading && !page.data ? <Loading /> : null}
        {page.data && items.length === 0 ? <p className="muted">{p("audit.empty")}</p> : null}
      </div>
      {page.data ? <Pager offset={offset} shown={items.length} total={page.data.total ?? 0} onMove={setOffset} /> : null}
    </>
  );
}

// --- retention -------------------------------------------------------------------------------------------------

function Retention() {
  const { api, fmt } = useSession();
  const p = usePT();
  const rules = useLoad(() => unwrap(api.GET("/api/v1/privacy/retention")).then((x) => x.items), []);
  const report = useLoad(() => unwrap(api.GET("/api/v1/privacy/retention/report", { params: { query: { limit: PAGE, offset: 0 } } })), []);
  return (
    <>
      <ProblemBanner problem={rules.problem} shown={[]} />
      {rules.data ? (
        <ul className="plain settings-list" aria-label={p("tab.retention")}>
          {RETENTION_KINDS.map((kind) => (
            <li key={kind}>
              <RetentionRule kind={kind} days={rules.data!.find((r) => r.kind === kind)?.days ?? null} onSaved={rules.reload} />
            </li>
          ))}
        </ul>
      ) : (
        <Loading />
      )}
      <h2>{p("ret.report")}</h2>
      <ProblemBanner problem={report.problem} shown={[]} />
      {report.data && report.data.items.length ? (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{p("ret.at")}</th>
              <th scope="col">{p("ret.kind")}</th>
              <th scope="col">{p("ret.removed")}</th>
              <th scope="col">{p("ret.cutoff")}</th>
            </tr>
          </thead>
          <tbody>
            {report.data.items.map((run, i) => (
              <tr key={`${run.at}-${run.kind}-${i}`}>
                <td className="nowrap">{fmt.dateTime(run.at)}</td>
                <td>{named(p, "rkind", run.kind)}</td>
                <td>{fmt.number(run.removed)}</td>
                <td className="nowrap">{fmt.dateTime(run.cutoff)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : report.data ? (
        <p className="muted">{p("ret.noRuns")}</p>
      ) : null}
    </>
  );
}

function RetentionRule({ kind, days, onSaved }: { kind: string; days: number | null; onSaved: () => void }) {
  const { api, can } = useSession();
  const p = usePT();
  const [value, setValue] = useState(days == null ? "" : String(days));
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState(false);
  const { fields } = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    try {
      await unwrap(api.PUT("/api/v1/privacy/retention/{kind}", { params: { path: { kind } }, body: { days: Number(value) } }));
      setProblem(null);
      setSaved(true);
      onSaved();
    } catch (error) {
      setProblem(problemOf(error)); // the number typed stays
    }
  }
  const label = named(p, "rkind", kind);
  return (
    <form onSubmit={submit} noValidate aria-label={label} data-retention={kind}>
      <ProblemBanner problem={problem} shown={["days"]} />
      <div className="row-fields">
        <strong>{label}</strong>
        <Field name="days" type="number" label={p("ret.days")} value={value} onChange={setValue} error={fields.days} />
        <span className="muted">
          {days == null ? `${p("ret.notSet")} · ` : ""}
          {p(RETENTION_APPLIED[kind] ?? "ret.recorded")}
        </span>
        {can("privacy:manage") ? <button type="submit">{p("ret.save")}</button> : null}
        {saved ? (
          <span role="status" className="muted">
            {p("ret.saved")}
          </span>
        ) : null}
      </div>
    </form>
  );
}

// --- consent ---------------------------------------------------------------------------------------------------

function ConsentRows({ items, showPerson }: { items: Consent[]; showPerson?: boolean }) {
  const { fmt } = useSession();
  const p = usePT();
  const staffName = useStaffName();
  return (
    <table className="list">
      <thead>
        <tr>
          <th scope="col">{p("consent.at")}</th>
          {showPerson ? <th scope="col">{p("consent.person")}</th> : null}
          <th scope="col">{p("consent.purpose")}</th>
          <th scope="col">{p("consent.channel")}</th>
          <th scope="col">{p("consent.state")}</th>
          <th scope="col">{p("consent.source")}</th>
          <th scope="col">{p("consent.text")}</th>
          <th scope="col">{p("consent.by")}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((c) => (
          <tr key={c.id} data-consent={`${c.purpose}:${c.channel}`} data-granted={String(c.granted)}>
            <td className="nowrap">{fmt.dateTime(c.at)}</td>
            {showPerson ? <td>{c.lead_id ? <a href={`#/prospects/${c.lead_id}`}>#{c.lead_id.slice(-6)}</a> : c.phone ? fmt.phone(c.phone) : (c.email ?? c.person_key)}</td> : null}
            <td>{named(p, "cpurpose", c.purpose)}</td>
            <td>{named(p, "channel", c.channel)}</td>
            <td>
              <span className={c.granted ? "tag tag-green" : "tag tag-red"}>{c.granted ? p("consent.given") : p("consent.withdrawn")}</span>
            </td>
            <td>{named(p, "csource", c.source)}</td>
            <td>{c.text ?? "—"}</td>
            <td>{c.recorded_by ? staffName(c.recorded_by) : "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Ledger() {
  const { api } = useSession();
  const p = usePT();
  const [purpose, setPurpose] = useState("");
  const [offset, setOffset] = useState(0);
  const page = useLoad(() => unwrap(api.GET("/api/v1/privacy/consents", { params: { query: { ...(purpose ? { purpose } : {}), limit: PAGE, offset } } })), [purpose, offset]);
  const items = page.data?.items ?? [];
  return (
    <>
      <div className="filters">
        <Field
          name="purpose"
          label={p("consent.purpose")}
          value={purpose}
          onChange={(v) => {
            setPurpose(v);
            setOffset(0);
          }}
          options={[{ value: "", label: p("consent.anyPurpose") }, ...PURPOSE_KINDS.map((k) => ({ value: k, label: p(`cpurpose.${k}`) }))]}
        />
      </div>
      <ProblemBanner problem={page.problem} shown={[]} />
      {page.data ? <ConsentRows items={items} showPerson /> : <Loading />}
      {page.data ? <Pager offset={offset} shown={items.length} total={page.data.total ?? 0} onMove={setOffset} /> : null}
    </>
  );
}

/** One person's consent on the lead card: as it stands, the history (the proof), and recording a change. */
export function ConsentPanel({ leadId }: { leadId: string }) {
  const { api, can } = useSession();
  const p = usePT();
  const person = useLoad(() => unwrap(api.GET("/api/v1/privacy/consents/person", { params: { query: { lead_id: leadId } } })), [leadId]);
  const [form, setForm] = useState({ purpose: "marketing", channel: "whatsapp", text: "" });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [showHistory, setShowHistory] = useState(false);
  const { fields } = fieldErrors(problem);
  async function record(granted: boolean) {
    const body = { lead_id: leadId, purpose: form.purpose, channel: form.channel, source: "console", text: form.text.trim() || null };
    try {
      await unwrap(granted ? api.POST("/api/v1/privacy/consents", { body }) : api.POST("/api/v1/privacy/consents/withdraw", { body }));
      setProblem(null);
      setForm((f) => ({ ...f, text: "" }));
      person.reload();
    } catch (e) {
      setProblem(problemOf(e));
    }
  }
  return (
    <section aria-labelledby="consent-title" className="card">
      <h2 id="consent-title">{p("consent.title")}</h2>
      <ProblemBanner problem={person.problem ?? problem} shown={["purpose", "channel", "text"]} />
      {person.data ? (
        <>
          <h3>{p("consent.current")}</h3>
          {person.data.current.length ? <ConsentRows items={person.data.current} /> : <p className="muted">{p("consent.none")}</p>}
          {person.data.history.length > 0 ? (
            <details open={showHistory} onToggle={(e) => setShowHistory((e.target as HTMLDetailsElement).open)}>
              <summary>
                {p("consent.history")} ({person.data.history.length})
              </summary>
              <ConsentRows items={person.data.history} />
            </details>
          ) : null}
        </>
      ) : person.loading ? (
        <Loading />
      ) : null}
      {can("crm:write") ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void record(true);
          }}
          noValidate
          aria-label={p("consent.give")}
        >
          <div className="row-fields">
            <Field name="purpose" label={p("consent.purpose")} value={form.purpose} onChange={(v) => setForm((f) => ({ ...f, purpose: v }))} error={fields.purpose} options={PURPOSE_KINDS.map((k) => ({ value: k, label: p(`cpurpose.${k}`) }))} />
            <Field name="channel" label={p("consent.channel")} value={form.channel} onChange={(v) => setForm((f) => ({ ...f, channel: v }))} error={fields.channel} options={CHANNELS.map((k) => ({ value: k, label: p(`channel.${k}`) }))} />
            <Field name="text" label={p("consent.textHint")} value={form.text} onChange={(v) => setForm((f) => ({ ...f, text: v }))} error={fields.text} />
          </div>
          <div className="actions">
            <button type="submit" className="primary">
              {p("consent.give")}
            </button>
            <button type="button" onClick={() => void record(false)}>
              {p("consent.withdraw")}
            </button>
          </div>
        </form>
      ) : null}
    </section>
  );
}
