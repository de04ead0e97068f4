// The dashboard (issue 16, screen 2): one panel per thing to act on today, counted by the analytics service
// (`GET /api/v1/analytics/dashboard`, scoped to one's own figures without `analytics:all`); a panel opens as a
// pop-up listing its items (`GET .../dashboard/{panel}?limit=10`), each a link to where it is worked: a lead's
// card, the activities. The visits' professionals are named from the scheduling service's professionals list (for
// those who may read it, `scheduling:read`; the analytics items carry only the id).
import { useState, type ReactNode } from "react";
import { unwrap, type Schemas } from "../api/client";
import { Dialog, Loading, ProblemBanner, StatusBadge } from "../components";
import { useLoad } from "../data";
import { useDesk, type DeskKey } from "../i18n-desk";
import { useSession } from "../session";
import "../desk.css";

type Panel = Schemas["PanelOut"];
export type PanelItem = Record<string, unknown>;

/** The panels in the order the desk works them. */
export const PANELS = ["new_leads", "follow_ups_today", "unconfirmed_tomorrow", "patients_waiting", "overdue_tasks", "payments_today"] as const;
export type PanelName = (typeof PANELS)[number];

export function Dashboard() {
  const { api } = useSession();
  const { d, money } = useDesk();
  const [open, setOpen] = useState<PanelName | null>(null);
  const board = useLoad(() => unwrap(api.GET("/api/v1/analytics/dashboard")), []);
  const panels: Record<string, Panel> = board.data?.panels ?? {};
  return (
    <section aria-labelledby="dash-title">
      <div className="title-row">
        <h1 id="dash-title">{d("dash.title")}</h1>
        {board.data ? <span className="muted">{board.data.scope === "clinic" ? d("dash.scopeAll") : d("dash.scopeOwn")}</span> : null}
      </div>
      <ProblemBanner problem={board.problem} shown={[]} />
      {board.loading && !board.data ? <Loading /> : null}
      <ul className="plain dash-panels">
        {PANELS.map((name) => {
          const panel = panels[name];
          const label = d(`dash.${name}` as DeskKey);
          return (
            <li key={name}>
              <button
                type="button"
                className={`dash-panel dash-${name}`}
                data-panel={name}
                aria-haspopup="dialog"
                title={d("dash.open", { panel: label })}
                onClick={() => setOpen(name)}
                disabled={!panel}
              >
                <span className="dash-label">{label}</span>
                <span className="dash-count">{panel ? panel.count : "…"}</span>
                {name === "payments_today" && panel ? <span className="dash-amount">{money(panel.amount ?? "0")}</span> : null}
              </button>
            </li>
          );
        })}
      </ul>
      {open ? <PanelDialog panel={open} onClose={() => setOpen(null)} /> : null}
    </section>
  );
}

/** The panels whose items are visits, each with its professional's id. */
const VISIT_PANELS: readonly PanelName[] = ["unconfirmed_tomorrow", "patients_waiting"];

function PanelDialog({ panel, onClose }: { panel: PanelName; onClose: () => void }) {
  const { api, can } = useSession();
  const { d } = useDesk();
  const detail = useLoad(() => unwrap(api.GET("/api/v1/analytics/dashboard/{panel}", { params: { path: { panel }, query: { limit: 10 } } })), [panel]);
  const items = (detail.data?.items ?? []) as PanelItem[];
  const named = VISIT_PANELS.includes(panel) && can("scheduling:read");
  const professionals = useLoad(
    async () =>
      named ? new Map(((await unwrap(api.GET("/api/v1/scheduling/professionals"))).items as { id: string; name: string }[]).map((p) => [p.id, p.name])) : new Map<string, string>(),
    [named],
  );
  return (
    <Dialog title={d(`dash.${panel}` as DeskKey)} onClose={onClose} wide>
      {panel === "new_leads" ? <p className="muted">{d("dash.newest")}</p> : null}
      <ProblemBanner problem={detail.problem} shown={[]} />
      {detail.loading && !detail.data ? <Loading /> : null}
      {detail.data && !items.length ? <p className="muted">{d("dash.empty")}</p> : null}
      <ul className="plain dash-items" aria-label={d(`dash.${panel}` as DeskKey)}>
        {items.map((item, i) => (
          <li key={String(item.lead_id ?? item.task_id ?? item.appointment_id ?? item.payment_id ?? i)}>
            <PanelRow panel={panel} item={item} onOpen={onClose} professionals={professionals.data} />
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

export function PanelRow({
  panel,
  item,
  onOpen,
  professionals,
}: {
  panel: PanelName;
  item: PanelItem;
  onOpen: () => void;
  professionals?: ReadonlyMap<string, string> | null;
}) {
  const { fmt } = useSession();
  const { d, money } = useDesk();
  const at = str(item.at);
  const link = str(item.link);
  const when = fmt.dateTime(at);
  let title = str(item.name) ?? "—";
  let extra: ReactNode = null;
  if (panel === "follow_ups_today" || panel === "overdue_tasks") {
    title = str(item.title) ?? "—";
    extra = <span className="tag">{item.kind === "call" ? d("dash.call") : d("dash.task")}</span>;
  } else if (panel === "new_leads") {
    extra = (
      <>
        {str(item.source) ? <span className="tag">{str(item.source)}</span> : null} {str(item.status) ? <StatusBadge status={String(item.status)} /> : null}
      </>
    );
  } else if (panel === "unconfirmed_tomorrow" || panel === "patients_waiting") {
    const pro = str(item.professional_id);
    const proName = pro ? professionals?.get(pro) : undefined;
    extra = (
      <>
        {proName ? <span className="dash-professional">{d("dash.with", { name: proName })}</span> : null}{" "}
        {panel === "unconfirmed_tomorrow" && str(item.phone) ? <a href={`tel:${String(item.phone)}`}>{fmt.phone(str(item.phone))}</a> : null}
      </>
    );
  } else if (panel === "payments_today") {
    extra = <strong>{money(str(item.amount), str(item.currency))}</strong>;
  }
  const head = link ? (
    <a href={link.replace(/^\//, "")} onClick={onOpen} data-item={String(item.lead_id ?? item.task_id ?? "")}>
      {title}
    </a>
  ) : (
    <span>{title}</span>
  );
  return (
    <span className="dash-row">
      {head}
      <span className="muted nowrap">{when}</span>
      {extra}
    </span>
  );
}
