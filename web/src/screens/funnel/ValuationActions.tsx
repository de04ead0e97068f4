// What staff may do with a valuation at any moment (docs/quotes.md, "API"): edit the prospect's details
// (`PATCH`), give the prospect to another agent (`PUT .../agent`), move it to another diagnostic doctor
// (`PUT .../doctor`, funnel:admin), say the clinic replied to an acceptance or a question (`POST .../reply`),
// cancel (`POST .../cancel`). Each opens its own small form; a refusal is shown under the field it names.
import { useState, type FormEvent } from "react";
import { unwrap } from "../../api/client";
import { Field, ProblemBanner } from "../../components";
import { useSave } from "../../data";
import { LOCALES, LOCALE_NAMES } from "../../i18n";
import { useSession } from "../../session";
import { useFunnelT, type Member } from "./kit";
import type { Card } from "./ValuationCard";
import { DOCTOR } from "./Valuations";

type Action = "edit" | "agent" | "doctor" | "reply" | "cancel";
const OPEN = new Set(["collecting", "valuing", "quoting", "quote_sent", "question", "accepted"]);

export function ValuationActions({ card, members, onChanged }: { card: Card; members: Member[]; onChanged: () => void }) {
  const { can } = useSession();
  const f = useFunnelT();
  const [action, setAction] = useState<Action | null>(null);
  const v = card.valuation;
  if (!can("funnel:write") || !OPEN.has(v.state)) return null;
  const offered: [Action, string][] = [
    ["edit", f("val.edit")],
    ["agent", f("val.giveAgent")],
    ...(can("funnel:admin") && v.state === "valuing" ? ([["doctor", f("val.moveDoctor")]] as [Action, string][]) : []),
    ...(v.state === "accepted" || v.state === "question" ? ([["reply", f("val.reply")]] as [Action, string][]) : []),
    ["cancel", f("val.cancel")],
  ];
  const done = () => (setAction(null), onChanged());
  return (
    <section aria-labelledby="val-actions">
      <h3 id="val-actions">{f("val.actions")}</h3>
      <div className="actions">
        {offered.map(([key, label]) => (
          <button key={key} type="button" aria-expanded={action === key} className={key === "cancel" ? "danger" : undefined} onClick={() => setAction(action === key ? null : key)}>
            {label}
          </button>
        ))}
      </div>
      {action ? <ActionForm key={action} action={action} card={card} members={members} onDone={done} onClose={() => setAction(null)} /> : null}
    </section>
  );
}

function ActionForm({ action, card, members, onDone, onClose }: { action: Action; card: Card; members: Member[]; onDone: () => void; onClose: () => void }) {
  const { api } = useSession();
  const f = useFunnelT();
  const v = card.valuation;
  const [name, setName] = useState(v.name ?? "");
  const [phone, setPhone] = useState(v.phone ?? "");
  const [email, setEmail] = useState(v.email ?? "");
  const [locale, setLocale] = useState(v.locale ?? "");
  const [person, setPerson] = useState(action === "agent" ? v.agent_id ?? "" : v.doctor_id ?? "");
  const [text, setText] = useState("");
  const { problem, busy, fields, save } = useSave();
  const path = { params: { path: { valuation_id: v.id } } };
  const people = action === "doctor" ? members.filter((m) => m.roles.includes(DOCTOR)) : members;
  const personId = person || people[0]?.id || "";

  async function submit(event: FormEvent) {
    event.preventDefault();
    const calls: Record<Action, () => Promise<unknown>> = {
      edit: () =>
        unwrap(
          api.PATCH("/api/v1/funnel/valuations/{valuation_id}", {
            ...path,
            body: { name, phone: phone.trim() ? phone.replace(/[\s()-]/g, "") : null, email: email.trim() || null, locale: locale || null },
          }),
        ),
      agent: () => unwrap(api.PUT("/api/v1/funnel/valuations/{valuation_id}/agent", { ...path, body: { agent_id: personId } })),
      doctor: () => unwrap(api.PUT("/api/v1/funnel/valuations/{valuation_id}/doctor", { ...path, body: { doctor_id: personId } })),
      reply: () => unwrap(api.POST("/api/v1/funnel/valuations/{valuation_id}/reply", { ...path, body: { note: text.trim() || null } })),
      cancel: () => unwrap(api.POST("/api/v1/funnel/valuations/{valuation_id}/cancel", { ...path, body: { reason: text.trim() || null } })),
    };
    if (await save(calls[action])) onDone();
  }
  const submitLabel = { edit: f("save"), agent: f("val.giveAgent"), doctor: f("val.moveDoctor"), reply: f("val.reply"), cancel: f("val.cancel") }[action];
  return (
    <form onSubmit={submit} className="stack action-form" noValidate aria-label={submitLabel} data-action={action}>
      <ProblemBanner problem={problem} shown={["name", "phone", "email", "locale", "agent_id", "doctor_id", "note", "reason"]} />
      {action === "edit" ? (
        <>
          <Field name="name" label={f("val.prospect")} value={name} onChange={setName} error={fields.name} required />
          <Field name="phone" label={f("val.phone")} type="tel" value={phone} onChange={setPhone} error={fields.phone} />
          <Field name="email" label={f("val.email")} type="email" value={email} onChange={setEmail} error={fields.email} />
          <Field name="locale" label={f("val.locale")} value={locale} onChange={setLocale} error={fields.locale} options={[{ value: "", label: f("val.clinicLocale") }, ...LOCALES.map((l) => ({ value: l, label: LOCALE_NAMES[l] }))]} />
        </>
      ) : action === "agent" || action === "doctor" ? (
        <Field
          name={action === "agent" ? "agent_id" : "doctor_id"}
          label={action === "agent" ? f("val.agent") : f("val.doctor")}
          value={personId}
          onChange={setPerson}
          error={fields[action === "agent" ? "agent_id" : "doctor_id"]}
          options={people.map((m) => ({ value: m.id, label: m.name }))}
        />
      ) : (
        <Field name={action === "reply" ? "note" : "reason"} label={action === "reply" ? f("val.replyNote") : f("val.reason")} value={text} onChange={setText} error={fields[action === "reply" ? "note" : "reason"]} multiline />
      )}
      <div className="actions">
        <button type="button" onClick={onClose}>
          {f("close")}
        </button>
        <button type="submit" className={action === "cancel" ? "primary danger" : "primary"} disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
