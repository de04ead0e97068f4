// Correcting one of a lead's requests (what they asked about, the treatment, group and channel, the request's
// status, handled): `PATCH /api/v1/leads/{id}/requests/{rid}` with only what changed. A refused save keeps the
// dialog open with everything typed and shows each problem under the field it names.
import { useState, type FormEvent } from "react";
import { unwrap, type LeadRequest, type ListItem, type Schemas } from "../api/client";
import { Dialog, Field, ProblemBanner } from "../components";
import { useList, useSave } from "../data";
import { useSession } from "../session";

export interface RequestForm {
  treatment: string;
  group: string;
  channel: string;
  status: string;
  reason: string;
  handled: boolean;
}

export function requestFormOf(r: LeadRequest): RequestForm {
  return {
    treatment: r.treatment ?? "",
    group: r.group ?? "",
    channel: r.channel ?? "",
    status: r.status ?? "",
    reason: r.reason ?? "",
    handled: r.handled,
  };
}

/** Only what changed; an emptied choice or text is sent as null, which clears it. */
export function requestPatch(before: RequestForm, f: RequestForm): Schemas["RequestPatch"] {
  const out: Record<string, unknown> = {};
  for (const k of ["treatment", "group", "channel", "status", "reason"] as const)
    if (f[k].trim() !== before[k].trim()) out[k] = f[k].trim() ? f[k].trim() : null;
  if (f.handled !== before.handled) out.handled = f.handled;
  return out as Schemas["RequestPatch"];
}

const SHOWN = ["treatment", "group", "channel", "status", "reason", "handled"];

/** The list's active items, plus the request's own value when the clinic has since retired it (kept as it is). */
function choices(items: ListItem[], current: string) {
  const options = [{ value: "", label: "—" }, ...items.filter((i) => i.active).map((i) => ({ value: i.slug, label: i.label }))];
  if (current && !options.some((o) => o.value === current)) options.push({ value: current, label: items.find((i) => i.slug === current)?.label ?? current });
  return options;
}

export function RequestDialog({ leadId, request, onClose, onSaved }: { leadId: string; request: LeadRequest; onClose: () => void; onSaved: (saved: LeadRequest) => void }) {
  const { api, t } = useSession();
  const [initial] = useState(() => requestFormOf(request));
  const [form, setForm] = useState<RequestForm>(initial);
  const { problem, busy, fields, save } = useSave();
  const treatments = useList("treatment");
  const groups = useList("group");
  const channels = useList("channel");
  const statuses = useList("request_status");
  const set = (key: Exclude<keyof RequestForm, "handled">) => (value: string) => setForm((f) => ({ ...f, [key]: value }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body = requestPatch(initial, form);
    if (!Object.keys(body).length) return onClose();
    let saved: LeadRequest | null = null;
    const ok = await save(async () => {
      saved = await unwrap(
        api.PATCH("/api/v1/leads/{lead_id}/requests/{request_id}", { params: { path: { lead_id: leadId, request_id: request.id } }, body }),
      );
    });
    if (ok && saved) onSaved(saved);
  }

  return (
    <Dialog title={t("requests.editTitle")} onClose={onClose}>
      <form onSubmit={submit} noValidate className="lead-form" data-request={request.id}>
        <ProblemBanner problem={problem} shown={SHOWN} />
        <div className="grid">
          <Field name="treatment" label={t("lead.treatment")} value={form.treatment} onChange={set("treatment")} error={fields.treatment} options={choices(treatments, form.treatment)} />
          <Field name="group" label={t("requests.group")} value={form.group} onChange={set("group")} error={fields.group} options={choices(groups, form.group)} />
          <Field name="channel" label={t("lead.channel")} value={form.channel} onChange={set("channel")} error={fields.channel} options={choices(channels, form.channel)} />
          <Field name="status" label={t("requests.status")} value={form.status} onChange={set("status")} error={fields.status} options={choices(statuses, form.status)} />
          <Field name="reason" label={t("lead.reason")} value={form.reason} onChange={set("reason")} error={fields.reason} multiline />
        </div>
        <label className="inline">
          <input type="checkbox" name="handled" checked={form.handled} onChange={(e) => setForm((f) => ({ ...f, handled: e.target.checked }))} /> {t("requests.handledField")}
        </label>
        {fields.handled ? (
          <p className="error" role="alert">
            {fields.handled}
          </p>
        ) : null}
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
