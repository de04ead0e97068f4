// The pipelines board (issue 16, screen 5): the funnel's deals per stage with their count and sum
// (`GET /api/v1/funnel/pipelines/{id}/board`, filtered and paged on the server), moved by hand with a reason
// (`POST /deals/{id}/move`: drag and drop, or the keyboard's "Move" button) where the pipeline is in manual
// mode; and the deal card.
import { useEffect, useRef, useState, type DragEvent, type FormEvent } from "react";
import { ApiError, fieldErrors, unwrap, type Problem, type Schemas } from "../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../components";
import { useLoad, useSave, useStaffName } from "../data";
import { useDesk } from "../i18n-desk";
import { useSession } from "../session";
import { useWindowed } from "../windowed";
import { DealCard } from "./DealCard";
import "../desk.css";

type Pipeline = Schemas["PipelineOut"];
type Stage = Schemas["StageOut"];
export type Deal = Schemas["DealOut"];
type Column = Schemas["BoardColumn"];

const PAGE = 50;

/** The service's rule: an Arrived-and-repeat pipeline in automatic mode is moved only by its rules. */
export function movable(pipeline: Pipeline): boolean {
  return !(pipeline.automatic && pipeline.kind === "arrived");
}

export interface BoardFilters {
  curator: string;
  stage: string;
  overdue: boolean;
  noBooking: boolean;
  plan: string;
  /** The person's activity (visits, bookings, arrivals, payments): "" any, active or inactive in `days`. */
  activity: string;
  days: string;
}

const NO_FILTERS: BoardFilters = { curator: "", stage: "", overdue: false, noBooking: false, plan: "", activity: "", days: "90" };
const PLAN_STATES = ["none", "created", "signed", "completed"] as const;
const ACTIVITIES = ["active", "inactive"] as const;

export function Pipelines({ dealId }: { dealId?: string }) {
  const { api, can } = useSession();
  const { d } = useDesk();
  const staffName = useStaffName();
  const pipelines = useLoad(() => unwrap(api.GET("/api/v1/funnel/pipelines")).then((p) => p.items), []);
  const curators = useLoad(() => unwrap(api.GET("/api/v1/funnel/curators")).then((p) => p.items), []);
  const [pipelineId, setPipelineId] = useState("");
  const pipeline = pipelines.data?.find((p) => p.id === pipelineId) ?? pipelines.data?.[0] ?? null;
  const [filters, setFilters] = useState<BoardFilters>(NO_FILTERS);
  const [perStage, setPerStage] = useState(PAGE);
  const [openDeal, setOpenDeal] = useState<string | null>(dealId ?? null);
  const [moving, setMoving] = useState<{ deal: Deal; stage: string } | null>(null);
  const [dragOver, setDragOver] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  useEffect(() => setOpenDeal(dealId ?? null), [dealId]);
  const board = useLoad(
    async () =>
      pipeline
        ? unwrap(
            api.GET("/api/v1/funnel/pipelines/{pipeline_id}/board", {
              params: {
                path: { pipeline_id: pipeline.id },
                query: {
                  curator_id: filters.curator || null,
                  stage_id: filters.stage || null,
                  overdue: filters.overdue,
                  no_future_booking: filters.noBooking,
                  plan_state: filters.plan || null,
                  activity: filters.activity || null,
                  active_days: filters.activity ? Number(filters.days) : undefined,
                  per_stage: perStage,
                },
              },
            }),
          )
        : null,
    [pipeline?.id, filters, perStage],
  );
  const canMove = !!pipeline && movable(pipeline) && can("funnel:write");
  const set = (patch: Partial<BoardFilters>) => {
    setFilters({ ...filters, ...patch });
    setPerStage(PAGE);
  };

  function drop(event: DragEvent, stage: Stage) {
    event.preventDefault();
    setDragOver(null);
    const id = event.dataTransfer.getData("text/x-deal") || event.dataTransfer.getData("text/plain");
    const deal = board.data?.columns.flatMap((c) => c.deals).find((x) => x.id === id);
    if (deal && deal.stage_id !== stage.id) setMoving({ deal, stage: stage.key });
  }

  if (pipelines.loading && !pipelines.data) return <Loading />;
  return (
    <section aria-labelledby="pipe-title" className="pipelines">
      <div className="title-row">
        <h1 id="pipe-title">{d("pipe.title")}</h1>
        {pipeline ? <span className="muted" data-mode={canMove ? "manual" : "automatic"}>{movable(pipeline) ? d("pipe.manual") : d("pipe.automatic")}</span> : null}
        {pipeline?.kind === "custom" && can("funnel:write") ? (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            {d("pipe.newDeal")}
          </button>
        ) : null}
      </div>
      <form className="filters filters-board" onSubmit={(e) => e.preventDefault()} aria-label={d("pipe.title")}>
        <Field
          name="pipeline"
          label={d("pipe.pipeline")}
          value={pipeline?.id ?? ""}
          onChange={(v) => {
            setPipelineId(v);
            setFilters(NO_FILTERS);
            setPerStage(PAGE);
          }}
          options={(pipelines.data ?? []).map((p) => ({ value: p.id, label: p.name }))}
        />
        <Field
          name="curator"
          label={d("pipe.curator")}
          value={filters.curator}
          onChange={(v) => set({ curator: v })}
          options={[{ value: "", label: d("pipe.any") }, ...(curators.data ?? []).map((c) => ({ value: c.user_id, label: staffName(c.user_id) }))]}
        />
        <Field
          name="stage"
          label={d("pipe.stage")}
          value={filters.stage}
          onChange={(v) => set({ stage: v })}
          options={[{ value: "", label: d("pipe.any") }, ...(pipeline?.stages ?? []).map((s) => ({ value: s.id, label: s.name }))]}
        />
        <Field
          name="plan_state"
          label={d("pipe.planState")}
          value={filters.plan}
          onChange={(v) => set({ plan: v })}
          error={fieldErrors(board.problem).fields.plan_state}
          options={[{ value: "", label: d("pipe.plan.any") }, ...PLAN_STATES.map((p) => ({ value: p, label: d(`pipe.plan.${p}`) }))]}
        />
        <Field
          name="activity"
          label={d("pipe.activity")}
          value={filters.activity}
          onChange={(v) => set({ activity: v })}
          error={fieldErrors(board.problem).fields.activity}
          options={[{ value: "", label: d("pipe.plan.any") }, ...ACTIVITIES.map((a) => ({ value: a, label: d(`pipe.activity.${a}`) }))]}
        />
        {filters.activity ? (
          <Field
            name="active_days"
            type="number"
            label={d("pipe.activeDays")}
            value={filters.days}
            onChange={(v) => set({ days: v })}
            error={fieldErrors(board.problem).fields.active_days}
          />
        ) : null}
        <label className="check">
          <input type="checkbox" checked={filters.overdue} onChange={(e) => set({ overdue: e.target.checked })} /> {d("pipe.overdue")}
        </label>
        <label className="check">
          <input type="checkbox" checked={filters.noBooking} onChange={(e) => set({ noBooking: e.target.checked })} /> {d("pipe.noBooking")}
        </label>
      </form>
      <ProblemBanner problem={pipelines.problem ?? board.problem} shown={["plan_state", "activity", "active_days"]} />
      <div className="kanban" aria-busy={board.loading}>
        {(board.data?.columns ?? []).map((column) => (
          <StageColumn
            key={column.stage.id}
            column={column}
            canMove={canMove}
            over={dragOver === column.stage.id}
            onDragOver={(e) => {
              if (!canMove) return;
              e.preventDefault();
              e.dataTransfer.dropEffect = "move";
              setDragOver(column.stage.id);
            }}
            onDragLeave={() => setDragOver((s) => (s === column.stage.id ? null : s))}
            onDrop={(e) => canMove && drop(e, column.stage)}
            onOpen={setOpenDeal}
            onMove={(deal) => setMoving({ deal, stage: column.stage.key })}
            onMore={() => setPerStage(perStage + PAGE)}
          />
        ))}
      </div>
      {moving && pipeline ? (
        <MoveDialog
          deal={moving.deal}
          stages={pipeline.stages}
          initial={moving.stage}
          onClose={() => setMoving(null)}
          onMoved={() => {
            setMoving(null);
            board.reload();
          }}
        />
      ) : null}
      {adding && pipeline ? (
        <NewDealDialog
          pipeline={pipeline}
          onClose={() => setAdding(false)}
          onCreated={() => {
            setAdding(false);
            board.reload();
          }}
        />
      ) : null}
      {openDeal ? <DealCard id={openDeal} onClose={() => setOpenDeal(null)} onChanged={board.reload} /> : null}
    </section>
  );
}

function StageColumn({
  column,
  canMove,
  over,
  onDragOver,
  onDragLeave,
  onDrop,
  onOpen,
  onMove,
  onMore,
}: {
  column: Column;
  canMove: boolean;
  over: boolean;
  onDragOver: (e: DragEvent) => void;
  onDragLeave: () => void;
  onDrop: (e: DragEvent) => void;
  onOpen: (id: string) => void;
  onMove: (deal: Deal) => void;
  onMore: () => void;
}) {
  const { d, money } = useDesk();
  const { stage } = column;
  const headId = `stage-${stage.id}`;
  // The column scrolls on its own and renders only the tiles in view (and a few either side).
  const scroller = useRef<HTMLDivElement>(null);
  const tiles = useWindowed({ count: column.deals.length, size: 118, gap: 7, overscan: 3, scroller });
  return (
    <section
      className={over ? "kanban-column kanban-over" : "kanban-column"}
      aria-labelledby={headId}
      data-stage={stage.key}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      <h2 id={headId} className="kanban-head" style={{ borderTopColor: stage.color }}>
        <span>{stage.name}</span>
        <span className="kanban-count" data-count={column.count}>
          {column.count}
        </span>
        <span className="kanban-sum">{money(column.sum)}</span>
      </h2>
      {column.deals.length === 0 ? <p className="muted">{d("pipe.empty")}</p> : null}
      <div className="kanban-scroll" ref={scroller}>
        <ul className="plain kanban-deals" style={{ height: tiles.total }}>
          {tiles.items.map((row) => {
            const deal = column.deals[row.index]!;
            return (
              <li key={deal.id} data-index={row.index} ref={tiles.measure} aria-posinset={row.index + 1} aria-setsize={column.deals.length} style={{ transform: `translateY(${row.start}px)` }}>
                <DealTile deal={deal} canMove={canMove} onOpen={() => onOpen(deal.id)} onMove={() => onMove(deal)} />
              </li>
            );
          })}
        </ul>
      </div>
      {column.count > column.deals.length ? (
        <button type="button" className="link" onClick={onMore}>
          {d("pipe.more")} ({column.deals.length}/{column.count})
        </button>
      ) : null}
    </section>
  );
}

export function TaskLights({ green, red }: { green: number; red: number }) {
  const { d } = useDesk();
  if (!green && !red)
    return (
      <span className="lights lights-none" title={d("pipe.noTasks")}>
        <span className="sr-only">{d("pipe.noTasks")}</span>
        <span aria-hidden="true">○</span>
      </span>
    );
  return (
    <span className="lights">
      {green ? (
        <span className="light light-green" title={d("pipe.tasksGreen", { n: green })} data-light="green">
          <span aria-hidden="true">{green}</span>
          <span className="sr-only">{d("pipe.tasksGreen", { n: green })}</span>
        </span>
      ) : null}
      {red ? (
        <span className="light light-red" title={d("pipe.tasksRed", { n: red })} data-light="red">
          <span aria-hidden="true">{red}</span>
          <span className="sr-only">{d("pipe.tasksRed", { n: red })}</span>
        </span>
      ) : null}
    </span>
  );
}

function DealTile({ deal, canMove, onOpen, onMove }: { deal: Deal; canMove: boolean; onOpen: () => void; onMove: () => void }) {
  const { fmt } = useSession();
  const { d, money } = useDesk();
  const name = deal.name ?? d("pipe.noName");
  return (
    <article
      className="deal-tile"
      data-deal={deal.id}
      draggable={canMove}
      onDragStart={(e) => {
        e.dataTransfer.setData("text/x-deal", deal.id);
        e.dataTransfer.setData("text/plain", deal.id);
        e.dataTransfer.effectAllowed = "move";
      }}
      aria-label={name}
    >
      <button type="button" className="link deal-name" onClick={onOpen}>
        {name}
      </button>
      <span className="muted">{fmt.phone(deal.phone)}</span>
      <span className="deal-meta">
        <span>{money(deal.amount)}</span>
        {Number(deal.paid) > 0 ? (
          <span className="muted">
            {d("pipe.paid")} {money(deal.paid)}
          </span>
        ) : null}
        <TaskLights green={deal.tasks_green ?? 0} red={deal.tasks_red ?? 0} />
      </span>
      {deal.next_booking_at ? (
        <span className="muted">
          {d("pipe.nextBooking")}: {fmt.dateTime(deal.next_booking_at)}
        </span>
      ) : null}
      {canMove ? (
        <button type="button" className="small" onClick={onMove} aria-label={`${d("pipe.move")}: ${name}`}>
          {d("pipe.move")}
        </button>
      ) : null}
    </article>
  );
}

export function MoveDialog({
  deal,
  stages,
  initial,
  onClose,
  onMoved,
}: {
  deal: Deal;
  stages: Stage[];
  initial: string;
  onClose: () => void;
  onMoved: () => void;
}) {
  const { api } = useSession();
  const { d } = useDesk();
  const [stage, setStage] = useState(initial);
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const { fields } = fieldErrors(problem);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(api.POST("/api/v1/funnel/deals/{deal_id}/move", { params: { path: { deal_id: deal.id } }, body: { stage, reason } }));
      onMoved();
    } catch (error) {
      setProblem(error instanceof ApiError ? error.problem : { status: 0, detail: String(error) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={d("pipe.moveTitle", { name: deal.name ?? d("pipe.noName") })} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={["stage", "reason"]} />
        <Field name="stage" label={d("pipe.to")} value={stage} onChange={setStage} options={stages.map((s) => ({ value: s.key, label: s.name }))} error={fields.stage} />
        <Field name="reason" label={d("pipe.reason")} value={reason} onChange={setReason} error={fields.reason} multiline required />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {d("agenda.close")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? d("pipe.moving") : d("pipe.move")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A deal opened by hand in a pipeline of the clinic's own (`POST /api/v1/funnel/deals`). */
export function NewDealDialog({ pipeline, onClose, onCreated }: { pipeline: Pipeline; onClose: () => void; onCreated: () => void }) {
  const { api } = useSession();
  const { d } = useDesk();
  const open = [...pipeline.stages].sort((a, b) => a.position - b.position);
  const [stage, setStage] = useState(open.find((s) => s.outcome === "open")?.key ?? open[0]?.key ?? "");
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [amount, setAmount] = useState("");
  const { problem, busy, fields, save } = useSave();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body = { pipeline_id: pipeline.id, stage, name, phone: phone || null, amount: amount ? amount.replace(",", ".") : null };
    if (await save(() => unwrap(api.POST("/api/v1/funnel/deals", { body })))) onCreated();
  }

  return (
    <Dialog title={d("pipe.newDealIn", { name: pipeline.name })} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={["stage", "name", "phone", "amount"]} />
        <Field name="name" label={d("pipe.dealName")} value={name} onChange={setName} error={fields.name} required />
        <Field name="phone" label={d("pipe.dealPhone")} value={phone} onChange={setPhone} error={fields.phone} />
        <Field name="amount" label={d("pipe.dealAmount")} value={amount} onChange={setAmount} error={fields.amount} />
        <Field name="stage" label={d("pipe.stage")} value={stage} onChange={setStage} options={open.map((s) => ({ value: s.key, label: s.name }))} error={fields.stage} />
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {d("agenda.close")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {d("pipe.create")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
