// Activities across prospects (the bell's "see all"): filtered and paged on the server, coloured by state, each
// naming its prospect (the API's `lead_name`) with a link to the card.
import { useState } from "react";
import { unwrap } from "../api/client";
import { Field, Loading, ProblemBanner, useWindow } from "../components";
import { useLoad, useStaffName } from "../data";
import type { Key } from "../i18n";
import { useSession } from "../session";

const PAGE = 50;
const TYPES = ["call", "letter", "email", "message", "meeting", "task"] as const;
const STATES = ["scheduled", "done", "cancelled"] as const;

export interface ActivityFilters {
  state: string;
  type: string;
  mine: boolean;
  overdue: boolean;
  from: string;
  to: string;
}

/** The filters as the API takes them; days are the clinic's (`to` inclusive, sent as the next midnight). */
export function activityQuery(f: ActivityFilters, zoned: (wall: string) => string, offset: number) {
  const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return {
    ...(f.state ? { state: [f.state] } : {}),
    ...(f.type ? { type: [f.type] } : {}),
    ...(f.mine ? { mine: true } : {}),
    ...(f.overdue ? { overdue: true } : {}),
    ...(f.from ? { scheduled_from: zoned(`${f.from}T00:00`) } : {}),
    ...(f.to ? { scheduled_to: zoned(`${nextDay(f.to)}T00:00`) } : {}),
    sort: "scheduled_at",
    limit: PAGE,
    offset,
  };
}

export function ActivitiesScreen() {
  const { api, t, fmt } = useSession();
  const staffName = useStaffName();
  const [filters, setFilters] = useState<ActivityFilters>({ state: "scheduled", type: "", mine: true, overdue: false, from: "", to: "" });
  const [offset, setOffset] = useState(0);
  const set = (patch: Partial<ActivityFilters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setOffset(0);
  };
  const page = useLoad(
    () => unwrap(api.GET("/api/v1/leads/activities", { params: { query: activityQuery(filters, (w) => fmt.zonedToIso(w), offset) } })),
    [filters, offset],
  );
  const items = page.data?.items ?? [];
  const rows = useWindow(page.data?.items);
  return (
    <section aria-labelledby="activities-title">
      <h1 id="activities-title">{t("nav.activities")}</h1>
      <form className="filters filters-activities" role="search" aria-label={t("filters.title")} onSubmit={(e) => e.preventDefault()}>
        <Field
          name="state"
          label={t("activities.state")}
          value={filters.state}
          onChange={(v) => set({ state: v })}
          options={[{ value: "", label: t("activities.any") }, ...STATES.map((s) => ({ value: s, label: t(`activities.state.${s}`) }))]}
        />
        <Field
          name="type"
          label={t("activities.type")}
          value={filters.type}
          onChange={(v) => set({ type: v })}
          options={[{ value: "", label: t("activities.any") }, ...TYPES.map((v) => ({ value: v, label: t(`activity.${v}`) }))]}
        />
        <Field name="from" label={t("activities.from")} type="date" value={filters.from} onChange={(v) => set({ from: v })} />
        <Field name="to" label={t("activities.to")} type="date" value={filters.to} onChange={(v) => set({ to: v })} />
        <label className="inline">
          <input type="checkbox" checked={filters.mine} onChange={(e) => set({ mine: e.target.checked })} /> {t("activities.onlyMine")}
        </label>
        <label className="inline">
          <input type="checkbox" checked={filters.overdue} onChange={(e) => set({ overdue: e.target.checked })} /> {t("activities.onlyOverdue")}
        </label>
      </form>
      <ProblemBanner problem={page.problem} shown={[]} />
      <div className="table-wrap" aria-busy={page.loading}>
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("activities.when")}</th>
              <th scope="col">{t("activities.type")}</th>
              <th scope="col">{t("activities.titleField")}</th>
              <th scope="col">{t("activities.state")}</th>
              <th scope="col">{t("lead.owner")}</th>
              <th scope="col">{t("nav.prospects")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.shown.map((a) => (
              <tr key={a.id} data-activity={a.id} className={`activity-${a.state}${a.overdue ? " overdue" : ""}`}>
                <td className="nowrap">
                  <time dateTime={a.scheduled_at}>{fmt.dateTime(a.scheduled_at)}</time>
                </td>
                <td>{t(`activity.${a.type}` as Key)}</td>
                <td>
                  <strong>{a.title}</strong>
                  {a.private ? <span className="tag"> 🔒 {t("activities.private")}</span> : null}
                </td>
                <td>
                  <span className={`state state-${a.overdue ? "overdue" : a.state}`}>
                    {a.overdue ? t("activities.overdue") : t(`activities.state.${a.state}` as Key)}
                  </span>
                </td>
                <td>{staffName(a.responsible_id)}</td>
                <td>
                  {/* The prospect's name comes with the activity (one query); an older API's answer has none. */}
                  <a href={`#/prospects/${a.lead_id}`} title={a.lead_name ? t("activities.open") : undefined}>
                    {a.lead_name || t("activities.open")}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.more}
        {page.loading && !page.data ? <Loading /> : null}
        {page.data && !items.length ? <p className="muted">{t("activities.none")}</p> : null}
      </div>
      {page.data && items.length ? (
        <nav className="pager" aria-label={t("list.range", { from: offset + 1, to: offset + items.length, total: page.data.total })}>
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            ‹ {t("list.previous")}
          </button>
          <span role="status">{t("list.range", { from: fmt.number(offset + 1), to: fmt.number(offset + items.length), total: fmt.number(page.data.total) })}</span>
          <button type="button" disabled={offset + items.length >= page.data.total} onClick={() => setOffset(offset + PAGE)}>
            {t("list.next")} ›
          </button>
        </nav>
      ) : null}
    </section>
  );
}
