// Valuations (docs/quotes.md): the clinic's valuation → quote processes, filtered and paged on the server
// (`GET /api/v1/funnel/valuations?state=&agent_id=&doctor_id=`; a diagnostic doctor without funnel:read sees
// their own), opening one (`POST /valuations`, funnel:write) and its card (`#/valuations/<id>`, ValuationCard.tsx).
import { useState, type FormEvent } from "react";
import { unwrap } from "../../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../../components";
import { useLoad, useSave } from "../../data";
import { LOCALES, LOCALE_NAMES } from "../../i18n";
import { useSession } from "../../session";
import { nameIn, PAGE, Pager, textOf, useFunnelT, useMembers } from "./kit";
import { ValuationCard } from "./ValuationCard";
import "../../desk.css";

export const STATES = ["collecting", "valuing", "quoting", "quote_sent", "question", "accepted", "rejected", "closed", "cancelled"] as const;
export const DOCTOR = "diagnostic_doctor";

export function Valuations({ path }: { path: string }) {
  const { api, can, fmt } = useSession();
  const f = useFunnelT();
  const members = useMembers();
  const [state, setState] = useState("");
  const [agent, setAgent] = useState("");
  const [doctor, setDoctor] = useState("");
  const [offset, setOffset] = useState(0);
  const [opening, setOpening] = useState(false);
  // The answer of an opening: its photo link, shown on its card (the API never shows it again).
  const [opened, setOpened] = useState<{ id: string; upload_url: string } | null>(null);
  const openId = /^\/valuations\/([\w-]+)$/.exec(path)?.[1] ?? null;
  const page = useLoad(
    () => unwrap(api.GET("/api/v1/funnel/valuations", { params: { query: { state: state || null, agent_id: agent || null, doctor_id: doctor || null, limit: PAGE, offset } } })),
    [state, agent, doctor, offset],
  );
  const filter = (set: (v: string) => void) => (v: string) => (set(v), setOffset(0));
  const items = page.data?.items ?? [];
  const doctors = members.filter((m) => m.roles.includes(DOCTOR));
  return (
    <section aria-labelledby="val-title" className="valuations">
      <div className="title-row">
        <h1 id="val-title">{f("val.title")}</h1>
        {can("funnel:write") ? (
          <button type="button" className="primary" onClick={() => setOpening(true)}>
            + {f("val.new")}
          </button>
        ) : null}
      </div>
      <p className="muted">{f("val.help")}</p>
      <form className="filters filters-funnel" onSubmit={(e) => e.preventDefault()} aria-label={f("val.filters")}>
        <Field name="state" label={f("val.state")} value={state} onChange={filter(setState)} options={[{ value: "", label: f("any") }, ...STATES.map((s) => ({ value: s, label: f(`val.state.${s}`) }))]} />
        <Field name="agent_id" label={f("val.agent")} value={agent} onChange={filter(setAgent)} options={[{ value: "", label: f("any") }, ...members.map((m) => ({ value: m.id, label: m.name }))]} />
        <Field name="doctor_id" label={f("val.doctor")} value={doctor} onChange={filter(setDoctor)} options={[{ value: "", label: f("any") }, ...doctors.map((m) => ({ value: m.id, label: m.name }))]} />
      </form>
      <ProblemBanner problem={page.problem} shown={[]} />
      {!page.data && page.loading ? <Loading /> : null}
      {page.data && !items.length ? <p className="muted">{f("val.none")}</p> : null}
      {items.length ? (
        <div className="table-wrap" aria-busy={page.loading}>
          <table>
            <thead>
              <tr>
                <th scope="col">{f("val.prospect")}</th>
                <th scope="col">{f("val.phone")}</th>
                <th scope="col">{f("val.state")}</th>
                <th scope="col">{f("val.photos")}</th>
                <th scope="col">{f("val.agent")}</th>
                <th scope="col">{f("val.doctor")}</th>
                <th scope="col">{f("val.waiting")}</th>
                <th scope="col">{f("val.updated")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((v) => (
                <tr key={v.id} data-valuation={v.id} data-state={v.state}>
                  <td>
                    <a href={`#/valuations/${v.id}`}>{v.name ?? f("none")}</a>
                  </td>
                  <td className="nowrap">{v.phone ? fmt.phone(v.phone) : f("none")}</td>
                  <td>
                    <span className={`state state-val-${v.state}`}>{textOf(f, "val.state.", v.state)}</span>
                  </td>
                  <td>{f("val.photosOf", { n: v.photos_received, total: v.photos_required })}</td>
                  <td>{nameIn(members, v.agent_id, f)}</td>
                  <td>{nameIn(members, v.doctor_id, f)}</td>
                  <td>{v.waiting_for ? textOf(f, "val.waiting.", v.waiting_for).replace("{when}", fmt.dateTime(v.answer_due_at)) : f("none")}</td>
                  <td className="nowrap">{fmt.dateTime(v.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager offset={offset} total={page.data?.total ?? 0} onOffset={setOffset} />
      {opening ? <OpenDialog onClose={() => setOpening(false)} onOpened={(made) => (setOpening(false), setOpened(made), page.reload(), (location.hash = `/valuations/${made.id}`))} /> : null}
      {openId ? <ValuationCard id={openId} members={members} uploadUrl={opened?.id === openId ? opened.upload_url : undefined} onClose={() => (location.hash = "/valuations")} onChanged={page.reload} /> : null}
    </section>
  );
}

function OpenDialog({ onClose, onOpened }: { onClose: () => void; onOpened: (made: { id: string; upload_url: string }) => void }) {
  const { api } = useSession();
  const f = useFunnelT();
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [email, setEmail] = useState("");
  const [locale, setLocale] = useState("");
  const { problem, busy, fields, save } = useSave();
  let made: { id: string; upload_url: string } | null = null;
  async function submit(event: FormEvent) {
    event.preventDefault();
    const ok = await save(async () => {
      const answer = (await unwrap(
        api.POST("/api/v1/funnel/valuations", {
          body: { name, phone: phone.trim() ? phone.replace(/[\s()-]/g, "") : null, email: email.trim() || null, locale: locale || null },
        }),
      )) as { id: string; upload_url: string };
      made = answer;
    });
    if (ok && made) onOpened(made);
  }
  return (
    <Dialog title={f("val.newTitle")} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={["name", "phone", "email", "locale"]} />
        <Field name="name" label={f("val.prospect")} value={name} onChange={setName} error={fields.name} required />
        <Field name="phone" label={f("val.phone")} type="tel" value={phone} onChange={setPhone} error={fields.phone} />
        <Field name="email" label={f("val.email")} type="email" value={email} onChange={setEmail} error={fields.email} />
        <Field name="locale" label={f("val.locale")} value={locale} onChange={setLocale} error={fields.locale} options={[{ value: "", label: f("val.clinicLocale") }, ...LOCALES.map((l) => ({ value: l, label: LOCALE_NAMES[l] }))]} />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {f("close")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {f("val.create")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
