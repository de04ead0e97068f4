// Finance: the period's takings (payments service's finance summary), the clinic's charges paged and filtered
// on the server, each paid one's receipt (the PDF, opened with the token), a person's ledger (charges,
// payments, refunds, debt) and refunds (payments:refund: the finance role and admins).
import { useState, type FormEvent } from "react";
import { fieldErrors, unwrap, type Problem, type Schemas } from "../api/client";
import { Dialog, Field, Loading, ProblemBanner, useWindow } from "../components";
import { blobOf, openFile, problemOf, useComms, useMoney } from "../comms";
import { useLoad } from "../data";
import type { CommsKey } from "../i18n-comms";
import { useSession } from "../session";

type Charge = Schemas["ChargeOut"];
type Ledger = Schemas["LedgerOut"];

export const PAGE = 50;
const STATUSES = ["pending", "paid", "partially_refunded", "refunded", "failed", "expired", "cancelled"] as const;
const RECEIPT_FROM = new Set(["paid", "partially_refunded", "refunded"]);
const REFUND_FROM = new Set(["paid", "partially_refunded"]);

export function paymentStatusKey(status: string): CommsKey {
  return ((STATUSES as readonly string[]).includes(status) ? `pay.${status}` : "pay.other") as CommsKey;
}

function daysAgo(fmtToday: string, days: number): string {
  const d = new Date(`${fmtToday}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

export function Finance() {
  const { api, fmt, can, t: shell } = useSession();
  const t = useComms();
  const money = useMoney();
  const [status, setStatus] = useState("");
  const [offset, setOffset] = useState(0);
  const [ledgerOf, setLedgerOf] = useState<Charge | null>(null);
  const [refunding, setRefunding] = useState<Charge | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [from, setFrom] = useState(() => daysAgo(fmt.today(), 29));
  const [to, setTo] = useState(() => fmt.today());
  const page = useLoad(
    () => unwrap(api.GET("/api/v1/payments/payments", { params: { query: { status: status || undefined, limit: PAGE, offset } } })),
    [status, offset],
  );
  const summary = useLoad(
    () => (can("finance:read") ? unwrap(api.GET("/api/v1/payments/finance", { params: { query: { from, to } } })) : Promise.resolve(null)),
    [from, to],
  );
  const periodErrors = fieldErrors(summary.problem).fields;

  async function receipt(c: Charge) {
    setProblem(null);
    try {
      await openFile(() =>
        blobOf(api.GET("/api/v1/payments/payments/{payment_id}/receipt.pdf", { params: { path: { payment_id: c.id } }, parseAs: "blob" })),
      );
    } catch (error) {
      setProblem(problemOf(error));
    }
  }

  const items = page.data?.items ?? [];
  const rows = useWindow(page.data?.items);
  const total = page.data?.total ?? 0;
  return (
    <section aria-labelledby="finance-title" className="finance">
      <h1 id="finance-title">{t("fin.title")}</h1>
      {can("finance:read") ? (
        <section aria-labelledby="takings-title" className="card">
          <h2 id="takings-title">{t("fin.takings")}</h2>
          <form className="filters" onSubmit={(e) => e.preventDefault()}>
            <Field name="from" label={t("period.from")} type="date" value={from} onChange={setFrom} error={periodErrors.from} />
            <Field name="to" label={t("period.to")} type="date" value={to} onChange={setTo} error={periodErrors.to} />
          </form>
          <ProblemBanner problem={summary.problem} shown={["from", "to"]} />
          {summary.data ? (
            <dl className="stats">
              <div>
                <dt>{t("fin.received")}</dt>
                <dd data-stat="total">{money(summary.data.total)}</dd>
              </div>
              <div>
                <dt>{t("fin.refunded")}</dt>
                <dd>{money(summary.data.refunded)}</dd>
              </div>
              <div>
                <dt>{t("fin.net")}</dt>
                <dd>{money(summary.data.net)}</dd>
              </div>
              <div>
                <dt>{t("fin.count")}</dt>
                <dd>{fmt.number(summary.data.count)}</dd>
              </div>
              {summary.data.by_method.map((b) => (
                <div key={b.key}>
                  <dt>{b.key}</dt>
                  <dd>
                    {money(b.amount)} ({fmt.number(b.count)})
                  </dd>
                </div>
              ))}
            </dl>
          ) : summary.loading ? (
            <Loading />
          ) : null}
        </section>
      ) : null}
      <section aria-labelledby="payments-title">
        <h2 id="payments-title">{t("fin.payments")}</h2>
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <Field
            name="status"
            label={t("fin.status")}
            value={status}
            onChange={(v) => {
              setStatus(v);
              setOffset(0);
            }}
            options={[{ value: "", label: t("fin.anyStatus") }, ...STATUSES.map((s) => ({ value: s, label: t(paymentStatusKey(s)) }))]}
          />
        </form>
        <ProblemBanner problem={problem ?? page.problem} shown={[]} />
        {!page.data && page.loading ? <Loading /> : null}
        {page.data && items.length === 0 ? <p className="muted">{t("fin.none")}</p> : null}
        {items.length ? (
          <div className="table-wrap" aria-busy={page.loading}>
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">{t("fin.created")}</th>
                  <th scope="col">{t("fin.person")}</th>
                  <th scope="col">{t("fin.description")}</th>
                  <th scope="col" className="num">
                    {t("fin.amount")}
                  </th>
                  <th scope="col">{t("fin.status")}</th>
                  <th scope="col">{t("fin.paidAt")}</th>
                  <th scope="col">
                    <span className="sr-only">{shell("reception.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.shown.map((c) => (
                  <tr key={c.id} data-payment={c.id}>
                    <td>{fmt.dateTime(c.created_at)}</td>
                    <td>{c.person.name ?? "—"}</td>
                    <td>{c.description}</td>
                    <td className="num">
                      {money(c.amount, c.currency)}
                      {Number(c.refunded_amount) > 0 ? <span className="muted"> (−{money(c.refunded_amount, c.currency)})</span> : null}
                    </td>
                    <td>
                      <span className={`tag pay-${c.status}`}>{t(paymentStatusKey(c.status))}</span>
                      {c.late ? <span className="tag tag-red"> {t("fin.late")}</span> : null}
                    </td>
                    <td>{c.paid_at ? fmt.dateTime(c.paid_at) : "—"}</td>
                    <td className="row-actions">
                      {RECEIPT_FROM.has(c.status) ? (
                        <button type="button" onClick={() => receipt(c)} aria-label={`${t("fin.receipt")}: ${c.person.name ?? c.description}`}>
                          {t("fin.receipt")}
                        </button>
                      ) : null}
                      {c.person.patient_id || c.person.lead_id ? (
                        <button type="button" onClick={() => setLedgerOf(c)} aria-label={`${t("fin.ledger")}: ${c.person.name ?? c.description}`}>
                          {t("fin.ledger")}
                        </button>
                      ) : null}
                      {can("payments:refund") && REFUND_FROM.has(c.status) ? (
                        <button type="button" onClick={() => setRefunding(c)} aria-label={`${t("fin.refund")}: ${c.person.name ?? c.description}`}>
                          {t("fin.refund")}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.more}
          </div>
        ) : null}
        {total > PAGE ? (
          <p className="pager">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              {shell("list.previous")}
            </button>{" "}
            <span>{shell("list.range", { from: fmt.number(offset + 1), to: fmt.number(Math.min(offset + PAGE, total)), total: fmt.number(total) })}</span>{" "}
            <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
              {shell("list.next")}
            </button>
          </p>
        ) : null}
      </section>
      {ledgerOf ? <LedgerDialog charge={ledgerOf} onClose={() => setLedgerOf(null)} /> : null}
      {refunding ? (
        <RefundDialog
          charge={refunding}
          onClose={() => setRefunding(null)}
          onDone={() => {
            setRefunding(null);
            page.reload();
            summary.reload();
          }}
        />
      ) : null}
    </section>
  );
}

function LedgerDialog({ charge, onClose }: { charge: Charge; onClose: () => void }) {
  const { api, fmt } = useSession();
  const t = useComms();
  const money = useMoney();
  const who = charge.person.patient_id ? { patient_id: charge.person.patient_id } : { lead_id: charge.person.lead_id! };
  const ledger = useLoad<Ledger>(() => unwrap(api.GET("/api/v1/payments/ledger", { params: { query: who } })), [charge.id]);
  const kind = (k: string): CommsKey => (["charge", "payment", "refund"].includes(k) ? `ledger.${k}` : "ledger.other") as CommsKey;
  return (
    <Dialog title={`${t("fin.ledger")}: ${charge.person.name ?? "—"}`} onClose={onClose} wide>
      <ProblemBanner problem={ledger.problem} shown={[]} />
      {ledger.data ? (
        <>
          <dl className="stats">
            <div>
              <dt>{t("ledger.charged")}</dt>
              <dd>{money(ledger.data.charged, charge.currency)}</dd>
            </div>
            <div>
              <dt>{t("ledger.paid")}</dt>
              <dd>{money(ledger.data.paid, charge.currency)}</dd>
            </div>
            <div>
              <dt>{t("fin.refunded")}</dt>
              <dd>{money(ledger.data.refunded, charge.currency)}</dd>
            </div>
            <div>
              <dt>{t("ledger.debt")}</dt>
              <dd data-stat="debt">{money(ledger.data.open_debt, charge.currency)}</dd>
            </div>
          </dl>
          <div className="table-wrap">
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">{t("ledger.when")}</th>
                  <th scope="col">{t("ledger.kind")}</th>
                  <th scope="col">{t("fin.description")}</th>
                  <th scope="col" className="num">
                    {t("fin.amount")}
                  </th>
                </tr>
              </thead>
              <tbody>
                {ledger.data.entries.map((e, i) => (
                  <tr key={`${e.payment_id}-${e.kind}-${i}`}>
                    <td>{fmt.dateTime(e.at)}</td>
                    <td>{t(kind(e.kind))}</td>
                    <td>
                      {e.description}
                      {e.method ? ` · ${e.method}` : ""}
                    </td>
                    <td className="num">{money(e.amount, e.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : (
        <Loading />
      )}
    </Dialog>
  );
}

export function RefundDialog({ charge, onClose, onDone }: { charge: Charge; onClose: () => void; onDone: () => void }) {
  const { api } = useSession();
  const t = useComms();
  const money = useMoney();
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const left = Number(charge.paid_amount ?? charge.amount) - Number(charge.refunded_amount);
  const { fields } = fieldErrors(problem);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(
        api.POST("/api/v1/payments/payments/{payment_id}/refunds", {
          params: { path: { payment_id: charge.id } },
          body: { amount: amount.trim() ? amount.trim().replace(",", ".") : null, reason: reason.trim() || null },
        }),
      );
      onDone();
    } catch (error) {
      setProblem(problemOf(error)); // the dialog stays open with what was typed
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={`${t("fin.refund")}: ${charge.person.name ?? charge.description}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p>{t("refund.left", { amount: money(left.toFixed(2), charge.currency) })}</p>
        <ProblemBanner problem={problem} shown={["amount", "reason"]} />
        <Field name="amount" label={t("refund.amount")} value={amount} onChange={setAmount} error={fields.amount} />
        <p className="hint">{t("refund.amountHint")}</p>
        <Field name="reason" label={t("refund.reason")} value={reason} onChange={setReason} error={fields.reason} multiline />
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy}>
            {t("refund.submit")}
          </button>
          <button type="button" onClick={onClose}>
            {t("refund.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
