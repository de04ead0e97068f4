// The agenda's time grid: half hours as rows; the professionals as columns for a day, the days for a week.
// A free half hour books (the professionals' working hours say which are free); an appointment opens its
// dialog, or is dragged onto another half hour (and, in a day, another professional's column) to reschedule it
// (`POST .../reschedule`): shown there at once, put back with the API's problem when the move is refused.
import { useMemo, useRef, useState, type DragEvent, type ReactNode } from "react";
import { ApiError, fieldErrors, unwrap, type Problem } from "../api/client";
import type { Formats } from "../i18n";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import { remPx, useWindowed } from "../windowed";
import { gridRows, hhmm, span, workingSpans, type AgendaItem as Item, type Branch, type Professional } from "./Day";

/** Statuses that hold their time in the grid (a cancelled or missed appointment frees it). */
export const HOLDS = new Set(["held", "booked", "confirmed", "arrived", "checked_in", "in_service", "completed"]);
/** A week's half hour shows this many appointments; more are "+n", which opens that day (one column each). */
export const WEEK_CELL = 3;
/** The grid's rows are 1.9rem tall (desk.css). */
const ROW_REM = 1.9;
/** Statuses that can still be moved or cancelled. */
export const OPEN = new Set(["held", "booked", "confirmed"]);
const STEP = 30;

interface Column {
  key: string;
  label: string;
  day: string;
  professionals: Professional[];
}

/** The grid's cells: per column and half hour, the appointments starting in it and who is free then. Each
 * appointment's span is worked out once and put in its column's half hours directly (a week of 1,000
 * appointments is a few thousand steps, not a filter of every appointment per cell). */
export function gridOf(branchId: string, days: string[], byDay: boolean, professionals: Professional[], items: Item[], dayLabel: (day: string) => string) {
  const known = new Set(professionals.map((p) => p.id));
  const columns: Column[] = byDay
    ? days.map((day) => ({ key: day, label: dayLabel(day), day, professionals }))
    : professionals.map((p) => ({ key: p.id, label: p.name, day: days[0]!, professionals: [p] }));
  const index = new Map(columns.map((c, i) => [c.key, i]));
  const mine: { a: Item; s: ReturnType<typeof span> }[][] = columns.map(() => []);
  for (const a of items) {
    if (!HOLDS.has(a.status)) continue;
    const s = span(a);
    const at = byDay ? (!known.size || known.has(a.professional_id) ? index.get(s.day) : undefined) : s.day === days[0] ? index.get(a.professional_id) : undefined;
    if (at !== undefined) mine[at]!.push({ a, s });
  }
  const spans: [number, number][] = [];
  for (const c of columns) for (const p of c.professionals) spans.push(...workingSpans(p, branchId, c.day));
  for (const column of mine) for (const { s } of column) spans.push([s.start, s.end]);
  const rows = gridRows(spans, STEP);
  const first = rows[0] ?? 0;
  const cells = columns.map((c, ci) => {
    const starting: Item[][] = rows.map(() => []);
    const covered: Set<string>[] = rows.map(() => new Set());
    for (const { a, s } of mine[ci]!) {
      const r0 = Math.max(0, Math.floor((s.start - first) / STEP));
      if (r0 < rows.length) starting[r0]!.push(a);
      for (let r = r0; r < rows.length && rows[r]! < s.end; r++) covered[r]!.add(a.professional_id);
    }
    const hours = new Map(c.professionals.map((p) => [p.id, workingSpans(p, branchId, c.day)]));
    return rows.map((m, r) => {
      const free = c.professionals.filter((p) => (hours.get(p.id) ?? []).some(([from, to]) => from <= m && m + STEP <= to) && !covered[r]!.has(p.id));
      return { minute: m, starting: starting[r]!, busy: covered[r]!.size > 0, free };
    });
  });
  return { columns, rows, cells };
}

/** Where an appointment is dropped: a day, a local `HH:MM`, and the professional of a day's column. */
export interface Target {
  day: string;
  time: string;
  professionalId: string | null;
}

/** The appointment moved to `target` as the grid shows it until the agenda is read again. */
export function movedTo(a: Item, target: Target, professionals: Professional[]): Item {
  const local_start = `${target.day}T${target.time}:00${a.local_start.slice(19)}`;
  const to = target.professionalId ? professionals.find((p) => p.id === target.professionalId) : undefined;
  return to ? { ...a, local_start, professional_id: to.id, professional_name: to.name } : { ...a, local_start };
}

/** Drag to reschedule: the items with the move in flight shown, `move` to call the API, the refusal to show. */
export function useMoves(items: Item[], professionals: Professional[], zoned: Formats | null, reload: () => void) {
  const { api } = useSession();
  const { d } = useDesk();
  // A move in flight or done, shown until the agenda's next answer (`of`) replaces the list it was made on.
  const [moved, setMoved] = useState<{ of: Item[]; item: Item } | null>(null);
  const [refused, setRefused] = useState<{ name: string; problem: Problem } | null>(null);
  const [busy, setBusy] = useState(false);
  const shown = useMemo(() => (moved && moved.of === items ? items.map((a) => (a.id === moved.item.id ? moved.item : a)) : items), [items, moved]);

  async function move(a: Item, target: Target) {
    if (!zoned) return;
    const to = movedTo(a, target, professionals);
    setRefused(null);
    setMoved({ of: items, item: to });
    setBusy(true);
    try {
      await unwrap(
        api.POST("/api/v1/scheduling/appointments/{appointment_id}/reschedule", {
          params: { path: { appointment_id: a.id } },
          body: { starts_at: zoned.zonedToIso(`${target.day}T${target.time}`), professional_id: target.professionalId && target.professionalId !== a.professional_id ? target.professionalId : null },
        }),
      );
      reload();
    } catch (error) {
      setMoved(null); // the card goes back where it was
      setRefused({ name: a.patient_name ?? "—", problem: error instanceof ApiError ? error.problem : { status: 0, detail: String(error) } });
    } finally {
      setBusy(false);
    }
  }

  let banner: ReactNode = null;
  if (refused) {
    const { fields, general } = fieldErrors(refused.problem);
    banner = (
      <div className="banner banner-error" role="alert" data-refused="move">
        <p>
          <strong>{d("agenda.notMoved", { name: refused.name })}</strong> {general}
        </p>
        {Object.values(fields).map((m) => (
          <p key={m}>{m}</p>
        ))}
        <button type="button" className="small" onClick={() => setRefused(null)}>
          {d("agenda.close")}
        </button>
      </div>
    );
  }
  /** `busy` while the API has not answered a move yet */
  return { shown, move, banner, busy };
}

export function AgendaGrid({
  branch,
  days,
  byDay,
  professionals,
  items,
  loading,
  zoned,
  canBook,
  onFree,
  onOpen,
  onMove,
  onDay,
}: {
  branch: Branch;
  days: string[];
  byDay: boolean;
  professionals: Professional[];
  items: Item[];
  loading: boolean;
  zoned: Formats;
  canBook: boolean;
  onFree: (professionalId: string, when: string) => void;
  onOpen: (item: Item) => void;
  onMove: (item: Item, target: Target) => void;
  /** "+n" in a week's crowded half hour: show that day */
  onDay: (day: string) => void;
}) {
  const { t, locale } = useSession();
  const { d } = useDesk();
  const [dragging, setDragging] = useState<string | null>(null);
  const [over, setOver] = useState<string | null>(null);
  const weekdayName = (day: string) => new Intl.DateTimeFormat(locale, { weekday: "short", timeZone: "UTC" }).format(new Date(`${day}T12:00:00Z`));
  const grid = useMemo(
    () => gridOf(branch.id, days, byDay, professionals, items, (day) => `${weekdayName(day)} ${zoned.date(day)}`),
    [branch.id, days.join(), byDay, professionals, items, zoned, locale],
  );
  // Only the half hours in the scroll box (and two hours either side: a long appointment hangs down from the
  // row it starts in) are rendered.
  const scroller = useRef<HTMLDivElement>(null);
  const rowPx = useMemo(() => remPx() * ROW_REM, []);
  const rows = useWindowed({ count: grid.rows.length, size: rowPx, overscan: 4, scroller });
  if (!grid.columns.length) return <p className="muted">{loading ? t("list.loading") : d("agenda.noProfessionals")}</p>;
  const caption = byDay ? `${d("agenda.week")}: ${zoned.date(days[0]!)} – ${zoned.date(days[days.length - 1]!)}` : `${d("agenda.day")}: ${zoned.date(days[0]!)}`;
  const movable = (a: Item) => canBook && OPEN.has(a.status);

  function drop(event: DragEvent, target: Target) {
    event.preventDefault();
    setOver(null);
    setDragging(null);
    const id = event.dataTransfer.getData("text/x-appointment") || event.dataTransfer.getData("text/plain");
    const a = items.find((x) => x.id === id);
    if (!a || !movable(a)) return;
    const samePlace = a.local_start.slice(0, 10) === target.day && a.local_start.slice(11, 16) === target.time && (!target.professionalId || target.professionalId === a.professional_id);
    if (!samePlace) onMove(a, target);
  }

  return (
    <div className="table-wrap agenda-grid-wrap" aria-busy={loading} ref={scroller}>
      <table className={byDay ? "agenda-grid agenda-grid-week" : "agenda-grid"} data-view={byDay ? "week" : "day"} aria-rowcount={grid.rows.length + 1}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col">
              <span className="sr-only">{d("agenda.time")}</span>
            </th>
            {grid.columns.map((c) => (
              <th scope="col" key={c.key} data-column={c.key} data-day={c.day} className="agenda-col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.before > 0 ? <Spacer height={rows.before} span={grid.columns.length + 1} /> : null}
          {rows.items.map(({ index: r }) => {
            const m = grid.rows[r]!;
            return (
            <tr key={m} className={m % 60 === 0 ? "hour" : "half"} data-row={r} aria-rowindex={r + 2}>
              <th scope="row">{hhmm(m)}</th>
              {grid.columns.map((c, ci) => {
                const cell = grid.cells[ci]![r]!;
                const at = `${c.day}T${hhmm(m)}`;
                const here = `${c.key} ${m}`;
                const target: Target = { day: c.day, time: hhmm(m), professionalId: byDay ? null : c.key };
                return (
                  <td
                    key={c.key}
                    data-day={c.day}
                    data-time={hhmm(m)}
                    className={`${cell.busy ? "busy" : cell.free.length ? "free" : "closed"}${over === here ? " drop-over" : ""}`}
                    onDragOver={
                      dragging
                        ? (e) => {
                            e.preventDefault();
                            e.dataTransfer.dropEffect = "move";
                            if (over !== here) setOver(here);
                          }
                        : undefined
                    }
                    onDrop={dragging ? (e) => drop(e, target) : undefined}
                  >
                    {(byDay && cell.starting.length > WEEK_CELL ? cell.starting.slice(0, WEEK_CELL - 1) : cell.starting).map((a, i, all) => (
                      <button
                        type="button"
                        key={a.id}
                        className={`slot slot-${a.status}${dragging === a.id ? " dragging" : ""}`}
                        data-appointment={a.id}
                        draggable={movable(a)}
                        onDragStart={(e) => {
                          e.dataTransfer.setData("text/x-appointment", a.id);
                          e.dataTransfer.setData("text/plain", a.id);
                          e.dataTransfer.effectAllowed = "move";
                          setDragging(a.id);
                        }}
                        onDragEnd={() => (setDragging(null), setOver(null))}
                        onClick={() => onOpen(a)}
                        style={{
                          left: `calc(${(100 * i) / all.length}% + 2px)`,
                          width: `calc(${100 / all.length}% - 4px)`,
                          height: `calc(${Math.max(1, Math.ceil((span(a).end - span(a).start) / STEP)) * 1.9}rem - 4px)`,
                        }}
                      >
                        <strong>
                          {a.local_start.slice(11, 16)}–{hhmm(span(a).end)}
                        </strong>{" "}
                        {a.patient_name ?? "—"}
                        <span className="muted">
                          {a.procedure_name}
                          {byDay && professionals.length > 1 ? ` · ${a.professional_name}` : ""}
                        </span>
                      </button>
                    ))}
                    {byDay && cell.starting.length > WEEK_CELL ? (
                      <button
                        type="button"
                        className="slot slot-more"
                        onClick={() => onDay(c.day)}
                        aria-label={d("agenda.moreAt", { n: cell.starting.length - WEEK_CELL + 1, when: `${zoned.date(c.day)} ${hhmm(m)}` })}
                        style={{ left: `calc(${(100 * (WEEK_CELL - 1)) / WEEK_CELL}% + 2px)`, width: `calc(${100 / WEEK_CELL}% - 4px)`, height: `calc(${ROW_REM}rem - 4px)` }}
                      >
                        +{cell.starting.length - WEEK_CELL + 1}
                      </button>
                    ) : null}
                    {canBook && cell.free.length && !cell.starting.length ? (
                      <button type="button" className="free-slot" onClick={() => onFree(cell.free[0]!.id, at)} aria-label={d("agenda.bookAt", { who: byDay ? cell.free[0]!.name : c.label, when: `${zoned.date(c.day)} ${hhmm(m)}` })}>
                        <span aria-hidden="true">+</span>
                      </button>
                    ) : null}
                  </td>
                );
              })}
            </tr>
            );
          })}
          {rows.after > 0 ? <Spacer height={rows.after} span={grid.columns.length + 1} /> : null}
        </tbody>
      </table>
    </div>
  );
}

/** The height of the half hours not rendered, above or below those that are. */
function Spacer({ height, span: columns }: { height: number; span: number }) {
  return (
    <tr className="agenda-spacer" aria-hidden="true">
      <td colSpan={columns} style={{ height }} />
    </tr>
  );
}
