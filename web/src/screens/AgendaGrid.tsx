// The agenda's time grid: half hours as rows; the professionals as columns for a day, the days for a week.
// A free half hour books (the professionals' working hours say which are free); an appointment opens its
// dialog, or is dragged onto another half hour (and, in a day, another professional's column) to reschedule it
// (`POST .../reschedule`): shown there at once, put back with the API's problem when the move is refused.
import { useMemo, useState, type DragEvent, type ReactNode } from "react";
import { ApiError, fieldErrors, unwrap, type Problem } from "../api/client";
import type { Formats } from "../i18n";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import { gridRows, hhmm, span, workingSpans, type AgendaItem as Item, type Branch, type Professional } from "./Day";

/** Statuses that hold their time in the grid (a cancelled or missed appointment frees it). */
export const HOLDS = new Set(["held", "booked", "confirmed", "arrived", "checked_in", "in_service", "completed"]);
/** Statuses that can still be moved or cancelled. */
export const OPEN = new Set(["held", "booked", "confirmed"]);
const STEP = 30;

interface Column {
  key: string;
  label: string;
  day: string;
  professionals: Professional[];
}

/** The grid's cells: per column and half hour, the appointments starting in it and who is free then. */
export function gridOf(branchId: string, days: string[], byDay: boolean, professionals: Professional[], items: Item[], dayLabel: (day: string) => string) {
  const known = new Map(professionals.map((p) => [p.id, p]));
  const columns: Column[] = byDay
    ? days.map((day) => ({ key: day, label: dayLabel(day), day, professionals }))
    : professionals.map((p) => ({ key: p.id, label: p.name, day: days[0]!, professionals: [p] }));
  const holding = items.filter((a) => HOLDS.has(a.status));
  const inColumn = (c: Column, a: Item) => span(a).day === c.day && (byDay ? !known.size || known.has(a.professional_id) : a.professional_id === c.key);
  const spans: [number, number][] = [];
  for (const c of columns) for (const p of c.professionals) spans.push(...workingSpans(p, branchId, c.day));
  for (const c of columns) for (const a of holding) if (inColumn(c, a)) spans.push([span(a).start, span(a).end]);
  const rows = gridRows(spans, STEP);
  const cells = columns.map((c) => {
    const mine = holding.filter((a) => inColumn(c, a));
    const hours = new Map(c.professionals.map((p) => [p.id, workingSpans(p, branchId, c.day)]));
    return rows.map((m) => {
      const starting = mine.filter((a) => span(a).start >= m && span(a).start < m + STEP);
      const covering = mine.filter((a) => span(a).start < m + STEP && span(a).end > m);
      const free = c.professionals.filter(
        (p) => (hours.get(p.id) ?? []).some(([from, to]) => from <= m && m + STEP <= to) && !covering.some((a) => a.professional_id === p.id),
      );
      return { minute: m, starting, busy: covering.length > 0, free };
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
  const shown = useMemo(() => (moved && moved.of === items ? items.map((a) => (a.id === moved.item.id ? moved.item : a)) : items), [items, moved]);

  async function move(a: Item, target: Target) {
    if (!zoned) return;
    const to = movedTo(a, target, professionals);
    setRefused(null);
    setMoved({ of: items, item: to });
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
  return { shown, move, banner };
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
    <div className="table-wrap agenda-grid-wrap" aria-busy={loading}>
      <table className={byDay ? "agenda-grid agenda-grid-week" : "agenda-grid"} data-view={byDay ? "week" : "day"}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
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
          {grid.rows.map((m, r) => (
            <tr key={m} className={m % 60 === 0 ? "hour" : "half"}>
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
                    {cell.starting.map((a, i, all) => (
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
                    {canBook && cell.free.length && !cell.starting.length ? (
                      <button type="button" className="free-slot" onClick={() => onFree(cell.free[0]!.id, at)} aria-label={d("agenda.bookAt", { who: byDay ? cell.free[0]!.name : c.label, when: `${zoned.date(c.day)} ${hhmm(m)}` })}>
                        <span aria-hidden="true">+</span>
                      </button>
                    ) : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
