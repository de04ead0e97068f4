// The agenda's dialogs: booking (the procedures offered are those the chosen professional does), rescheduling,
// cancelling, and an appointment's details with its buttons.
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../api/client";
import { Dialog, Field, ProblemBanner } from "../components";
import { useLoad, useSave } from "../data";
import { Formats, type Key } from "../i18n";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import { hhmm, span, type AgendaItem as Item, type Branch, type Professional } from "./Day";

type Procedure = Schemas["ProcedureOut"];

/** A procedure with no specialty fits every professional; else the professional must have its specialty. */
export function fits(procedure: Pick<Procedure, "specialty">, professional: Pick<Professional, "specialties">): boolean {
  return !procedure.specialty || professional.specialties.includes(procedure.specialty);
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
  const procedures = useLoad(async () => ((await unwrap(api.GET("/api/v1/scheduling/procedures"))).items as Procedure[]).filter((p) => p.active && (!p.branch_ids.length || p.branch_ids.includes(branch.id))), [branch.id]);
  const [procedure, setProcedure] = useState("");
  const [professional, setProfessional] = useState(initialProfessional ?? "");
  const [when, setWhen] = useState(initialWhen ?? `${day}T09:00`);
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const { problem, busy, fields, save } = useSave();
  const professionalId = professional || professionals[0]?.id || "";
  const chosen = professionals.find((p) => p.id === professionalId);
  const offered = (procedures.data ?? []).filter((p) => !chosen || fits(p, chosen));
  // A procedure picked for another professional that this one does not do falls back to the first that fits.
  const procedureId = offered.some((p) => p.id === procedure) ? procedure : offered[0]?.id ?? "";

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
        <Field name="professional_id" label={d("agenda.professional")} value={professionalId} onChange={setProfessional} error={fields.professional_id} options={professionals.map((p) => ({ value: p.id, label: p.name }))} />
        <Field
          name="procedure_id"
          label={d("agenda.procedure")}
          value={procedureId}
          onChange={setProcedure}
          error={fields.procedure_id ?? (procedures.data && !offered.length ? d("agenda.noProcedure") : undefined)}
          options={offered.map((p) => ({ value: p.id, label: `${p.name} (${p.duration_minutes} min)` }))}
        />
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

export function RescheduleDialog({ item, zoned, onClose, onDone }: { item: Item; zoned: Formats; onClose: () => void; onDone: () => void }) {
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

export function CancelDialog({ item, onClose, onDone }: { item: Item; onClose: () => void; onDone: () => void }) {
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

export function AppointmentDialog({ item, canChange, onClose, onReschedule, onCancel }: { item: Item; canChange: boolean; onClose: () => void; onReschedule: () => void; onCancel: () => void }) {
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
