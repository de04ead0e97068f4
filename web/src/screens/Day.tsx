// What the agenda and reception share: the clinic's active branches and a branch's own today, the list of a
// day's appointments (time, patient, procedure, professional, status, and the screen's own buttons), and the
// time grid's arithmetic (an appointment's local minutes, which half hours a professional works).
import type { ReactNode } from "react";
import { unwrap, type Schemas } from "../api/client";
import { Loading, useWindow } from "../components";
import { useLoad, type Loaded } from "../data";
import type { Key } from "../i18n";
import { useSession } from "../session";

export type Branch = Schemas["BranchOut"];
export type Professional = Schemas["ProfessionalOut"];
export type AgendaItem = Schemas["AgendaItem"];

/** The clinic's active branches, read once per screen. */
export function useBranches(): Loaded<Branch[]> {
  const { api } = useSession();
  return useLoad(async () => ((await unwrap(api.GET("/api/v1/scheduling/branches"))).items as Branch[]).filter((b) => b.active), []);
}

/** Today (`YYYY-MM-DD`) in the branch's own time zone. */
export function branchToday(branch: Branch | null, now = new Date()): string {
  return branch ? new Intl.DateTimeFormat("en-CA", { timeZone: branch.timezone }).format(now) : "";
}

/** The appointments of a day as a table; `actions` renders the screen's buttons of one appointment. */
export function DayList({ items, loading, actions, empty }: { items: AgendaItem[]; loading: boolean; actions?: (a: AgendaItem) => ReactNode; empty?: string }) {
  const { t } = useSession();
  const { shown, more } = useWindow(items);
  if (!items.length) return loading ? <Loading /> : <p className="muted">{empty ?? t("reception.none")}</p>;
  return (
    <div className="table-wrap" aria-busy={loading}>
      <table className="day-list">
        <thead>
          <tr>
            <th scope="col">{t("reception.time")}</th>
            <th scope="col">{t("reception.patient")}</th>
            <th scope="col">{t("reception.procedure")}</th>
            <th scope="col">{t("reception.professional")}</th>
            <th scope="col">{t("reception.status")}</th>
            {actions ? (
              <th scope="col">
                <span className="sr-only">{t("reception.actions")}</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {shown.map((a) => (
            <tr key={a.id} className={`slot-row slot-${a.status}`} data-appointment={a.id}>
              <td>{a.local_start.slice(11, 16)}</td>
              <td>{a.patient_name ?? "—"}</td>
              <td>{a.procedure_name}</td>
              <td>{a.professional_name}</td>
              <td>{t(`appointment.${a.status}` as Key)}</td>
              {actions ? <td className="actions">{actions(a)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      {more}
    </div>
  );
}

/** `HH:MM` as minutes after midnight. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":");
  return Number(h) * 60 + Number(m);
}

/** Minutes after midnight as `HH:MM`. */
export function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** An appointment's local day, start and end (minutes after the local midnight of its day). */
export function span(a: AgendaItem): { day: string; start: number; end: number } {
  const start = minutesOf(a.local_start.slice(11, 16));
  const length = Math.max(1, Math.round((new Date(a.ends_at).getTime() - new Date(a.starts_at).getTime()) / 60_000));
  return { day: a.local_start.slice(0, 10), start, end: start + length };
}

/** Monday = 0 … Sunday = 6, as the scheduling service numbers weekdays. */
export function weekday(day: string): number {
  return (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
}

interface Hours {
  weekday?: unknown;
  start?: unknown;
  end?: unknown;
  branch_id?: unknown;
}

/** The professional's working spans at the branch on that day (none on a day off). */
export function workingSpans(p: Professional, branchId: string, day: string): [number, number][] {
  if (p.days_off.includes(day)) return [];
  const wd = weekday(day);
  return (p.hours as Hours[])
    .filter((h) => Number(h.weekday) === wd && (!h.branch_id || h.branch_id === branchId) && typeof h.start === "string" && typeof h.end === "string")
    .map((h) => [minutesOf(h.start as string), minutesOf(h.end as string)]);
}

/** The rows of the grid: every `step` minutes from the earliest working hour (or appointment) to the latest. */
export function gridRows(spans: [number, number][], step = 30): number[] {
  let first = 8 * 60;
  let last = 18 * 60;
  if (spans.length) {
    first = Math.min(...spans.map((s) => s[0]));
    last = Math.max(...spans.map((s) => s[1]));
  }
  first = Math.floor(first / step) * step;
  last = Math.min(24 * 60, Math.ceil(last / step) * step);
  const rows: number[] = [];
  for (let m = first; m < last; m += step) rows.push(m);
  return rows;
}
