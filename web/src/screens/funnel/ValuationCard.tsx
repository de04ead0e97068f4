// A valuation's card (`GET /api/v1/funnel/valuations/{id}`: details, photos with 15-minute links, the quotes,
// the history): the diagnostic doctor records the valuation (`POST .../valuation`), the quotes and writing one
// (Quotes.tsx), and what staff may do at any moment (ValuationActions.tsx).
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../../components";
import { useLoad, useSave } from "../../data";
import { useSession } from "../../session";
import { History, nameIn, textOf, useFunnelT, type Member } from "./kit";
import { Quotes } from "./Quotes";
import { ValuationActions } from "./ValuationActions";

export type Card = Schemas["ValuationCard"];
/** The states in which the doctor may still record (or amend) the valuation. */
const VALUING = new Set(["valuing", "quoting"]);

export function ValuationCard({ id, members, uploadUrl, onClose, onChanged }: { id: string; members: Member[]; uploadUrl?: string; onClose: () => void; onChanged: () => void }) {
  const { api, fmt } = useSession();
  const f = useFunnelT();
  const card = useLoad(() => unwrap(api.GET("/api/v1/funnel/valuations/{valuation_id}", { params: { path: { valuation_id: id } } })), [id]);
  const changed = () => (card.reload(), onChanged());
  const v = card.data?.valuation;
  return (
    <Dialog title={f("val.card", { name: v?.name ?? "…" })} onClose={onClose} wide>
      <ProblemBanner problem={card.problem} shown={[]} />
      {!card.data ? (
        card.loading ? <Loading /> : null
      ) : (
        <div className="stack valuation-card" data-state={v!.state}>
          {uploadUrl ? (
            <p className="banner" data-upload-link>
              {f("val.uploadLink")} <a href={uploadUrl} target="_blank" rel="noreferrer">{uploadUrl}</a>
            </p>
          ) : null}
          <dl className="facts deal-facts">
            <Fact label={f("val.state")} value={textOf(f, "val.state.", v!.state)} />
            <Fact label={f("val.phone")} value={v!.phone ? fmt.phone(v!.phone) : f("none")} />
            <Fact label={f("val.email")} value={v!.email ?? f("none")} />
            <Fact label={f("val.locale")} value={v!.locale ?? f("val.clinicLocale")} />
            <Fact label={f("val.agent")} value={nameIn(members, v!.agent_id, f)} />
            <Fact label={f("val.doctor")} value={nameIn(members, v!.doctor_id, f)} />
            <Fact label={f("val.opened")} value={fmt.dateTime(v!.created_at)} />
            <Fact label={f("val.waiting")} value={v!.waiting_for ? textOf(f, "val.waiting.", v!.waiting_for).replace("{when}", fmt.dateTime(v!.answer_due_at)) : f("none")} />
          </dl>
          {v!.lead_id ? (
            <p>
              <a href={`#/prospects/${v!.lead_id}`}>{f("lead")}</a>
            </p>
          ) : null}
          <Photos card={card.data} />
          <Valuation card={card.data} onChanged={changed} />
          <Quotes card={card.data} onChanged={changed} />
          <ValuationActions card={card.data} members={members} onChanged={changed} />
          <section aria-labelledby="val-history">
            <h3 id="val-history">{f("history")}</h3>
            <History
              label={f("history")}
              steps={card.data.history.map((h) => ({
                at: h.at,
                who: h.by === "funnel" || h.by === "system" ? f("system") : h.by === "prospect" ? f("prospectActor") : nameIn(members, h.by, f),
                what: textOf(f, "val.kind.", h.kind),
                detail: h.text,
              }))}
            />
          </section>
        </div>
      )}
    </Dialog>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function Photos({ card }: { card: Card }) {
  const { fmt } = useSession();
  const f = useFunnelT();
  const slot = (s: string) => textOf(f, "val.slot.", s);
  return (
    <section aria-labelledby="val-photos">
      <h3 id="val-photos">
        {f("val.photos")} · {f("val.photosOf", { n: card.valuation.photos_received, total: card.valuation.photos_required })}
      </h3>
      <p className="muted">{card.missing.length ? f("val.missing", { slots: card.missing.map(slot).join(", ") }) : f("val.complete")}</p>
      {card.photos.length ? (
        <ul className="plain photos">
          {card.photos.map((p) => (
            <li key={p.slot} data-slot={p.slot}>
              <a href={p.url} target="_blank" rel="noreferrer">
                <img src={p.url} alt={f("val.photoAlt", { slot: slot(p.slot), when: fmt.dateTime(p.received_at) })} loading="lazy" />
              </a>
              <span className="muted">{slot(p.slot)}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function Valuation({ card, onChanged }: { card: Card; onChanged: () => void }) {
  const { api, me, can } = useSession();
  const f = useFunnelT();
  const [summary, setSummary] = useState(card.summary ?? "");
  const [grafts, setGrafts] = useState(card.grafts == null ? "" : String(card.grafts));
  const [notes, setNotes] = useState(card.notes ?? "");
  const { problem, busy, fields, save } = useSave();
  // The assigned diagnostic doctor, any doctor when none is assigned, or a manager for another (the API decides).
  const mayRecord = VALUING.has(card.valuation.state) && (me.roles.includes("diagnostic_doctor") || can("funnel:admin"));
  async function submit(event: FormEvent) {
    event.preventDefault();
    const ok = await save(() =>
      unwrap(
        api.POST("/api/v1/funnel/valuations/{valuation_id}/valuation", {
          params: { path: { valuation_id: card.valuation.id } },
          body: { summary, grafts: grafts.trim() ? Number(grafts) : null, notes: notes.trim() || null },
        }),
      ),
    );
    if (ok) onChanged();
  }
  return (
    <section aria-labelledby="val-valuation">
      <h3 id="val-valuation">{f("val.valuation")}</h3>
      {card.summary ? (
        <dl className="facts">
          <Fact label={f("val.summary")} value={card.summary} />
          <Fact label={f("val.grafts")} value={card.grafts == null ? f("none") : String(card.grafts)} />
          <Fact label={f("val.notes")} value={card.notes ?? f("none")} />
        </dl>
      ) : (
        <p className="muted">{f("val.notRecorded")}</p>
      )}
      {mayRecord ? (
        <form onSubmit={submit} className="stack" noValidate aria-label={f("val.record")}>
          <ProblemBanner problem={problem} shown={["summary", "grafts", "notes"]} />
          <Field name="summary" label={f("val.summary")} value={summary} onChange={setSummary} error={fields.summary} multiline required />
          <Field name="grafts" label={f("val.grafts")} type="number" value={grafts} onChange={setGrafts} error={fields.grafts} />
          <Field name="notes" label={f("val.notes")} value={notes} onChange={setNotes} error={fields.notes} multiline />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              {f("val.record")}
            </button>
          </div>
        </form>
      ) : null}
    </section>
  );
}
