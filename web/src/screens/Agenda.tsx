// The agenda (issue 16, screen 6): a day or a week of a branch, for all its professionals or one
// (`GET /api/v1/scheduling/agenda`, filtered on the server), in the branch's own time zone, as a time grid
// (half hours as rows; the professionals as columns for a day, the days for a week) or the day's list; booking
// by clicking a free half hour (the professionals' working hours say which are free), rescheduling and
// cancelling from an appointment in the grid; and the visits list for the confirmation calls
// (`GET /api/v1/scheduling/visits?confirmed=false`, tomorrow by default).
import { useMemo, useState, type FormEvent } from "react";
import { ApiError, fieldErrors, unwrap, type Problem, type Schemas } from "../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../components";
import { useLoad } from "../data";
import { Formats, type Key } from "../i18n";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import { branchToday as todayOf, DayList, gridRows, hhmm, span, useBranches, workingSpans, type AgendaItem as Item, type Branch, type Professional } from "./Day";
import "../desk.css";

/** `YYYY-MM-DD` plus some days (calendar arithmetic, no time zone). */
export function addDays(day: string, days: number): string {
  const at = new Date(`${day}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

/** The seven days of the week (Monday first) that hold `day`. */
export function weekOf(day: string): string[] {
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
  const monday = addDays(day, -weekday);
  return [0, 1, 2, 3, 4, 5, 6].map((i) => addDays(monday, i));
}

const OPEN = new Set(["held", "booked", "confirmed"]);
/** Statuses that hold their time in the grid (a cancelled or missed appointment frees it). */
const HOLDS = new Set(["held", "booked", "confirmed", "arrived", "checked_in", "in_service", "completed"]);
type View = "day" | "week" | "list";

export function Agenda() {
  const { api, can, me } = useSession();
  const { d } = useDesk();
  const branches = useBranches();
  const [branchId, setBranchId] = useState("");
  const branch = branches.data?.find((b) => b.id === branchId) ?? branches.data?.[0] ?? null;
  const branchToday = todayOf(branch);
  const [date, setDate] = useState("");
  const day = date || branchToday;
  const [view, setView] = useState<View>("day");
  const [professionalId, setProfessionalId] = useState("");
  const professionals = useLoad(
    async () => (branch ? ((await unwrap(api.GET("/api/v1/scheduling/professionals", { params: { query: { branch_id: branch.id } } }))).items as Professional[]).filter((p) => p.active) : []),
    [branch?.id],
  );
  const agenda = useLoad(
    async () =>
      branch && day
        ? unwrap(
            api.GET("/api/v1/scheduling/agenda", {
              params: { query: { date: day, view: view === "week" ? "week" : "day", branch_id: branch.id, professional_id: professionalId || null } },
            }),
          )
        : null,
    [branch?.id, day, view, professionalId],
  );
  const [booking, setBooking] = useState<{ professionalId?: string; when?: string } | null>(null);
  const [opened, setOpened] = useState<Item | null>(null);
  const [rescheduling, setRescheduling] = useState<Item | null>(null);
  const [cancelling, setCancelling] = useState<Item | null>(null);
  const [tab, setTab] = useState<"calendar" | "visits">("calendar");
  const zoned = useMemo(() => (branch ? new Formats(me.tenant.locale, branch.timezone, me.tenant.country) : null), [branch, me.tenant]);

  if (branches.loading && !branches.data) return <Loading />;
  if (branches.data && branches.data.length === 0) return <p className="banner">{d("agenda.noBranch")}</p>;
  const items = agenda.data?.items ?? [];
  const step = view === "week" ? 7 : 1;
  const shownProfessionals = (professionals.data ?? []).filter((p) => !professionalId || p.id === professionalId);
  const done = () => {
    setBooking(null);
    setRescheduling(null);
    setCancelling(null);
    agenda.reload();
  };
  return (
    <section aria-labelledby="agenda-title" className="agenda">
      <div className="title-row">
        <h1 id="agenda-title">{d("agenda.title")}</h1>
        <div className="actions" role="tablist" aria-label={d("agenda.title")}>
          <button type="button" role="tab" aria-selected={tab === "calendar"} onClick={() => setTab("calendar")}>
            {d("agenda.title")}
          </button>
          <button type="button" role="tab" aria-selected={tab === "visits"} onClick={() => setTab("visits")}>
            {d("agenda.visits")}
          </button>
        </div>
        {can("scheduling:book") && branch ? (
          <button type="button" className="primary" onClick={() => setBooking({ professionalId: professionalId || undefined })}>
            + {d("agenda.book")}
          </button>
        ) : null}
      </div>
      <form className="filters filters-agenda" onSubmit={(e) => e.preventDefault()} aria-label={d("agenda.title")}>
        <Field name="branch" label={d("agenda.branch")} value={branch?.id ?? ""} onChange={(v) => (setBranchId(v), setProfessionalId(""))} options={(branches.data ?? []).map((b) => ({ value: b.id, label: b.name }))} />
        <Field
          name="professional"
          label={d("agenda.professional")}
          value={professionalId}
          onChange={setProfessionalId}
          options={[{ value: "", label: d("agenda.all") }, ...(professionals.data ?? []).map((p) => ({ value: p.id, label: p.name }))]}
        />
        <Field name="date" label={d("agenda.date")} type="date" value={day} onChange={setDate} />
        {tab === "calendar" ? (
          <Field
            name="view"
            label={d("agenda.view")}
            value={view}
            onChange={(v) => setView(v === "week" || v === "list" ? v : "day")}
            options={[
              { value: "day", label: d("agenda.day") },
              { value: "week", label: d("agenda.week") },
              { value: "list", label: d("agenda.list") },
            ]}
          />
        ) : null}
        <div className="actions">
          <button type="button" onClick={() => setDate(addDays(day, -step))}>
            ‹ {d("agenda.previous")}
          </button>
          <button type="button" onClick={() => setDate(branchToday)}>
            {d("agenda.today")}
          </button>
          <button type="button" onClick={() => setDate(addDays(day, step))}>
            {d("agenda.next")} ›
          </button>
        </div>
      </form>
      <ProblemBanner problem={branches.problem ?? agenda.problem} shown={[]} />
      {tab === "visits" && branch ? (
        <Visits branch={branch} date={date || addDays(branchToday, 1)} professionalId={professionalId} />
      ) : view === "list" ? (
        <section aria-labelledby="day-list-title" className="agenda-list" data-day={day}>
          <h2 id="day-list-title">{zoned?.date(day)}</h2>
          <DayList
            items={items}
            loading={agenda.loading}
            empty={d("agenda.none")}
            actions={(a) =>
              can("scheduling:book") && OPEN.has(a.status) ? (
                <>
                  <button type="button" className="small" onClick={() => setRescheduling(a)} aria-label={`${d("agenda.reschedule")}: ${a.patient_name ?? ""}`}>
                    {d("agenda.reschedule")}
                  </button>
                  <button type="button" className="small" onClick={() => setCancelling(a)} aria-label={`${d("agenda.cancel")}: ${a.patient_name ?? ""}`}>
                    {d("agenda.cancel")}
                  </button>
                </>
              ) : null
            }
          />
        </section>
      ) : branch && zoned ? (
        <AgendaGrid
          branch={branch}
          days={view === "week" ? weekOf(day) : [day]}
          byDay={view === "week"}
          professionals={shownProfessionals}
          items={items}
          loading={agenda.loading}
          zoned={zoned}
          canBook={can("scheduling:book")}
          onFree={(professional, at) => setBooking({ professionalId: professional, when: at })}
          onOpen={setOpened}
        />
      ) : null}
      {booking && branch && zoned ? (
        <BookDialog branch={branch} zoned={zoned} professionals={professionals.data ?? []} day={day} professionalId={booking.professionalId} when={booking.when} onClose={() => setBooking(null)} onDone={done} />
      ) : null}
      {opened ? (
        <AppointmentDialog
          item={opened}
          canChange={can("scheduling:book") && OPEN.has(opened.status)}
          onClose={() => setOpened(null)}
          onReschedule={() => (setOpened(null), setRescheduling(opened))}
          onCancel={() => (setOpened(null), setCancelling(opened))}
        />
      ) : null}
      {rescheduling && zoned ? <RescheduleDialog item={rescheduling} zoned={zoned} onClose={() => setRescheduling(null)} onDone={done} /> : null}
      {cancelling ? <CancelDialog item={cancelling} onClose={() => setCancelling(null)} onDone={done} /> : null}
    </section>
  );
}

function useSave(): { problem: Problem | null; busy: boolean; fields: Record<string, string>; save: (call: () => Promise<unknown>) => Promise<boolean> } {
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  async function save(call: () => Promise<unknown>) {
    setBusy(true);
    setProblem(null);
    try {
      await call();
      return true;
    } catch (error) {
      setProblem(error instanceof ApiError ? error.problem : { status: 0, detail: String(error) });
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { problem, busy, fields: fieldErrors(problem).fields, save };
}

export function BookDialog({
  branch,
  zoned,
  professionals,
  day,
  professionalId: initialProfessional,
  when: initialWhen,
  onClose,
  onDone,
}: {
  branch: Branch;
  zoned: Formats;
  professionals: Professional[];
  day: string;
  /** The professional and local start of the free slot clicked, if any. */
  professionalId?: string;
  when?: string;
  onClose: () => void;
  onDone: () => void;
}) {
  const { api } = useSession();
  const { d } = useDesk();
  const procedures = useLoad(async () => ((await unwrap(api.GET("/api/v1/scheduling/procedures"))).items as Schemas["ProcedureOut"][]).filter((p) => p.active && (!p.branch_ids.length || p.branch_ids.includes(branch.id))), [branch.id]);
  const [procedure, setProcedure] = useState("");
  const [professional, setProfessional] = useState(initialProfessional ?? "");
  const [when, setWhen] = useState(initialWhen ?? `${day}T09:00`);
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const { problem, busy, fields, save } = useSave();
  const procedureId = procedure || procedures.data?.[0]?.id || "";
  const professionalId = professional || professionals[0]?.id || "";

  async function submit(event: FormEvent) {
    event.preventDefault();
    const ok = await save(() =>
      unwrap(
        api.POST("/api/v1/scheduling/appointments", {
          body: {
            branch_id: branch.id,
            procedure_id: procedureId,
            professional_id: professionalId,
            starts_at: when ? zoned.zonedToIso(when) : "",
            person: { name, phone: phone.trim() ? phone.replace(/[\s()-]/g, "") : null },
          },
        }),
      ),
    );
    if (ok) onDone();
  }
  return (
    <Dialog title={d("agenda.bookTitle")} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={["procedure_id", "professional_id", "starts_at", "person"]} />
        <Field name="procedure_id" label={d("agenda.procedure")} value={procedureId} onChange={setProcedure} error={fields.procedure_id} options={(procedures.data ?? []).map((p) => ({ value: p.id, label: `${p.name} (${p.duration_minutes} min)` }))} />
        <Field name="professional_id" label={d("agenda.professional")} value={professionalId} onChange={setProfessional} error={fields.professional_id} options={professionals.map((p) => ({ value: p.id, label: p.name }))} />
        <Field name="starts_at" label={d("agenda.startsAt")} type="datetime-local" value={when} onChange={setWhen} error={fields.starts_at} required />
        <Field name="name" label={d("agenda.patient")} value={name} onChange={setName} error={fields.person} required />
        <Field name="phone" label={d("agenda.phone")} type="tel" value={phone} onChange={setPhone} />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {d("agenda.close")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {d("agenda.book")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RescheduleDialog({ item, zoned, onClose, onDone }: { item: Item; zoned: Formats; onClose: () => void; onDone: () => void }) {
  const { api } = useSession();
  const { d } = useDesk();
  const [when, setWhen] = useState(item.local_start.slice(0, 16));
  const { problem, busy, fields, save } = useSave();
  async function submit(event: FormEvent) {
    event.preventDefault();
    const ok = await save(() =>
      unwrap(
        api.POST("/api/v1/scheduling/appointments/{appointment_id}/reschedule", {
          params: { path: { appointment_id: item.id } },
          body: { starts_at: when ? zoned.zonedToIso(when) : "" },
        }),
      ),
    );
    if (ok) onDone();
  }
  return (
    <Dialog title={d("agenda.rescheduleTitle", { name: item.patient_name ?? "—" })} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={["starts_at"]} />
        <Field name="starts_at" label={d("agenda.startsAt")} type="datetime-local" value={when} onChange={setWhen} error={fields.starts_at} required />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {d("agenda.close")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {d("agenda.save")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function CancelDialog({ item, onClose, onDone }: { item: Item; onClose: () => void; onDone: () => void }) {
  const { api } = useSession();
  const { d } = useDesk();
  const [reason, setReason] = useState("");
  const { problem, busy, fields, save } = useSave();
  async function submit(event: FormEvent) {
    event.preventDefault();
    const ok = await save(() =>
      unwrap(
        api.POST("/api/v1/scheduling/appointments/{appointment_id}/cancel", {
          params: { path: { appointment_id: item.id } },
          body: { reason: reason.trim() || null },
        }),
      ),
    );
    if (ok) onDone();
  }
  return (
    <Dialog title={d("agenda.cancelTitle", { name: item.patient_name ?? "—" })} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={["reason"]} />
        <Field name="reason" label={d("agenda.reason")} value={reason} onChange={setReason} error={fields.reason} multiline />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {d("agenda.keep")}
          </button>
          <button type="submit" className="primary danger" disabled={busy}>
            {d("agenda.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Visits({ branch, date, professionalId }: { branch: Branch; date: string; professionalId: string }) {
  const { api, fmt, can } = useSession();
  const { d } = useDesk();
  const visits = useLoad(
    () => unwrap(api.GET("/api/v1/scheduling/visits", { params: { query: { date, branch_id: branch.id, professional_id: professionalId || null, confirmed: false } } })),
    [branch.id, date, professionalId],
  );
  const { problem, busy, save } = useSave();
  const items = visits.data?.items ?? [];
  return (
    <section aria-labelledby="visits-title">
      <h2 id="visits-title">
        {d("agenda.visits")} · {fmt.date(date)}
      </h2>
      <p className="muted">{d("agenda.visitsHelp")}</p>
      <ProblemBanner problem={problem ?? visits.problem} shown={[]} />
      {visits.loading && !visits.data ? <Loading /> : null}
      {visits.data && !items.length ? <p className="muted">{d("agenda.noVisits")}</p> : null}
      {items.length ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{d("agenda.startsAt")}</th>
                <th scope="col">{d("agenda.patient")}</th>
                <th scope="col">{d("agenda.phone")}</th>
                <th scope="col">{d("agenda.procedure")}</th>
                <th scope="col">{d("agenda.professional")}</th>
                <th scope="col">
                  <span className="sr-only">{d("agenda.confirm")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id} data-visit={a.id}>
                  <td>{a.local_start.slice(11, 16)}</td>
                  <td>{a.patient_name ?? "—"}</td>
                  <td>{a.phone ? <a href={`tel:${a.phone}`}>{fmt.phone(a.phone)}</a> : "—"}</td>
                  <td>{a.procedure_name}</td>
                  <td>{a.professional_name}</td>
                  <td>
                    {can("scheduling:book") ? (
                      <button
                        type="button"
                        className="small"
                        disabled={busy}
                        aria-label={`${d("agenda.confirm")}: ${a.patient_name ?? ""}`}
                        onClick={async () => {
                          if (await save(() => unwrap(api.POST("/api/v1/scheduling/appointments/{appointment_id}/confirm", { params: { path: { appointment_id: a.id } } })))) visits.reload();
                        }}
                      >
                        {d("agenda.confirm")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

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

function AgendaGrid({
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
}) {
  const { t, locale } = useSession();
  const { d } = useDesk();
  const weekdayName = (day: string) => new Intl.DateTimeFormat(locale, { weekday: "short", timeZone: "UTC" }).format(new Date(`${day}T12:00:00Z`));
  const grid = useMemo(
    () => gridOf(branch.id, days, byDay, professionals, items, (day) => `${weekdayName(day)} ${zoned.date(day)}`),
    [branch.id, days.join(), byDay, professionals, items, zoned, locale],
  );
  if (!grid.columns.length) return <p className="muted">{loading ? t("list.loading") : d("agenda.noProfessionals")}</p>;
  const caption = byDay ? `${d("agenda.week")}: ${zoned.date(days[0]!)} – ${zoned.date(days[days.length - 1]!)}` : `${d("agenda.day")}: ${zoned.date(days[0]!)}`;
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
                return (
                  <td key={c.key} data-day={c.day} data-time={hhmm(m)} className={cell.busy ? "busy" : cell.free.length ? "free" : "closed"}>
                    {cell.starting.map((a, i, all) => (
                      <button
                        type="button"
                        key={a.id}
                        className={`slot slot-${a.status}`}
                        data-appointment={a.id}
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

function AppointmentDialog({ item, canChange, onClose, onReschedule, onCancel }: { item: Item; canChange: boolean; onClose: () => void; onReschedule: () => void; onCancel: () => void }) {
  const { t, fmt } = useSession();
  const { d } = useDesk();
  const { end } = span(item);
  return (
    <Dialog title={item.patient_name ?? "—"} onClose={onClose}>
      <dl className="facts">
        <div>
          <dt>{d("agenda.startsAt")}</dt>
          <dd>
            {fmt.date(item.local_start.slice(0, 10))} {item.local_start.slice(11, 16)}–{hhmm(end)}
          </dd>
        </div>
        <div>
          <dt>{d("agenda.procedure")}</dt>
          <dd>{item.procedure_name}</dd>
        </div>
        <div>
          <dt>{d("agenda.professional")}</dt>
          <dd>{item.professional_name}</dd>
        </div>
        <div>
          <dt>{d("agenda.phone")}</dt>
          <dd>{item.phone ? <a href={`tel:${item.phone}`}>{fmt.phone(item.phone)}</a> : "—"}</dd>
        </div>
        <div>
          <dt>{t("reception.status")}</dt>
          <dd>{t(`appointment.${item.status}` as Key)}</dd>
        </div>
      </dl>
      <div className="actions dialog-actions">
        <button type="button" onClick={onClose}>
          {d("agenda.close")}
        </button>
        {canChange ? (
          <>
            <button type="button" onClick={onReschedule}>
              {d("agenda.reschedule")}
            </button>
            <button type="button" className="danger" onClick={onCancel}>
              {d("agenda.cancel")}
            </button>
          </>
        ) : null}
      </div>
    </Dialog>
  );
}
