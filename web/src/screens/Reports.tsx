// Reports: charts of the analytics service's reports for a period (the conversion funnel, revenue per channel,
// source or doctor, the curators' Visits, no-shows per channel, the AI reply assistant's use per staff member,
// channel or model), each with its CSV and XLSX export (the same
// report with `format=csv|xlsx`, downloaded with the token).
import { useState } from "react";
import { fieldErrors, unwrap, type Problem, type Schemas } from "../api/client";
import { BarChart, FunnelChart, type Datum } from "../charts";
import { Field, Loading, ProblemBanner } from "../components";
import { blobOf, downloadFile, problemOf, useComms, useMoney } from "../comms";
import { useLoad } from "../data";
import type { CommsKey } from "../i18n-comms";
import { useSession } from "../session";

type Report = Schemas["ReportOut"];
type ReportPath =
  | "/api/v1/analytics/reports/conversion"
  | "/api/v1/analytics/reports/revenue"
  | "/api/v1/analytics/reports/visits"
  | "/api/v1/analytics/reports/attendance"
  | "/api/v1/analytics/reports/ai-usage";
interface Query {
  from: string;
  to: string;
  group_by?: string;
}

const STEPS = ["leads", "booked", "arrived", "treated", "paid"] as const;
const REVENUE_BY = ["channel", "source", "doctor"] as const;
const AI_BY = ["staff", "channel", "model"] as const;

/** The AI-usage report's rows as bars: requests per staff member / channel / model, with how they were used. */
export function aiBars(
  report: Report,
  dim: string,
  none: string,
  t: (key: CommsKey) => string,
  fmtNumber: (n: number) => string,
  money: (amount: string) => string,
): Datum[] {
  return report.rows.map((r) => {
    const parts = [
      `${fmtNumber(num(r.requests))}`,
      `${t("rep.aiUsed")} ${fmtNumber(num(r.used))}${r.use_rate === null || r.use_rate === undefined ? "" : ` (${fmtNumber(num(r.use_rate))}%)`}`,
      `${fmtNumber(num(r.tokens))} ${t("rep.aiTokens")}`,
    ];
    if (r.cost !== null && r.cost !== undefined) parts.push(`${t("rep.aiCost")} ${money(String(r.cost))}`);
    return { label: dimLabel(r, dim, none), value: num(r.requests), shown: parts.join(" · ") };
  });
}

function num(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** A row's label for a dimension: the name the events carried (`doctor_name`), else the value itself. */
export function dimLabel(row: Record<string, unknown>, dim: string, none: string): string {
  const named = row[`${dim}_name`];
  const value = named ?? row[dim];
  return value === null || value === undefined || value === "" ? none : String(value);
}

export function funnelSteps(report: Report, label: (step: string) => string, fmtNumber: (n: number) => string): Datum[] {
  return STEPS.map((s) => {
    const value = num(report.totals[s]);
    const rate = report.totals[`${s}_rate`];
    return { label: label(s), value, shown: s === "leads" || rate === null || rate === undefined ? fmtNumber(value) : `${fmtNumber(value)} (${fmtNumber(num(rate))}%)` };
  });
}

function daysAgo(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

export function Reports() {
  const { api, fmt } = useSession();
  const t = useComms();
  const money = useMoney();
  const [from, setFrom] = useState(() => daysAgo(fmt.today(), 29));
  const [to, setTo] = useState(() => fmt.today());
  const [revenueBy, setRevenueBy] = useState<(typeof REVENUE_BY)[number]>("channel");
  const [aiBy, setAiBy] = useState<(typeof AI_BY)[number]>("staff");
  const [exportProblem, setExportProblem] = useState<Problem | null>(null);
  const load = (path: ReportPath, query: Query) =>
    unwrap(api.GET(path as "/api/v1/analytics/reports/revenue", { params: { query } })) as Promise<Report>;
  const conversion = useLoad(() => load("/api/v1/analytics/reports/conversion", { from, to }), [from, to]);
  const revenue = useLoad(() => load("/api/v1/analytics/reports/revenue", { from, to, group_by: revenueBy }), [from, to, revenueBy]);
  const visits = useLoad(() => load("/api/v1/analytics/reports/visits", { from, to }), [from, to]);
  const attendance = useLoad(() => load("/api/v1/analytics/reports/attendance", { from, to, group_by: "channel" }), [from, to]);
  const ai = useLoad(() => load("/api/v1/analytics/reports/ai-usage", { from, to, group_by: aiBy }), [from, to, aiBy]);
  const problem = conversion.problem ?? revenue.problem ?? visits.problem ?? attendance.problem ?? ai.problem;
  const period = fieldErrors(problem).fields;
  const none = t("rep.none");

  async function exportAs(path: ReportPath, query: Query, format: "csv" | "xlsx") {
    setExportProblem(null);
    const name = `${path.split("/").pop()}-${query.from}-${query.to}.${format}`;
    try {
      await downloadFile(
        () => blobOf(api.GET(path as "/api/v1/analytics/reports/revenue", { params: { query: { ...query, format } }, parseAs: "blob" })),
        name,
      );
    } catch (error) {
      setExportProblem(problemOf(error));
    }
  }

  function Exports({ path, query, what }: { path: ReportPath; query: Query; what: string }) {
    return (
      <p className="exports">
        {(["csv", "xlsx"] as const).map((f) => (
          <button key={f} type="button" className="link" onClick={() => exportAs(path, query, f)} aria-label={`${t(`rep.${f}` as CommsKey)}: ${what}`}>
            {t(`rep.${f}` as CommsKey)}
          </button>
        ))}
      </p>
    );
  }

  const revenueData: Datum[] = (revenue.data?.rows ?? []).map((r) => ({ label: dimLabel(r, revenueBy, none), value: num(r.revenue), shown: money(r.revenue as string) }));
  const curators = (visits.data?.totals.curators as Record<string, unknown>[] | undefined) ?? [];
  const curatorData: Datum[] = curators.map((c) => ({
    label: String(c.curator_name ?? c.curator_id ?? none),
    value: num(c.payments),
    shown: `${money(c.payments as string)} · ${t("rep.commission")} ${money(c.commission as string)}`,
  }));
  const noShowData: Datum[] = (attendance.data?.rows ?? []).map((r) => ({
    label: dimLabel(r, "channel", none),
    value: num(r.no_show_rate),
    shown: `${fmt.number(num(r.no_show_rate))}% (${fmt.number(num(r.no_shows))}/${fmt.number(num(r.appointments))})`,
  }));

  const aiData: Datum[] = ai.data ? aiBars(ai.data, aiBy, none, t, fmt.number.bind(fmt), (a) => money(a)) : [];
  const aiTotals = ai.data?.totals ?? {};

  return (
    <section aria-labelledby="reports-title" className="reports">
      <h1 id="reports-title">{t("rep.title")}</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field name="from" label={t("period.from")} type="date" value={from} onChange={setFrom} error={period.from} />
        <Field name="to" label={t("period.to")} type="date" value={to} onChange={setTo} error={period.to} />
      </form>
      <ProblemBanner problem={exportProblem ?? problem} shown={["from", "to"]} />
      <div className="report-grid">
        <section className="card" aria-labelledby="rep-funnel">
          <h2 id="rep-funnel">{t("rep.funnel")}</h2>
          {conversion.data ? (
            <FunnelChart title={t("rep.funnel")} steps={funnelSteps(conversion.data, (s) => t(`step.${s}` as CommsKey), fmt.number.bind(fmt))} head={[t("rep.step"), t("rep.count")]} />
          ) : conversion.loading ? (
            <Loading />
          ) : null}
          <Exports path="/api/v1/analytics/reports/conversion" query={{ from, to }} what={t("rep.funnel")} />
        </section>
        <section className="card" aria-labelledby="rep-revenue">
          <h2 id="rep-revenue">{t("rep.revenue")}</h2>
          <Field
            name="revenue_by"
            label={t("rep.by")}
            value={revenueBy}
            onChange={(v) => setRevenueBy(v as (typeof REVENUE_BY)[number])}
            options={REVENUE_BY.map((d) => ({ value: d, label: t(`dim.${d}` as CommsKey) }))}
          />
          {revenue.data ? (
            <>
              <BarChart title={`${t("rep.revenue")} · ${t(`dim.${revenueBy}` as CommsKey)}`} data={revenueData} head={[t(`dim.${revenueBy}` as CommsKey), t("rep.amount")]} empty={t("rep.empty")} />
              <p>
                {t("rep.total")}: <strong>{money(revenue.data.totals.revenue as string)}</strong>
              </p>
            </>
          ) : revenue.loading ? (
            <Loading />
          ) : null}
          <Exports path="/api/v1/analytics/reports/revenue" query={{ from, to, group_by: revenueBy }} what={t("rep.revenue")} />
        </section>
        <section className="card" aria-labelledby="rep-visits">
          <h2 id="rep-visits">{t("rep.visits")}</h2>
          {visits.data ? (
            <BarChart title={t("rep.visits")} data={curatorData} head={[t("rep.curator"), t("rep.amount")]} empty={t("rep.empty")} />
          ) : visits.loading ? (
            <Loading />
          ) : null}
          <Exports path="/api/v1/analytics/reports/visits" query={{ from, to }} what={t("rep.visits")} />
        </section>
        <section className="card" aria-labelledby="rep-noshows">
          <h2 id="rep-noshows">{t("rep.noShows")}</h2>
          {attendance.data ? (
            <>
              <BarChart title={t("rep.noShows")} data={noShowData} head={[t("dim.channel"), t("rep.rate")]} empty={t("rep.empty")} />
              <p>
                {t("rep.total")}: <strong>{attendance.data.totals.no_show_rate === null ? "—" : `${fmt.number(num(attendance.data.totals.no_show_rate))}%`}</strong>
              </p>
            </>
          ) : attendance.loading ? (
            <Loading />
          ) : null}
          <Exports path="/api/v1/analytics/reports/attendance" query={{ from, to, group_by: "channel" }} what={t("rep.noShows")} />
        </section>
        <section className="card" aria-labelledby="rep-ai">
          <h2 id="rep-ai">{t("rep.ai")}</h2>
          <Field
            name="ai_by"
            label={`${t("rep.by")} (${t("rep.ai")})`}
            value={aiBy}
            onChange={(v) => setAiBy(v as (typeof AI_BY)[number])}
            options={AI_BY.map((dim) => ({ value: dim, label: t(`dim.${dim}` as CommsKey) }))}
          />
          {ai.data ? (
            <>
              <BarChart title={`${t("rep.ai")} · ${t(`dim.${aiBy}` as CommsKey)}`} data={aiData} head={[t(`dim.${aiBy}` as CommsKey), t("rep.aiRequests")]} empty={t("rep.empty")} />
              <p data-ai-totals="">
                {t("rep.total")}: <strong>{fmt.number(num(aiTotals.requests))}</strong> {t("rep.aiRequests").toLowerCase()} · {t("rep.aiUsed")} {fmt.number(num(aiTotals.used))} ({t("rep.aiAsIs")}{" "}
                {fmt.number(num(aiTotals.as_is))}, {t("rep.aiEdited")} {fmt.number(num(aiTotals.edited))}) · {t("rep.aiIgnored")} {fmt.number(num(aiTotals.ignored))} · {t("rep.aiUseRate")}{" "}
                {aiTotals.use_rate === null || aiTotals.use_rate === undefined ? "—" : `${fmt.number(num(aiTotals.use_rate))}%`} · {fmt.number(num(aiTotals.tokens))} {t("rep.aiTokens")}
                {aiTotals.cost !== null && aiTotals.cost !== undefined ? ` · ${t("rep.aiCost")} ${money(String(aiTotals.cost))}` : ""} · {t("rep.aiBooked")} {fmt.number(num(aiTotals.booked))} ·{" "}
                {t("rep.aiPaid")} {fmt.number(num(aiTotals.paid))}
              </p>
            </>
          ) : ai.loading ? (
            <Loading />
          ) : null}
          <Exports path="/api/v1/analytics/reports/ai-usage" query={{ from, to, group_by: aiBy }} what={t("rep.ai")} />
        </section>
      </div>
    </section>
  );
}
