// Prospects: status avatars with counts, statistics, the list (paged and filtered on the server), create.
import { useEffect, useMemo, useState } from "react";
import { unwrap, type LeadPage, type Metrics } from "../api/client";
import { Field, initials, Loading, ProblemBanner, StatusBadge, useWindow } from "../components";
import { labelOf, useList, useLoad, useStaff, useStaffName } from "../data";
import { useSession } from "../session";
import { textOn, useStatuses } from "../statuses";
import { LeadDialog } from "./LeadDialog";

export interface Filters {
  created_from: string;
  created_to: string;
  status: string;
  source: string;
  owner: string; // "" any, "mine", "none", or a user id
  q: string;
}

export const NO_FILTERS: Filters = { created_from: "", created_to: "", status: "", source: "", owner: "", q: "" };
const PAGE = 50;

/** The list's query as the API takes it (only what is set). */
export function listQuery(f: Filters, myId: string, offset: number) {
  return {
    ...(f.created_from ? { created_from: f.created_from } : {}),
    ...(f.created_to ? { created_to: f.created_to } : {}),
    ...(f.status ? { status: [f.status] } : {}),
    ...(f.source ? { source: [f.source] } : {}),
    ...(f.owner ? { owner_id: [f.owner === "mine" ? myId : f.owner] } : {}),
    ...(f.q.trim() ? { q: f.q.trim() } : {}),
    limit: PAGE,
    offset,
  };
}

export function Prospects() {
  const { api, t, fmt, me, can } = useSession();
  const statuses = useStatuses();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const sources = useList("source");
  const staff = useStaff();
  const staffName = useStaffName();

  // Typing in the search box asks the server once the typing pauses, not on every key.
  useEffect(() => {
    const timer = setTimeout(() => setFilters((f) => (f.q === search ? f : { ...f, q: search })), 300);
    return () => clearTimeout(timer);
  }, [search]);
  useEffect(() => setOffset(0), [filters]);

  const page = useLoad<LeadPage>(
    () => unwrap(api.GET("/api/v1/leads", { params: { query: listQuery(filters, me.id, offset) } })),
    [filters, offset],
  );
  const rows = useWindow(page.data?.items);
  const metricsRange = useMemo(() => {
    const to = filters.created_to || fmt.today();
    // No date filter: the ten years the metrics allow, so the counts match the unfiltered list.
    const from = filters.created_from || new Date(Date.parse(to) - 3650 * 86_400_000).toISOString().slice(0, 10);
    return { from, to };
  }, [filters.created_from, filters.created_to, fmt]);
  const metrics = useLoad<Metrics>(
    () => unwrap(api.GET("/api/v1/leads/metrics", { params: { query: metricsRange } })),
    [metricsRange, page.data],
  );

  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const total = page.data ? `${fmt.number(page.data.total)}${page.data.total_capped ? "+" : ""}` : "";
  const shown = page.data?.items.length ?? 0;

  return (
    <section aria-labelledby="prospects-title">
      <div className="title-row">
        <h1 id="prospects-title">{t("prospects.title")}</h1>
        {can("crm:write") ? (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            + {t("prospects.new")}
          </button>
        ) : null}
      </div>

      <div className="avatars" role="group" aria-label={t("prospects.byStatus")}>
        {statuses.order.map((s) => {
          const name = statuses.name(s);
          const colour = statuses.color(s);
          const count = metrics.data?.by_status[s] ?? 0;
          return (
            <button
              key={s}
              type="button"
              className="avatar"
              aria-pressed={filters.status === s}
              title={name}
              onClick={() => set({ status: filters.status === s ? "" : s })}
            >
              <span className="avatar-dot" style={{ background: colour, color: textOn(colour) }} aria-hidden="true">
                {initials(name)}
              </span>
              <span className="avatar-count" data-status={s}>
                {fmt.number(count)}
              </span>
              <span className="sr-only">{name}</span>
            </button>
          );
        })}
      </div>

      <dl className="stats">
        <div>
          <dt>{t("stats.total")}</dt>
          <dd data-stat="total">{metrics.data ? fmt.number(metrics.data.total) : "…"}</dd>
        </div>
        <div>
          <dt>{t("stats.high")}</dt>
          <dd data-stat="high">{metrics.data ? fmt.number(metrics.data.high_urgency) : "…"}</dd>
        </div>
        <div>
          <dt>{t("stats.followUps")}</dt>
          <dd data-stat="follow-ups">{metrics.data ? fmt.number(metrics.data.follow_ups_today) : "…"}</dd>
        </div>
      </dl>

      <form className="filters" role="search" aria-label={t("filters.title")} onSubmit={(e) => e.preventDefault()}>
        <Field name="q" label={t("filters.search")} type="search" value={search} onChange={setSearch} />
        <Field name="created_from" label={t("filters.from")} type="date" value={filters.created_from} onChange={(v) => set({ created_from: v })} />
        <Field name="created_to" label={t("filters.to")} type="date" value={filters.created_to} onChange={(v) => set({ created_to: v })} />
        <Field
          name="status"
          label={t("filters.status")}
          value={filters.status}
          onChange={(v) => set({ status: v })}
          options={[{ value: "", label: t("prospects.allStatuses") }, ...statuses.order.map((s) => ({ value: s, label: statuses.name(s) }))]}
        />
        <Field
          name="source"
          label={t("filters.source")}
          value={filters.source}
          onChange={(v) => set({ source: v })}
          options={[{ value: "", label: t("filters.any") }, ...sources.map((s) => ({ value: s.slug, label: s.label }))]}
        />
        <Field
          name="owner"
          label={t("filters.owner")}
          value={filters.owner}
          onChange={(v) => set({ owner: v })}
          options={[
            { value: "", label: t("filters.any") },
            { value: "mine", label: t("filters.mine") },
            { value: "none", label: t("filters.unassigned") },
            ...staff.filter((s) => s.id !== me.id).map((s) => ({ value: s.id, label: s.full_name })),
          ]}
        />
        <button
          type="button"
          onClick={() => {
            setSearch("");
            setFilters(NO_FILTERS);
          }}
        >
          {t("filters.clear")}
        </button>
      </form>

      <ProblemBanner problem={page.problem} shown={[]} />
      <div className="table-wrap" aria-busy={page.loading}>
        <table className="list">
          <thead>
            <tr>
              <th scope="col">{t("list.name")}</th>
              <th scope="col">{t("list.phone")}</th>
              <th scope="col">{t("list.source")}</th>
              <th scope="col">{t("list.status")}</th>
              <th scope="col">{t("list.owner")}</th>
              <th scope="col">{t("list.created")}</th>
              <th scope="col">{t("list.followUp")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.shown.map((lead) => (
              <tr key={lead.id} data-lead={lead.id}>
                <td>
                  <a href={`#/prospects/${lead.id}`}>{lead.name}</a>
                  {lead.urgency === "high" ? <span className="tag tag-red"> {t("urgency.high")}</span> : null}
                </td>
                <td className="nowrap">{fmt.phone(lead.phone)}</td>
                <td>{labelOf(sources, lead.source)}</td>
                <td>
                  <StatusBadge status={lead.status} />
                </td>
                <td>{staffName(lead.owner_id)}</td>
                <td className="nowrap">{fmt.dateTime(lead.created_at)}</td>
                <td className="nowrap">{fmt.date(lead.next_follow_up)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.more}
        {page.loading && !page.data ? <Loading /> : null}
        {page.data && shown === 0 ? <p className="muted">{t("list.empty")}</p> : null}
      </div>
      {page.data && shown > 0 ? (
        <nav className="pager" aria-label={t("list.range", { from: offset + 1, to: offset + shown, total })}>
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            ‹ {t("list.previous")}
          </button>
          <span role="status">{t("list.range", { from: fmt.number(offset + 1), to: fmt.number(offset + shown), total })}</span>
          <button
            type="button"
            disabled={offset + shown >= page.data.total && !page.data.total_capped}
            onClick={() => setOffset(offset + PAGE)}
          >
            {t("list.next")} ›
          </button>
        </nav>
      ) : null}

      {creating ? (
        <LeadDialog
          onClose={() => setCreating(false)}
          onSaved={(lead) => {
            setCreating(false);
            location.hash = `/prospects/${lead.id}`;
          }}
        />
      ) : null}
    </section>
  );
}
