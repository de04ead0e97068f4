// The status change with its history; and the admin's delete with confirmation.
import { useState, type FormEvent } from "react";
import { ApiError, unwrap, type Lead, type Problem, type StatusChange } from "../api/client";
import { Dialog, Field, ProblemBanner, StatusBadge } from "../components";
import { useLoad, useStaffName } from "../data";
import { useSession } from "../session";
import { useStatuses } from "../statuses";

function statusErrors(problem: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) out[e.field] = e.message;
  // A refused move (409) names no field, but it is about the status chosen.
  if (problem && !problem.errors?.length && problem.status === 409) out.status = problem.detail ?? "";
  return out;
}

export function StatusDialog({ lead, onClose, onSaved }: { lead: Lead; onClose: () => void; onSaved: (lead: Lead) => void }) {
  const { api, t, fmt } = useSession();
  const statuses = useStatuses();
  const staffName = useStaffName();
  const [status, setStatus] = useState(statuses.order.find((s) => s !== lead.status) ?? "");
  const [comment, setComment] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const history = useLoad<StatusChange[]>(
    () => unwrap(api.GET("/api/v1/leads/{lead_id}/status-history", { params: { path: { lead_id: lead.id } } })).then((p) => p.items as StatusChange[]),
    [lead.id],
  );
  const errors = statusErrors(problem);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      const saved = await unwrap(
        api.POST("/api/v1/leads/{lead_id}/status", {
          params: { path: { lead_id: lead.id } },
          body: { status, comment: comment.trim() || null },
        }),
      );
      onSaved(saved);
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={t("status.title")} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p>
          {lead.name}: <StatusBadge status={lead.status} />
        </p>
        <ProblemBanner problem={problem} shown={["status", "comment"]} />
        <Field
          name="status"
          label={t("status.new")}
          value={status}
          onChange={setStatus}
          error={errors.status}
          options={statuses.order.filter((s) => s !== lead.status).map((s) => ({ value: s, label: statuses.name(s) }))}
        />
        <Field name="comment" label={t("status.comment")} value={comment} onChange={setComment} error={errors.comment} multiline />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {t("lead.cancel")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {t("status.submit")}
          </button>
        </div>
      </form>
      <h3>{t("status.history")}</h3>
      <StatusHistory items={history.data} fmt={fmt} staffName={staffName} />
    </Dialog>
  );
}

export function StatusHistory({
  items,
  fmt,
  staffName,
}: {
  items: StatusChange[] | null;
  fmt: { dateTime: (v: string) => string };
  staffName: (id: string) => string;
}) {
  const { t } = useSession();
  if (!items) return null;
  if (!items.length) return <p className="muted">{t("status.noHistory")}</p>;
  return (
    <ol className="history" aria-label={t("status.history")}>
      {[...items].reverse().map((h, i) => (
        <li key={`${h.changed_at}-${i}`}>
          <time dateTime={h.changed_at}>{fmt.dateTime(h.changed_at)}</time>{" "}
          {h.from_status ? (
            <>
              <StatusBadge status={h.from_status} /> →{" "}
            </>
          ) : null}
          <StatusBadge status={h.to_status} /> <span className="muted">{t("status.by", { who: staffName(h.changed_by) })}</span>
          {h.comment ? <blockquote>{h.comment}</blockquote> : null}
        </li>
      ))}
    </ol>
  );
}

export function DeleteDialog({ lead, onClose, onDeleted }: { lead: Lead; onClose: () => void; onDeleted: () => void }) {
  const { api, t } = useSession();
  const [problem, setProblem] = useState<Problem | null>(null);
  async function confirm() {
    try {
      await unwrap(api.DELETE("/api/v1/leads/{lead_id}", { params: { path: { lead_id: lead.id }, query: { confirm: true } } }));
      onDeleted();
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    }
  }
  return (
    <Dialog title={t("delete.title")} onClose={onClose}>
      <ProblemBanner problem={problem} shown={[]} />
      <p>{t("delete.confirm", { name: lead.name })}</p>
      <div className="actions dialog-actions">
        <button type="button" onClick={onClose} autoFocus>
          {t("lead.cancel")}
        </button>
        <button type="button" className="danger" onClick={() => void confirm()}>
          {t("delete.submit")}
        </button>
      </div>
    </Dialog>
  );
}
