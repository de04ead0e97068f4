// The agenda (issue 16, screen 6): a day or a week of a branch, for all its professionals or one
// (`GET /api/v1/scheduling/agenda`, filtered on the server), in the branch's own time zone, as a time grid
// (half hours as rows; the professionals as columns for a day, the days for a week) or the day's list; booking
// by clicking a free half hour (the professionals' working hours say which are free), rescheduling by dragging
// an appointment to another half hour or from its dialog, cancelling from it; and the visits list for the
// confirmation calls (Visits.tsx). The grid is AgendaGrid.tsx, the dialogs AgendaDialogs.tsx.
import { useMemo, useState } from "react";
import { unwrap } from "../api/client";
import { Field, Loading, ProblemBanner } from "../components";
import { useLoad } from "../data";
import { Formats } from "../i18n";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import { AppointmentDialog, BookDialog, CancelDialog, RescheduleDialog } from "./AgendaDialogs";
import { AgendaGrid, OPEN, useMoves } from "./AgendaGrid";
import { branchToday as todayOf, DayList, useBranches, type AgendaItem as Item, type Professional } from "./Day";
import { Visits } from "./Visits";
import "../desk.css";

export { gridOf } from "./AgendaGrid";

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

type View = "day" | "week" | "list";
const NONE: Item[] = [];

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
  const moves = useMoves(agenda.data?.items ?? NONE, professionals.data ?? [], zoned, agenda.reload);
  const items = moves.shown;

  if (branches.loading && !branches.data) return <Loading />;
  if (branches.data && branches.data.length === 0) return <p className="banner">{d("agenda.noBranch")}</p>;
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
      {moves.banner}
      {tab === "calendar" && view !== "list" && can("scheduling:book") ? <p className="muted agenda-help">{d("agenda.dragHelp")}</p> : null}
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
          loading={agenda.loading || moves.busy}
          zoned={zoned}
          canBook={can("scheduling:book")}
          onFree={(professional, at) => setBooking({ professionalId: professional, when: at })}
          onOpen={setOpened}
          onMove={moves.move}
          onDay={(at) => (setDate(at), setView("day"))}
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

