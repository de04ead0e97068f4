// The agenda's visits list for the confirmation calls (`GET /api/v1/scheduling/visits?confirmed=false`,
// tomorrow by default), each confirmed by phone in one click.
import { unwrap } from "../api/client";
import { Loading, ProblemBanner } from "../components";
import { useLoad, useSave } from "../data";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import type { Branch } from "./Day";

export function Visits({ branch, date, professionalId }: { branch: Branch; date: string; professionalId: string }) {
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

