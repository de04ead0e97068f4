// A valuation's quotes (each with its lines, subtotal and total in its currency) and writing one from the
// clinic's price list (`GET /quote-costs`, `/quote-discounts`; `PUT .../quote` with `send` now or later,
// `POST .../quote/send` for the saved one). The prices come from the list, never from the form.
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, ProblemBanner } from "../../components";
import { useLoad, useSave } from "../../data";
import { useDesk } from "../../i18n-desk";
import { useSession } from "../../session";
import { textOf, useFunnelT } from "./kit";
import type { Card } from "./ValuationCard";

type Quote = Schemas["QuoteOut"];
interface Line {
  cost: string;
  quantity: string;
  discount: string;
}
const QUOTING = new Set(["quoting", "quote_sent", "question"]);

export function Quotes({ card, onChanged }: { card: Card; onChanged: () => void }) {
  const { api, can, me } = useSession();
  const f = useFunnelT();
  const { problem, busy, save } = useSave();
  const v = card.valuation;
  const mayWrite = QUOTING.has(v.state) && (can("funnel:write") || v.doctor_id === me.id);
  const draft = card.quotes.find((q) => q.status === "draft");
  return (
    <section aria-labelledby="val-quotes">
      <h3 id="val-quotes">{f("val.quotes")}</h3>
      {card.quotes.length ? card.quotes.map((q) => <QuoteView key={q.id} quote={q} />) : <p className="muted">{f("val.noQuotes")}</p>}
      <ProblemBanner problem={problem} shown={[]} />
      {mayWrite && draft ? (
        <button
          type="button"
          disabled={busy}
          onClick={async () => {
            if (await save(() => unwrap(api.POST("/api/v1/funnel/valuations/{valuation_id}/quote/send", { params: { path: { valuation_id: v.id } } })))) onChanged();
          }}
        >
          {f("val.sendSaved")}
        </button>
      ) : null}
      {mayWrite ? <QuoteForm valuationId={v.id} onSaved={onChanged} /> : null}
    </section>
  );
}

function QuoteView({ quote }: { quote: Quote }) {
  const { fmt } = useSession();
  const { money } = useDesk();
  const f = useFunnelT();
  return (
    <article className="quote" data-quote={quote.id} data-status={quote.status}>
      <p>
        <strong>{textOf(f, "val.quote.", quote.status)}</strong> · {fmt.dateTime(quote.sent_at ?? quote.created_at)}
      </p>
      <table className="compact">
        <thead>
          <tr>
            <th scope="col">{f("val.item")}</th>
            <th scope="col">{f("val.quantity")}</th>
            <th scope="col">{f("val.unitPrice")}</th>
            <th scope="col">{f("val.discount")}</th>
            <th scope="col">{f("val.total")}</th>
          </tr>
        </thead>
        <tbody>
          {quote.items.map((line, i) => (
            <tr key={i}>
              <td>{line.description}</td>
              <td>{line.quantity}</td>
              <td>{money(line.unit_price, quote.currency)}</td>
              <td>{Number(line.discount_percent) ? `${fmt.number(Number(line.discount_percent))}%` : f("none")}</td>
              <td>{money(line.total, quote.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={4}>
              {f("val.subtotal")}
            </th>
            <td>{money(quote.subtotal, quote.currency)}</td>
          </tr>
          <tr>
            <th scope="row" colSpan={4}>
              {f("val.total")}
            </th>
            <td data-total={quote.total}>
              <strong>{money(quote.total, quote.currency)}</strong>
            </td>
          </tr>
        </tfoot>
      </table>
      {quote.note ? <p className="pre">{quote.note}</p> : null}
    </article>
  );
}

function QuoteForm({ valuationId, onSaved }: { valuationId: string; onSaved: () => void }) {
  const { api } = useSession();
  const { money } = useDesk();
  const f = useFunnelT();
  const costs = useLoad(async () => (await unwrap(api.GET("/api/v1/funnel/quote-costs"))).items.filter((c) => c.active), []);
  const discounts = useLoad(async () => (await unwrap(api.GET("/api/v1/funnel/quote-discounts"))).items.filter((d) => d.active), []);
  const [lines, setLines] = useState<Line[]>([{ cost: "", quantity: "1", discount: "" }]);
  const [discount, setDiscount] = useState("");
  const [note, setNote] = useState("");
  const { problem, busy, fields, save } = useSave();
  const costOptions = (costs.data ?? []).map((c) => ({ value: c.id, label: `${c.name} (${money(c.price, c.currency)})` }));
  const discountOptions = [{ value: "", label: f("val.noDiscount") }, ...(discounts.data ?? []).map((d) => ({ value: d.id, label: `${d.name} (${d.percent}%)` }))];
  const set = (i: number, patch: Partial<Line>) => setLines(lines.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  // A line's own problem (`items[1].quantity`) goes under that line's field; `items` itself above the lines.
  const exact = (field: string) => problem?.errors?.find((e) => e.field.replace(/^body\./, "") === field)?.message;

  async function submit(event: FormEvent, send: boolean) {
    event.preventDefault();
    const ok = await save(() =>
      unwrap(
        api.PUT("/api/v1/funnel/valuations/{valuation_id}/quote", {
          params: { path: { valuation_id: valuationId } },
          body: {
            items: lines.map((l) => ({ cost_id: l.cost || costOptions[0]?.value || "", quantity: Number(l.quantity), discount_id: l.discount || null })),
            discount_id: discount || null,
            note: note.trim() || null,
            send,
          },
        }),
      ),
    );
    if (ok) onSaved();
  }
  if (costs.data && !costs.data.length) return <p className="banner banner-warn">{f("val.noCosts")}</p>;
  return (
    <form onSubmit={(e) => submit(e, true)} className="stack quote-form" noValidate aria-label={f("val.write")}>
      <h4>{f("val.write")}</h4>
      <ProblemBanner problem={problem} shown={["items", "discount_id", "note"]} />
      {exact("items") ? (
        <p className="error" role="alert">
          {exact("items")}
        </p>
      ) : null}
      {lines.map((line, i) => (
        <fieldset key={i} className="quote-line">
          <legend>{f("val.itemN", { n: i + 1 })}</legend>
          <Field name={`items[${i}].cost_id`} label={f("val.item")} value={line.cost || costOptions[0]?.value || ""} onChange={(v) => set(i, { cost: v })} options={costOptions} error={exact(`items[${i}].cost_id`)} />
          <Field name={`items[${i}].quantity`} label={f("val.quantity")} type="number" value={line.quantity} onChange={(v) => set(i, { quantity: v })} error={exact(`items[${i}].quantity`)} />
          <Field name={`items[${i}].discount_id`} label={f("val.discount")} value={line.discount} onChange={(v) => set(i, { discount: v })} options={discountOptions} error={exact(`items[${i}].discount_id`)} />
          {lines.length > 1 ? (
            <button type="button" className="small" onClick={() => setLines(lines.filter((_, j) => j !== i))}>
              {f("val.removeItem", { n: i + 1 })}
            </button>
          ) : null}
        </fieldset>
      ))}
      <button type="button" className="small" onClick={() => setLines([...lines, { cost: "", quantity: "1", discount: "" }])}>
        + {f("val.addItem")}
      </button>
      <Field name="discount_id" label={f("val.quoteDiscount")} value={discount} onChange={setDiscount} options={discountOptions} error={fields.discount_id} />
      <Field name="note" label={f("val.note")} value={note} onChange={setNote} error={fields.note} multiline />
      <div className="actions">
        <button type="button" disabled={busy} onClick={(e) => submit(e, false)}>
          {f("val.saveDraft")}
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {f("val.saveSend")}
        </button>
      </div>
    </form>
  );
}
