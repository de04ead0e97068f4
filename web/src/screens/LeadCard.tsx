// The lead card: personal data ("more information"), requests ("show only the latest", each one corrected in
// its dialog), activities (next and previous) and scheduling one, the messages sent; edit, status change with history, delete (admin).
import { useState, type FormEvent } from "react";
import { ApiError, unwrap, type Activity, type Lead, type LeadRequest, type Message, type Problem, type StatusChange } from "../api/client";
import { Field, Loading, ProblemBanner, StatusBadge } from "../components";
import { labelOf, useList, useLoad, useStaffName } from "../data";
import type { Key } from "../i18n";
import { useSession } from "../session";
import { commsTranslator } from "../i18n-comms";
import { LeadDialog } from "./LeadDialog";
import { LeadMatches } from "./LeadMatches";
import { RequestDialog } from "./RequestDialog";
import { StartAssistant } from "./funnel/StartAssistant";
import { ConsentPanel } from "./Privacy";
import { DeleteDialog, StatusDialog, StatusHistory } from "./StatusDialog";

const ACTIVITY_TYPES = ["call", "letter", "email", "message", "meeting", "task"] as const;

export function LeadCard({ id, onActivitiesChanged }: { id: string; onActivitiesChanged: () => void }) {
  const { api, t, fmt, can } = useSession();
  const [dialog, setDialog] = useState<"edit" | "status" | "delete" | null>(null);
  const [more, setMore] = useState(false);
  const [converted, setConverted] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const lead = useLoad<Lead>(() => unwrap(api.GET("/api/v1/leads/{lead_id}", { params: { path: { lead_id: id } } })), [id]);
  const history = useLoad<StatusChange[]>(
    () => unwrap(api.GET("/api/v1/leads/{lead_id}/status-history", { params: { path: { lead_id: id } } })).then((p) => p.items as StatusChange[]),
    [id, lead.data?.status],
  );
  const sources = useList("source");
  const staffName = useStaffName();

  if (lead.problem)
    return (
      <section>
        <p>
          <a href="#/prospects">‹ {t("lead.back")}</a>
        </p>
        {lead.problem.status === 404 ? <p className="banner banner-error">{t("lead.notFound")}</p> : <ProblemBanner problem={lead.problem} shown={[]} />}
      </section>
    );
  if (!lead.data) return <Loading />;
  const l = lead.data;
  async function qualify() {
    setProblem(null);
    try {
      const answer = await unwrap(api.POST("/api/v1/leads/{lead_id}/convert", { params: { path: { lead_id: l.id } } }));
      setConverted(answer.created ? t("lead.converted") : t("lead.linkedExisting", { why: answer.matched_by ?? "" }));
      lead.reload();
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    }
  }
  const row = (label: Key, value: string, attr?: string) => (
    <div>
      <dt>{t(label)}</dt>
      <dd data-field={attr}>{value || "—"}</dd>
    </div>
  );

  return (
    <section aria-labelledby="lead-title" className="lead-card">
      <p>
        <a href="#/prospects">‹ {t("lead.back")}</a>
      </p>
      <div className="title-row">
        <h1 id="lead-title">
          {l.name} <StatusBadge status={l.status} />
        </h1>
        <div className="actions">
          {can("crm:write") ? (
            <>
              <button type="button" onClick={() => setDialog("edit")}>
                {t("lead.edit")}
              </button>
              <button type="button" className="primary" onClick={() => setDialog("status")}>
                {t("lead.changeStatus")}
              </button>
            </>
          ) : null}
          {can("crm:write") && !l.patient_id && !l.merged_into ? (
            <button type="button" onClick={() => void qualify()}>
              {t("lead.qualify")}
            </button>
          ) : null}
          {can("crm:admin") ? (
            <button type="button" className="danger" onClick={() => setDialog("delete")}>
              {t("lead.delete")}
            </button>
          ) : null}
        </div>
      </div>

      <ProblemBanner problem={problem} shown={[]} />
      {converted ? (
        <p className="banner" role="status">
          {converted}
        </p>
      ) : null}
      <div className="columns">
        <div className="card">
          <h2>{t("lead.personal")}</h2>
          <dl className="facts">
            {row("lead.phone", fmt.phone(l.phone), "phone")}
            {row("lead.email", l.email ?? "")}
            {row("lead.source", labelOf(sources, l.source))}
            {row("lead.urgency", t(`urgency.${l.urgency}` as Key))}
            {row("lead.owner", staffName(l.owner_id))}
            {row("lead.followUp", fmt.date(l.next_follow_up))}
            {l.patient_id ? row("lead.patient", `#${l.patient_id.slice(-6)}`, "patient") : null}
            {more ? (
              <>
                {row("lead.otherPhones", l.phones.slice(1).map((p) => fmt.phone(p)).join(", "))}
                {row("lead.cpf", l.cpf ?? "")}
                {row("lead.birthDate", fmt.date(l.birth_date))}
                {row("lead.city", l.city ?? "")}
                {row("lead.locale", l.locale ?? "")}
                {row("lead.channel", l.channel)}
                {row("list.created", fmt.dateTime(l.created_at))}
                {row("lead.notes", l.notes ?? "")}
              </>
            ) : null}
          </dl>
          <button type="button" className="link" aria-expanded={more} onClick={() => setMore(!more)}>
            {more ? t("lead.lessInfo") : t("lead.moreInfo")}
          </button>
          <h3>{t("status.history")}</h3>
          <StatusHistory items={history.data} fmt={fmt} staffName={staffName} />
        </div>
        <div className="stack">
          <Requests leadId={l.id} />
          <Activities leadId={l.id} onChanged={onActivitiesChanged} />
          <Messages leadId={l.id} />
          <ConsentPanel leadId={l.id} />
          {!l.merged_into ? <LeadMatches lead={l} onChanged={lead.reload} /> : null}
          <StartAssistant lead={l} />
        </div>
      </div>

      {dialog === "edit" ? (
        <LeadDialog
          lead={l}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            lead.reload();
          }}
        />
      ) : null}
      {dialog === "status" ? (
        <StatusDialog
          lead={l}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            lead.reload();
          }}
        />
      ) : null}
      {dialog === "delete" ? <DeleteDialog lead={l} onClose={() => setDialog(null)} onDeleted={() => (location.hash = "/prospects")} /> : null}
    </section>
  );
}

function Requests({ leadId }: { leadId: string }) {
  const { api, t, fmt, can } = useSession();
  const [latestOnly, setLatestOnly] = useState(true);
  const [editing, setEditing] = useState<LeadRequest | null>(null);
  const treatments = useList("treatment");
  const groups = useList("group");
  const channels = useList("channel");
  const statuses = useList("request_status");
  const requests = useLoad<LeadRequest[]>(
    () =>
      unwrap(
        api.GET("/api/v1/leads/{lead_id}/requests", { params: { path: { lead_id: leadId }, query: { latest_only: latestOnly } } }),
      ).then((p) => p.items as LeadRequest[]),
    [leadId, latestOnly],
  );
  return (
    <div className="card">
      <div className="title-row">
        <h2>{t("requests.title")}</h2>
        <label className="inline">
          <input type="checkbox" checked={latestOnly} onChange={(e) => setLatestOnly(e.target.checked)} /> {t("requests.latestOnly")}
        </label>
      </div>
      {requests.data && !requests.data.length ? <p className="muted">{t("requests.none")}</p> : null}
      <ul className="plain items">
        {requests.data?.map((r) => (
          <li key={r.id} data-request={r.id}>
            {[
              r.treatment && labelOf(treatments, r.treatment),
              r.group && labelOf(groups, r.group),
              r.channel && labelOf(channels, r.channel),
              fmt.dateTime(r.created_at),
            ]
              .filter(Boolean)
              .join(" · ")}{" "}
            <span className={r.handled ? "tag" : "tag tag-red"}>{r.handled ? t("requests.handled") : t("requests.open")}</span>
            {r.status ? <span className="tag"> {labelOf(statuses, r.status)}</span> : null}
            {can("crm:write") ? (
              <>
                {" "}
                <button type="button" className="link" aria-label={t("requests.editLabel", { when: fmt.dateTime(r.created_at) })} onClick={() => setEditing(r)}>
                  {t("requests.edit")}
                </button>
              </>
            ) : null}
            {r.reason ? <p className="pre">{r.reason}</p> : null}
          </li>
        ))}
      </ul>
      {editing ? (
        <RequestDialog
          leadId={leadId}
          request={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            requests.reload();
          }}
        />
      ) : null}
    </div>
  );
}

function Activities({ leadId, onChanged }: { leadId: string; onChanged: () => void }) {
  const { api, t, fmt, can } = useSession();
  const staffName = useStaffName();
  const activities = useLoad(
    () => unwrap(api.GET("/api/v1/leads/{lead_id}/activities", { params: { path: { lead_id: leadId }, query: { limit: 200 } } })),
    [leadId],
  );
  const [type, setType] = useState<string>("call");
  const [title, setTitle] = useState("");
  const [when, setWhen] = useState("");
  const [notes, setNotes] = useState("");
  const [isPrivate, setPrivate] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const errors = Object.fromEntries((problem?.errors ?? []).map((e) => [e.field, e.message]));

  const all: Activity[] = activities.data?.items ?? [];
  const next = all.filter((a) => a.state === "scheduled").sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at));
  const previous = all.filter((a) => a.state !== "scheduled").sort((a, b) => b.scheduled_at.localeCompare(a.scheduled_at));

  async function schedule(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    if (!when) {
      setProblem({ status: 422, errors: [{ field: "scheduled_at", message: t("activities.when") }] });
      return;
    }
    try {
      await unwrap(
        api.POST("/api/v1/leads/{lead_id}/activities", {
          params: { path: { lead_id: leadId } },
          body: { type, title: title.trim() || null, scheduled_at: fmt.zonedToIso(when), notes: notes.trim() || null, private: isPrivate },
        }),
      );
      setTitle("");
      setWhen("");
      setNotes("");
      setPrivate(false);
      activities.reload();
      onChanged();
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    }
  }

  async function close(activity: Activity, how: "complete" | "cancel") {
    const path = { params: { path: { activity_id: activity.id } }, body: {} };
    const call =
      how === "complete"
        ? api.POST("/api/v1/leads/activities/{activity_id}/complete", path)
        : api.POST("/api/v1/leads/activities/{activity_id}/cancel", path);
    try {
      await unwrap(call);
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    }
    activities.reload();
    onChanged();
  }

  const item = (a: Activity) => (
    <li key={a.id} className={`activity activity-${a.state}${a.overdue ? " overdue" : ""}`}>
      <span className="tag">{t(`activity.${a.type}` as Key)}</span> <strong>{a.title}</strong> · <time dateTime={a.scheduled_at}>{fmt.dateTime(a.scheduled_at)}</time> ·{" "}
      {staffName(a.responsible_id)} · <span className={a.overdue ? "tag tag-red" : "tag"}>{a.overdue ? t("activities.overdue") : t(`activities.state.${a.state}` as Key)}</span>
      {a.private ? <span className="tag"> 🔒 {t("activities.private")}</span> : null}
      {a.state === "scheduled" && can("crm:write") ? (
        <span className="actions">
          <button type="button" onClick={() => void close(a, "complete")}>
            {t("activities.complete")}
          </button>
          <button type="button" onClick={() => void close(a, "cancel")}>
            {t("activities.cancelIt")}
          </button>
        </span>
      ) : null}
    </li>
  );

  return (
    <div className="card">
      <h2>{t("activities.title")}</h2>
      <h3>{t("activities.next")}</h3>
      {next.length ? <ul className="plain items">{next.map(item)}</ul> : <p className="muted">{t("activities.none")}</p>}
      <h3>{t("activities.previous")}</h3>
      {previous.length ? <ul className="plain items">{previous.map(item)}</ul> : <p className="muted">{t("activities.none")}</p>}
      {can("crm:write") ? (
        <form onSubmit={schedule} noValidate className="schedule" aria-labelledby="schedule-title">
          <h3 id="schedule-title">{t("activities.schedule")}</h3>
          <ProblemBanner problem={problem} shown={["type", "title", "scheduled_at", "notes", "private"]} />
          <div className="grid">
            <Field name="type" label={t("activities.type")} value={type} onChange={setType} error={errors.type} options={ACTIVITY_TYPES.map((v) => ({ value: v, label: t(`activity.${v}`) }))} />
            <Field name="title" label={t("activities.titleField")} value={title} onChange={setTitle} error={errors.title} />
            <Field name="scheduled_at" label={t("activities.when")} type="datetime-local" value={when} onChange={setWhen} error={errors.scheduled_at} required />
            <Field name="notes" label={t("activities.notes")} value={notes} onChange={setNotes} error={errors.notes} />
          </div>
          <label className="inline">
            <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} /> {t("activities.private")}
          </label>
          <button type="submit" className="primary">
            {t("activities.add")}
          </button>
        </form>
      ) : null}
    </div>
  );
}

function Messages({ leadId }: { leadId: string }) {
  const { api, t, fmt, locale } = useSession();
  const messages = useLoad(() => unwrap(api.GET("/api/v1/notifications/messages", { params: { query: { lead_id: leadId } } })), [leadId]);
  const items: Message[] = messages.data?.items ?? [];
  return (
    <div className="card">
      <h2>{t("messages.title")}</h2>
      <p>
        <a href={`#/conversations?lead=${leadId}`}>{commsTranslator(locale)("conv.openChat")}</a>
      </p>
      {messages.data && !items.length ? <p className="muted">{t("messages.none")}</p> : null}
      <ul className="plain items">
        {items.map((m) => (
          <li key={m.id}>
            <span className="tag">{m.channel}</span> {fmt.dateTime(m.sent_at ?? m.created_at)} · <span className={m.status === "failed" ? "tag tag-red" : "tag"}>{m.status}</span>
            <p className="pre">{m.body}</p>
          </li>
        ))}
      </ul>
    </div>
  );
}
