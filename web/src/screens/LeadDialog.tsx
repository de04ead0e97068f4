// Create (a tall dialog: contact data, origin, status) and edit a prospect. A failed save keeps every value
// typed and shows each problem next to the field it names.
import { useState, type FormEvent } from "react";
import { ApiError, asProblem, unwrap, type Candidate, type Lead, type LeadIn, type LeadPatch, type Problem } from "../api/client";
import { Dialog, Field, ProblemBanner } from "../components";
import { useList, useStaff } from "../data";
import { LOCALE_NAMES, LOCALES } from "../i18n";
import { useSession } from "../session";
import { useStatuses } from "../statuses";

export interface LeadForm {
  name: string;
  phone: string;
  other_phones: string;
  email: string;
  cpf: string;
  birth_date: string;
  city: string;
  locale: string;
  source: string;
  channel: string;
  treatment: string;
  reason: string;
  status: string;
  urgency: string;
  owner_id: string;
  next_follow_up: string;
  notes: string;
}

export function formOf(lead: Lead | null, myId: string): LeadForm {
  return {
    name: lead?.name ?? "",
    phone: lead?.phones[0] ?? "",
    other_phones: lead?.phones.slice(1).join(", ") ?? "",
    email: lead?.email ?? "",
    cpf: lead?.cpf ?? "",
    birth_date: lead?.birth_date ?? "",
    city: lead?.city ?? "",
    locale: lead?.locale ?? "",
    source: lead?.source ?? "",
    channel: "",
    treatment: "",
    reason: "",
    status: lead?.status ?? "PENDING_CONTACT",
    urgency: lead?.urgency ?? "normal",
    owner_id: lead ? (lead.owner_id ?? "") : myId,
    next_follow_up: lead?.next_follow_up ?? "",
    notes: lead?.notes ?? "",
  };
}

const opt = (v: string) => (v.trim() ? v.trim() : undefined);
const orNull = (v: string) => (v.trim() ? v.trim() : null);

export function createBody(f: LeadForm): LeadIn {
  const phones = [f.phone, ...f.other_phones.split(",")].map((p) => p.trim()).filter(Boolean);
  return {
    name: f.name.trim(),
    source: f.source,
    ...(phones.length > 1 ? { phones } : { phone: opt(f.phone) }),
    email: opt(f.email),
    cpf: opt(f.cpf),
    birth_date: opt(f.birth_date),
    city: opt(f.city),
    locale: opt(f.locale),
    channel: opt(f.channel),
    treatment: opt(f.treatment),
    reason: opt(f.reason),
    urgency: f.urgency,
    owner_id: opt(f.owner_id),
    // The initial status goes with the lead (one transaction); the default is the API's own.
    status: f.status && f.status !== "PENDING_CONTACT" ? f.status : undefined,
    next_follow_up: opt(f.next_follow_up),
    notes: opt(f.notes),
  } as LeadIn;
}

/** Only what changed; an emptied field is sent as null, which clears it. */
export function patchBody(before: LeadForm, f: LeadForm): LeadPatch {
  const out: Record<string, unknown> = {};
  const nullable = ["email", "cpf", "birth_date", "city", "locale", "next_follow_up", "notes"] as const;
  if (f.name !== before.name) out.name = f.name.trim();
  if (f.source !== before.source) out.source = f.source;
  if (f.urgency !== before.urgency) out.urgency = f.urgency;
  for (const k of nullable) if (f[k] !== before[k]) out[k] = orNull(f[k]);
  if (f.phone !== before.phone || f.other_phones !== before.other_phones)
    out.phones = [f.phone, ...f.other_phones.split(",")].map((p) => p.trim()).filter(Boolean);
  return out as LeadPatch;
}

/** The API names `phones` (edit) or `phone` (create); both belong to the phone input. */
function errorsByField(problem: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) {
    let field = e.field.replace(/^(body|query)\./, "").split(/[.[]/)[0]!;
    if (field === "phones") field = "phone";
    if (field === "owner") field = "owner_id";
    out[field] = out[field] ? `${out[field]} ${e.message}` : e.message;
  }
  return out;
}

const SHOWN = ["name", "phone", "email", "cpf", "birth_date", "city", "locale", "source", "channel", "treatment", "reason", "status", "urgency", "owner_id", "next_follow_up", "notes"];

export function LeadDialog({ lead, onClose, onSaved }: { lead?: Lead; onClose: () => void; onSaved: (lead: Lead) => void }) {
  const { api, t, me, can } = useSession();
  const clinicStatuses = useStatuses();
  const [initial] = useState(() => formOf(lead ?? null, me.id));
  const [form, setForm] = useState<LeadForm>(initial);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const sources = useList("source");
  const channels = useList("channel");
  const treatments = useList("treatment");
  const staff = useStaff();
  const errors = errorsByField(problem);
  const set = (key: keyof LeadForm) => (value: string) => setForm((f) => ({ ...f, [key]: value }));
  const source = form.source || sources[0]?.slug || "";

  async function save(onDuplicate?: "add_request" | "create") {
    setBusy(true);
    setProblem(null);
    try {
      if (lead) {
        const body = patchBody(initial, form);
        let saved = Object.keys(body).length
          ? await unwrap(api.PATCH("/api/v1/leads/{lead_id}", { params: { path: { lead_id: lead.id } }, body }))
          : lead;
        if (form.owner_id !== initial.owner_id)
          saved = await unwrap(
            api.POST("/api/v1/leads/{lead_id}/assign", { params: { path: { lead_id: lead.id } }, body: { owner_id: form.owner_id || null } }),
          );
        onSaved(saved);
        return;
      }
      const answer = await api.POST("/api/v1/leads", {
        params: { query: onDuplicate ? { on_duplicate: onDuplicate } : {} },
        body: createBody({ ...form, source }),
      });
      if (!answer.data) throw new ApiError(asProblem(answer.error, answer.response));
      const saved = answer.data;
      onSaved(saved);
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    } finally {
      setBusy(false);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void save();
  }

  const candidates: Candidate[] = problem?.status === 409 ? (problem.candidates ?? []) : [];
  const ownerOptions = [
    { value: "", label: t("filters.unassigned") },
    { value: me.id, label: `${me.full_name} (${t("me.you")})` },
    ...staff.filter((s) => s.id !== me.id).map((s) => ({ value: s.id, label: s.full_name })),
  ];
  if (initial.owner_id && !ownerOptions.some((o) => o.value === initial.owner_id))
    ownerOptions.push({ value: initial.owner_id, label: `#${initial.owner_id.slice(-6)}` });
  const statuses = clinicStatuses.order.filter((s) => s !== "APPOINTMENT_CANCELED" && s !== "VISIT_COMPLETED");

  return (
    <Dialog title={lead ? t("lead.editTitle") : t("lead.createTitle")} onClose={onClose} wide>
      <form onSubmit={submit} noValidate className="lead-form">
        {candidates.length ? (
          <div className="banner banner-warn" role="alert">
            <p>{t("lead.duplicate")}</p>
            <ul>
              {candidates.map((c) => (
                <li key={c.id}>
                  <a href={`#/prospects/${c.id}`} onClick={onClose}>
                    {c.name}
                  </a>{" "}
                  ({c.score}% · {c.reasons.join(", ")})
                </li>
              ))}
            </ul>
            <div className="actions">
              <button type="button" onClick={() => void save("add_request")} disabled={busy}>
                {t("lead.addRequest")}
              </button>
              <button type="button" onClick={() => void save("create")} disabled={busy}>
                {t("lead.createAnyway")}
              </button>
            </div>
          </div>
        ) : (
          <ProblemBanner problem={problem} shown={SHOWN} />
        )}
        <fieldset>
          <legend>{t("lead.contact")}</legend>
          <div className="grid">
            <Field name="name" label={t("lead.name")} value={form.name} onChange={set("name")} error={errors.name} required autoComplete="off" />
            <Field name="phone" label={t("lead.phone")} type="tel" value={form.phone} onChange={set("phone")} error={errors.phone} required />
            <Field name="other_phones" label={t("lead.otherPhones")} type="tel" value={form.other_phones} onChange={set("other_phones")} />
            <Field name="email" label={t("lead.email")} type="email" value={form.email} onChange={set("email")} error={errors.email} />
            <Field name="cpf" label={t("lead.cpf")} value={form.cpf} onChange={set("cpf")} error={errors.cpf} />
            <Field name="birth_date" label={t("lead.birthDate")} type="date" value={form.birth_date} onChange={set("birth_date")} error={errors.birth_date} />
            <Field name="city" label={t("lead.city")} value={form.city} onChange={set("city")} error={errors.city} />
            <Field
              name="locale"
              label={t("lead.locale")}
              value={form.locale}
              onChange={set("locale")}
              error={errors.locale}
              options={[{ value: "", label: "—" }, ...LOCALES.map((l) => ({ value: l, label: LOCALE_NAMES[l] }))]}
            />
          </div>
        </fieldset>
        <fieldset>
          <legend>{t("lead.origin")}</legend>
          <div className="grid">
            <Field
              name="source"
              label={t("lead.source")}
              value={source}
              onChange={set("source")}
              error={errors.source}
              required
              options={sources.map((s) => ({ value: s.slug, label: s.label }))}
            />
            {lead ? null : (
              <>
                <Field
                  name="channel"
                  label={t("lead.channel")}
                  value={form.channel}
                  onChange={set("channel")}
                  error={errors.channel}
                  options={[{ value: "", label: "—" }, ...channels.map((s) => ({ value: s.slug, label: s.label }))]}
                />
                <Field
                  name="treatment"
                  label={t("lead.treatment")}
                  value={form.treatment}
                  onChange={set("treatment")}
                  error={errors.treatment}
                  options={[{ value: "", label: "—" }, ...treatments.map((s) => ({ value: s.slug, label: s.label }))]}
                />
                <Field name="reason" label={t("lead.reason")} value={form.reason} onChange={set("reason")} error={errors.reason} multiline />
              </>
            )}
          </div>
        </fieldset>
        <fieldset>
          <legend>{t("lead.status")}</legend>
          <div className="grid">
            {lead ? null : (
              <Field
                name="status"
                label={t("lead.status")}
                value={form.status}
                onChange={set("status")}
                error={errors.status}
                options={statuses.map((s) => ({ value: s, label: clinicStatuses.name(s) }))}
              />
            )}
            <Field
              name="urgency"
              label={t("lead.urgency")}
              value={form.urgency}
              onChange={set("urgency")}
              error={errors.urgency}
              options={["high", "normal", "low"].map((u) => ({ value: u, label: t(`urgency.${u}` as "urgency.high") }))}
            />
            {can("crm:write") ? (
              <Field name="owner_id" label={t("lead.owner")} value={form.owner_id} onChange={set("owner_id")} error={errors.owner_id} options={ownerOptions} />
            ) : null}
            <Field name="next_follow_up" label={t("lead.followUp")} type="date" value={form.next_follow_up} onChange={set("next_follow_up")} error={errors.next_follow_up} />
            <Field name="notes" label={t("lead.notes")} value={form.notes} onChange={set("notes")} error={errors.notes} multiline />
          </div>
        </fieldset>
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {t("lead.cancel")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t("lead.saving") : t("lead.save")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
