// The deal card: the funnel's card in one request (`GET /api/v1/funnel/deals/{id}`: the deal, its treatment
// plans, tasks, visit history, bookings and activity feed), the person's charges (payments) and the
// notifications sent to them (notifications); tasks are added, commented and done in place; a curator is put on
// the deal and a treatment plan created from the card (DealForms.tsx).
import { useState, type FormEvent } from "react";
import { ApiError, fieldErrors, unwrap, type Problem, type Schemas } from "../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../components";
import { useLoad, useStaffName } from "../data";
import { useDesk, type DeskKey } from "../i18n-desk";
import { useSession } from "../session";
import { CuratorForm, NewPlanForm } from "./DealForms";
import { TaskLights } from "./Pipelines";

type Card = Schemas["CardOut"];
type Task = Schemas["TaskOut"];

export function DealCard({ id, onClose, onChanged }: { id: string; onClose: () => void; onChanged: () => void }) {
  const { api, fmt, can } = useSession();
  const { d, money } = useDesk();
  const card = useLoad(() => unwrap(api.GET("/api/v1/funnel/deals/{deal_id}", { params: { path: { deal_id: id } } })), [id]);
  const deal = card.data?.deal;
  const debt = deal ? Math.max(0, Number(deal.amount) - Number(deal.paid)) : 0;
  const changed = () => {
    card.reload();
    onChanged();
  };
  return (
    <Dialog title={deal ? (deal.name ?? d("pipe.noName")) : d("deal.title")} onClose={onClose} wide>
      <ProblemBanner problem={card.problem} shown={[]} />
      {!card.data ? (
        card.loading ? <Loading /> : null
      ) : (
        <div className="deal-card" data-deal-card={id}>
          <dl className="facts deal-facts">
            <div>
              <dt>{d("deal.since")}</dt>
              <dd>{fmt.dateTime(deal!.stage_since)}</dd>
            </div>
            <div>
              <dt>{d("agenda.phone")}</dt>
              <dd>{fmt.phone(deal!.phone)}</dd>
            </div>
            <div>
              <dt>{d("deal.source")}</dt>
              <dd>{deal!.source ?? "—"}</dd>
            </div>
            <div>
              <dt>{d("pipe.nextBooking")}</dt>
              <dd>{fmt.dateTime(deal!.next_booking_at)}</dd>
            </div>
          </dl>
          <CuratorForm deal={deal!} onChanged={changed} />
          {deal!.lead_id ? (
            <p>
              <a href={`#/prospects/${deal!.lead_id}`} onClick={onClose}>
                {d("deal.openLead")}
              </a>
            </p>
          ) : null}
          <div className="deal-grid">
            <section aria-labelledby={`tasks-${id}`}>
              <h3 id={`tasks-${id}`}>
                {d("deal.tasks")} <TaskLights green={deal!.tasks_green ?? 0} red={deal!.tasks_red ?? 0} />
              </h3>
              <Tasks card={card.data} onChanged={changed} />
            </section>
            <section aria-labelledby={`money-${id}`}>
              <h3 id={`money-${id}`}>{d("deal.money")}</h3>
              <dl className="facts">
                <div>
                  <dt>{d("deal.amount")}</dt>
                  <dd>{money(deal!.amount)}</dd>
                </div>
                <div>
                  <dt>{d("pipe.paid")}</dt>
                  <dd>{money(deal!.paid)}</dd>
                </div>
                <div>
                  <dt>{d("deal.debt")}</dt>
                  <dd className={debt > 0 ? "debt" : undefined} data-debt={debt}>
                    {money(debt)}
                  </dd>
                </div>
              </dl>
              <Charges leadId={deal!.lead_id} patientId={deal!.patient_id} />
            </section>
            <section aria-labelledby={`plans-${id}`}>
              <h3 id={`plans-${id}`}>{d("deal.plans")}</h3>
              <Plans card={card.data} onChanged={changed} />
              {can("funnel:write") && deal!.kind === "arrived" ? <NewPlanForm deal={deal!} currency={card.data.plans[0]?.currency} onCreated={changed} /> : null}
            </section>
            <section aria-labelledby={`visits-${id}`}>
              <h3 id={`visits-${id}`}>{d("deal.visits")}</h3>
              {card.data.visits.length === 0 ? <p className="muted">{d("deal.noVisits")}</p> : null}
              <ul className="plain">
                {card.data.visits.map((v) => (
                  <li key={v.appointment_id}>
                    {fmt.dateTime(v.completed_at)} · {v.procedures.join(", ") || "—"}
                  </li>
                ))}
              </ul>
              {card.data.bookings.length ? <h4>{d("deal.bookings")}</h4> : null}
              <ul className="plain">
                {card.data.bookings.map((b) => (
                  <li key={b.appointment_id}>
                    {fmt.dateTime(b.starts_at)}
                    {b.cancelled_at ? ` · ${d("deal.cancelled")}` : b.done_at ? ` · ${d("deal.done")}` : ""}
                  </li>
                ))}
              </ul>
            </section>
            <section aria-labelledby={`msgs-${id}`}>
              <h3 id={`msgs-${id}`}>{d("deal.messages")}</h3>
              <Messages leadId={deal!.lead_id} />
            </section>
            <section aria-labelledby={`feed-${id}`}>
              <h3 id={`feed-${id}`}>{d("deal.feed")}</h3>
              {card.data.feed.length === 0 ? <p className="muted">{d("deal.noFeed")}</p> : null}
              <ol className="plain feed">
                {card.data.feed.map((f, i) => (
                  <li key={`${f.at}-${i}`} data-kind={f.kind}>
                    <span className="muted nowrap">{fmt.dateTime(f.at)}</span> {f.text}
                  </li>
                ))}
              </ol>
            </section>
          </div>
        </div>
      )}
    </Dialog>
  );
}

function taskState(task: Task, now: number): "completed" | "overdue" | "open" {
  if (task.completed_at) return "completed";
  return new Date(task.due_at).getTime() < now ? "overdue" : "open";
}

function Tasks({ card, onChanged }: { card: Card; onChanged: () => void }) {
  const { api, fmt, can } = useSession();
  const { d } = useDesk();
  const staffName = useStaffName();
  const [title, setTitle] = useState("");
  const [kind, setKind] = useState("call");
  const [due, setDue] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const { fields } = fieldErrors(problem);
  const now = Date.now();

  async function run(call: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setProblem(null);
    try {
      await call();
      onChanged();
      return true;
    } catch (error) {
      setProblem(error instanceof ApiError ? error.problem : { status: 0, detail: String(error) });
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function add(event: FormEvent) {
    event.preventDefault();
    const ok = await run(() =>
      unwrap(
        api.POST("/api/v1/funnel/deals/{deal_id}/tasks", {
          params: { path: { deal_id: card.deal.id } },
          body: { title, kind, due_at: due ? fmt.zonedToIso(due) : "" },
        }),
      ),
    );
    if (ok) {
      setTitle("");
      setDue("");
    }
  }

  return (
    <>
      {card.tasks.length === 0 ? <p className="muted">{d("deal.noTasks")}</p> : null}
      <ul className="plain tasks">
        {card.tasks.map((task) => {
          const state = taskState(task, now);
          return (
            <li key={task.id} className={`task task-${state}`} data-task={task.id}>
              <span className={`light light-${state === "overdue" ? "red" : state === "open" ? "green" : "done"}`} aria-hidden="true" />
              <strong>{task.title}</strong> <span className="muted">{fmt.dateTime(task.due_at)}</span>{" "}
              <span className="tag">{d(`deal.${state}` as DeskKey)}</span> <span className="muted">{staffName(task.responsible_id)}</span>
              {task.comments.length ? (
                <ul className="task-comments" aria-label={d("deal.comments")}>
                  {task.comments.map((c, i) => (
                    <li key={i}>
                      {c.text} <span className="muted">{fmt.dateTime(c.at)}</span>
                    </li>
                  ))}
                </ul>
              ) : null}
              {can("funnel:write") && state !== "completed" ? (
                <TaskActions task={task} busy={busy} run={run} />
              ) : null}
            </li>
          );
        })}
      </ul>
      {can("funnel:write") ? (
        <form className="schedule" onSubmit={add} noValidate aria-label={d("deal.newTask")}>
          <ProblemBanner problem={problem} shown={["title", "kind", "due_at", "text"]} />
          <Field name="title" label={d("deal.taskTitle")} value={title} onChange={setTitle} error={fields.title} required />
          <Field
            name="kind"
            label={d("deal.taskKind")}
            value={kind}
            onChange={setKind}
            error={fields.kind}
            options={[
              { value: "call", label: d("deal.kind.call") },
              { value: "todo", label: d("deal.kind.todo") },
            ]}
          />
          <Field name="due_at" label={d("deal.due")} type="datetime-local" value={due} onChange={setDue} error={fields.due_at} required />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              {d("deal.add")}
            </button>
          </div>
        </form>
      ) : null}
    </>
  );
}

function TaskActions({ task, busy, run }: { task: Task; busy: boolean; run: (call: () => Promise<unknown>) => Promise<boolean> }) {
  const { api } = useSession();
  const { d } = useDesk();
  const [text, setText] = useState("");
  const path = { params: { path: { task_id: task.id } } };
  return (
    <div className="actions">
      <button type="button" className="small" disabled={busy} onClick={() => run(() => unwrap(api.POST("/api/v1/funnel/tasks/{task_id}/complete", path)))}>
        {d("deal.complete")}
      </button>
      <form
        className="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await run(() => unwrap(api.POST("/api/v1/funnel/tasks/{task_id}/comments", { ...path, body: { text } })))) setText("");
        }}
      >
        <label>
          <span className="sr-only">
            {d("deal.comment")}: {task.title}
          </span>
          <input value={text} onChange={(e) => setText(e.target.value)} placeholder={d("deal.comment")} name="comment" />
        </label>
        <button type="submit" className="small" disabled={busy || !text.trim()}>
          {d("deal.send")}
        </button>
      </form>
    </div>
  );
}

function Plans({ card, onChanged }: { card: Card; onChanged: () => void }) {
  const { api, fmt, can } = useSession();
  const { d, money } = useDesk();
  const [problem, setProblem] = useState<Problem | null>(null);
  if (card.plans.length === 0) return <p className="muted">{d("deal.noPlans")}</p>;
  return (
    <>
      <ProblemBanner problem={problem} shown={[]} />
      {card.plans.map((plan) => (
        <article key={plan.id} className="plan" data-plan={plan.status}>
          <p>
            <strong>{plan.title}</strong> <span className="tag">{d(`deal.plan.${plan.status}` as DeskKey) ?? plan.status}</span> {money(plan.total, plan.currency)}
            {plan.signed_at ? <span className="muted"> · {fmt.dateTime(plan.signed_at)}</span> : null}
          </p>
          <table className="compact">
            <thead>
              <tr>
                <th scope="col">{d("deal.procedure")}</th>
                <th scope="col">{d("deal.quantity")}</th>
                <th scope="col">{d("deal.price")}</th>
                <th scope="col">{d("deal.discount")}</th>
              </tr>
            </thead>
            <tbody>
              {plan.items.map((item, i) => (
                <tr key={i}>
                  <td>{item.procedure}</td>
                  <td>{item.quantity}</td>
                  <td>{money(item.price, plan.currency)}</td>
                  <td>{item.discount}%</td>
                </tr>
              ))}
            </tbody>
          </table>
          {plan.status === "created" && can("funnel:write") ? (
            <button
              type="button"
              className="small"
              onClick={async () => {
                try {
                  await unwrap(api.POST("/api/v1/funnel/plans/{plan_id}/sign", { params: { path: { plan_id: plan.id } } }));
                  setProblem(null);
                  onChanged();
                } catch (error) {
                  setProblem(error instanceof ApiError ? error.problem : { status: 0, detail: String(error) });
                }
              }}
            >
              {d("deal.sign")}
            </button>
          ) : null}
        </article>
      ))}
    </>
  );
}

function Charges({ leadId, patientId }: { leadId: string | null; patientId: string | null }) {
  const { api, fmt, can } = useSession();
  const { d, money } = useDesk();
  const allowed = can("finance:read") || can("payments:write");
  const charges = useLoad(
    async () =>
      allowed && (leadId || patientId)
        ? (await unwrap(api.GET("/api/v1/payments/payments", { params: { query: leadId ? { lead_id: leadId, limit: 20 } : { patient_id: patientId, limit: 20 } } }))).items
        : [],
    [leadId, patientId, allowed],
  );
  if (!allowed) return null;
  const items = charges.data ?? [];
  return (
    <>
      <h4>{d("deal.charges")}</h4>
      {charges.data && !items.length ? <p className="muted">{d("deal.noCharges")}</p> : null}
      <ul className="plain">
        {items.map((c) => (
          <li key={c.id}>
            {fmt.dateTime(c.paid_at ?? c.created_at)} · {c.description} · <strong>{money(c.amount, c.currency)}</strong> <span className="tag">{c.status}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

function Messages({ leadId }: { leadId: string | null }) {
  const { api, fmt } = useSession();
  const { d } = useDesk();
  const messages = useLoad(async () => (leadId ? (await unwrap(api.GET("/api/v1/notifications/messages", { params: { query: { lead_id: leadId } } }))).items : []), [leadId]);
  const items = messages.data ?? [];
  return (
    <>
      {messages.data && !items.length ? <p className="muted">{d("deal.noMessages")}</p> : null}
      <ul className="plain">
        {items.slice(0, 20).map((m) => (
          <li key={m.id}>
            <span className="muted nowrap">{fmt.dateTime(m.created_at)}</span> <span className="tag">{m.channel}</span> {m.body}
          </li>
        ))}
      </ul>
    </>
  );
}
