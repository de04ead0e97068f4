// Reception's returns to book (`GET /api/v1/scheduling/returns?branch_id=`: finished visits that asked for a
// return, with `return_in_days`), each booked from its dialog (`POST /appointments/{id}/return`: the same person
// and branch; the professional and procedure of the visit unless changed, the procedures offered being those the
// professional does; the start around the day asked for). A refusal is shown under the field it names.
import { useMemo, useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../components";
import { useLoad, useSave } from "../data";
import { Formats } from "../i18n";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import { addDays } from "./Agenda";
import { fits } from "./AgendaDialogs";
import type { AgendaItem, Branch, Professional } from "./Day";

type Due = AgendaItem & { return_in_days?: number | null };

export function Returns({ branch, refresh = 0 }: { branch: Branch; refresh?: number }) {
  const { api, can, fmt } = useSession();
  const { d } = useDesk();
  const due = useLoad(async () => (await unwrap(api.GET("/api/v1/scheduling/returns", { params: { query: { branch_id: branch.id } } }))).items as Due[], [branch.id, refresh]);
  const [booking, setBooking] = useState<Due | null>(null);
  const items = due.data ?? [];
  return (
    <section aria-labelledby="returns-title" className="returns">
      <h2 id="returns-title">{d("returns.title")}</h2>
      <p className="muted">{d("returns.help")}</p>
      <ProblemBanner problem={due.problem} shown={[]} />
      {!due.data && due.loading ? <Loading /> : null}
      {due.data && !items.length ? <p className="muted">{d("returns.none")}</p> : null}
      {items.length ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{d("agenda.patient")}</th>
                <th scope="col">{d("returns.visit")}</th>
                <th scope="col">{d("agenda.procedure")}</th>
                <th scope="col">{d("agenda.professional")}</th>
                <th scope="col">{d("returns.due")}</th>
                <th scope="col">
                  <span className="sr-only">{d("returns.book")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id} data-return={a.id}>
                  <td>{a.patient_name ?? "—"}</td>
                  <td className="nowrap">{fmt.date(a.local_start.slice(0, 10))}</td>
                  <td>{a.procedure_name}</td>
                  <td>{a.professional_name}</td>
                  <td>{a.return_in_days ? d("returns.days", { n: a.return_in_days, date: fmt.date(suggested(a)) }) : d("returns.noDays")}</td>
                  <td>
                    {can("scheduling:book") ? (
                      <button type="button" className="small" onClick={() => setBooking(a)} aria-label={d("returns.bookOf", { name: a.patient_name ?? "" })}>
                        {d("returns.book")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {booking ? <ReturnDialog branch={branch} visit={booking} onClose={() => setBooking(null)} onDone={() => (setBooking(null), due.reload())} /> : null}
    </section>
  );
}

/** The day the return was asked for: the visit's day plus `return_in_days` (else the day after the visit). */
export function suggested(a: Due): string {
  return addDays(a.local_start.slice(0, 10), a.return_in_days || 1);
}

function ReturnDialog({ branch, visit, onClose, onDone }: { branch: Branch; visit: Due; onClose: () => void; onDone: () => void }) {
  const { api, me } = useSession();
  const { d } = useDesk();
  const zoned = useMemo(() => new Formats(me.tenant.locale, branch.timezone, me.tenant.country), [branch.timezone, me.tenant]);
  const professionals = useLoad(async () => ((await unwrap(api.GET("/api/v1/scheduling/professionals", { params: { query: { branch_id: branch.id } } }))).items as Professional[]).filter((p) => p.active), [branch.id]);
  const procedures = useLoad(async () => ((await unwrap(api.GET("/api/v1/scheduling/procedures"))).items as Schemas["ProcedureOut"][]).filter((p) => p.active && (!p.branch_ids.length || p.branch_ids.includes(branch.id))), [branch.id]);
  const [professional, setProfessional] = useState(visit.professional_id);
  const [procedure, setProcedure] = useState(visit.procedure_id);
  const [when, setWhen] = useState(`${suggested(visit)}T09:00`);
  const { problem, busy, fields, save } = useSave();
  const chosen = professionals.data?.find((p) => p.id === professional);
  const offered = (procedures.data ?? []).filter((p) => !chosen || fits(p, chosen));
  const procedureId = offered.some((p) => p.id === procedure) ? procedure : offered[0]?.id ?? procedure;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const ok = await save(() =>
      unwrap(
        api.POST("/api/v1/scheduling/appointments/{appointment_id}/return", {
          params: { path: { appointment_id: visit.id } },
          body: {
            starts_at: when ? zoned.zonedToIso(when) : "",
            professional_id: professional !== visit.professional_id ? professional : null,
            procedure_id: procedureId !== visit.procedure_id ? procedureId : null,
          },
        }),
      ),
    );
    if (ok) onDone();
  }
  return (
    <Dialog title={d("returns.bookTitle", { name: visit.patient_name ?? "—" })} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={["professional_id", "procedure_id", "starts_at"]} />
        <Field name="professional_id" label={d("agenda.professional")} value={professional} onChange={setProfessional} error={fields.professional_id} options={(professionals.data ?? []).map((p) => ({ value: p.id, label: p.name }))} />
        <Field name="procedure_id" label={d("agenda.procedure")} value={procedureId} onChange={setProcedure} error={fields.procedure_id} options={offered.map((p) => ({ value: p.id, label: `${p.name} (${p.duration_minutes} min)` }))} />
        <Field name="starts_at" label={d("agenda.startsAt")} type="datetime-local" value={when} onChange={setWhen} error={fields.starts_at} required />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {d("agenda.close")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {d("returns.book")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
