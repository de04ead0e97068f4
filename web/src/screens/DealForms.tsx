// The deal card's two forms: put a curator on the deal (`PUT /api/v1/funnel/deals/{id}/curator`, from the clinic's
// curators, `GET /api/v1/funnel/curators`) and create a treatment plan (`POST /api/v1/funnel/deals/{id}/plans`:
// a title, the currency and its items). A refused save shows the API's problem under the field it names (an
// item's `items[2].price` under that item's price) and keeps everything typed.
import { useState, type FormEvent } from "react";
import { unwrap, type Problem, type Schemas } from "../api/client";
import { Field, ProblemBanner } from "../components";
import { useLoad, useSave, useStaffName } from "../data";
import { clinicCurrency, useDesk } from "../i18n-desk";
import { useSession } from "../session";

type Deal = Schemas["DealOut"];

/** The problem's field messages by path without `body.` / `$.`: `title`, `items[0].price` as `items.0.price`. */
export function problemFields(problem: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) {
    const key = e.field
      .replace(/^(\$\.|body\.|query\.|path\.)/, "")
      .replace(/\[(\d+)\]/g, ".$1")
      .replace(/^\./, "");
    out[key] = out[key] ? `${out[key]} ${e.message}` : e.message;
  }
  return out;
}

export function CuratorForm({ deal, onChanged }: { deal: Deal; onChanged: () => void }) {
  const { api, can } = useSession();
  const { d } = useDesk();
  const staffName = useStaffName();
  const curators = useLoad(() => unwrap(api.GET("/api/v1/funnel/curators")).then((p) => p.items), []);
  const [choice, setChoice] = useState("");
  const { problem, busy, save: run } = useSave();
  const fields = problemFields(problem);
  const ids = (curators.data ?? []).map((c) => c.user_id);
  if (deal.curator_id && !ids.includes(deal.curator_id)) ids.unshift(deal.curator_id);
  const chosen = choice || deal.curator_id || "";
  if (!can("funnel:write"))
    return (
      <p>
        {d("deal.curator")}: {deal.curator_id ? staffName(deal.curator_id) : d("deal.noCurator")}
      </p>
    );
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await run(() => unwrap(api.PUT("/api/v1/funnel/deals/{deal_id}/curator", { params: { path: { deal_id: deal.id } }, body: { curator_id: chosen } })))) {
      setChoice("");
      onChanged();
    }
  }
  return (
    <form className="inline-form" onSubmit={submit} noValidate aria-label={d("deal.curator")} data-curator={deal.curator_id ?? ""}>
      <ProblemBanner problem={problem ?? curators.problem} shown={["curator_id"]} />
      <Field
        name="curator_id"
        label={d("deal.curator")}
        value={chosen}
        onChange={setChoice}
        error={fields.curator_id}
        options={[{ value: "", label: d("deal.noCurator") }, ...ids.map((id) => ({ value: id, label: staffName(id) }))]}
      />
      {curators.data && !curators.data.length ? <p className="muted">{d("deal.noCurators")}</p> : null}
      <div className="actions">
        <button type="submit" className="small" disabled={busy || !chosen || chosen === deal.curator_id}>
          {d("deal.assign")}
        </button>
      </div>
    </form>
  );
}

interface Row {
  key: number;
  procedure: string;
  quantity: string;
  price: string;
  discount: string;
  stage: string;
}

let rowKey = 0;
const emptyRow = (): Row => ({ key: ++rowKey, procedure: "", quantity: "1", price: "", discount: "", stage: "1" });

/** A decimal typed in the clinic's way (`1.234,50` or `1234.50`) as the API's string (`1234.50`). */
export function decimalOf(typed: string): string {
  const text = typed.trim().replace(/\s/g, "");
  if (!text) return "";
  return text.includes(",") ? text.replace(/\./g, "").replace(",", ".") : text;
}

export function NewPlanForm({ deal, currency, onCreated }: { deal: Deal; currency?: string; onCreated: () => void }) {
  const { api, me } = useSession();
  const { d } = useDesk();
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  const [planCurrency, setCurrency] = useState(currency || clinicCurrency(me.tenant.country));
  const [rows, setRows] = useState<Row[]>(() => [emptyRow()]);
  const { problem, busy, save: run } = useSave();
  const fields = problemFields(problem);
  const set = (key: number, patch: Partial<Row>) => setRows((all) => all.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  if (!open)
    return (
      <button type="button" className="small" onClick={() => setOpen(true)}>
        + {d("deal.newPlan")}
      </button>
    );
  async function submit(event: FormEvent) {
    event.preventDefault();
    const body = {
      title,
      currency: planCurrency.trim().toUpperCase(),
      items: rows.map((r) => ({
        procedure: r.procedure,
        quantity: Number(r.quantity) || 0,
        price: decimalOf(r.price) || "0",
        discount: decimalOf(r.discount) || null,
        stage: Number(r.stage) || 1,
      })),
    };
    if (await run(() => unwrap(api.POST("/api/v1/funnel/deals/{deal_id}/plans", { params: { path: { deal_id: deal.id } }, body })))) {
      setOpen(false);
      setTitle("");
      setRows([emptyRow()]);
      onCreated();
    }
  }
  const itemsError = fields.items;
  return (
    <form className="plan-form stack" onSubmit={submit} noValidate aria-label={d("deal.newPlan")}>
      <h4>{d("deal.newPlan")}</h4>
      <ProblemBanner problem={problem} shown={["title", "currency", "items"]} />
      <div className="row-fields">
        <Field name="title" label={d("deal.planTitle")} value={title} onChange={setTitle} error={fields.title} required />
        <Field name="currency" label={d("deal.currency")} value={planCurrency} onChange={setCurrency} error={fields.currency} />
      </div>
      {itemsError ? (
        <p className="error" role="alert">
          {itemsError}
        </p>
      ) : null}
      <ol className="plain plan-items">
        {rows.map((r, i) => (
          <li key={r.key} data-item={i}>
            <fieldset>
              <legend>{d("deal.item", { n: i + 1 })}</legend>
              <div className="row-fields">
                <Field name={`items.${i}.procedure`} label={d("deal.procedure")} value={r.procedure} onChange={(v) => set(r.key, { procedure: v })} error={fields[`items.${i}.procedure`]} required />
                <Field name={`items.${i}.quantity`} label={d("deal.quantity")} type="number" value={r.quantity} onChange={(v) => set(r.key, { quantity: v })} error={fields[`items.${i}.quantity`]} />
                <Field name={`items.${i}.price`} label={d("deal.price")} value={r.price} onChange={(v) => set(r.key, { price: v })} error={fields[`items.${i}.price`]} required />
                <Field name={`items.${i}.discount`} label={d("deal.discountPercent")} value={r.discount} onChange={(v) => set(r.key, { discount: v })} error={fields[`items.${i}.discount`]} />
                <Field name={`items.${i}.stage`} label={d("deal.stage")} type="number" value={r.stage} onChange={(v) => set(r.key, { stage: v })} error={fields[`items.${i}.stage`]} />
              </div>
              {rows.length > 1 ? (
                <button type="button" className="small" onClick={() => setRows((all) => all.filter((x) => x.key !== r.key))} aria-label={d("deal.removeItem", { n: i + 1 })}>
                  {d("deal.remove")}
                </button>
              ) : null}
            </fieldset>
          </li>
        ))}
      </ol>
      <div className="actions">
        <button type="button" className="small" onClick={() => setRows((all) => [...all, emptyRow()])}>
          + {d("deal.addItem")}
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          {d("deal.closeForm")}
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {d("deal.createPlan")}
        </button>
      </div>
    </form>
  );
}
