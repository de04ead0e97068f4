// The pre-qualification assistant's processes (docs/funnel.md, "The pre-qualification assistant"): the clinic's,
// latest first, filtered by who is talking and paged on the server (`GET /api/v1/funnel/assistant/processes`),
// and one process (`#/assistant/<id>`: its answers, where it waits, its history) with the API's two actions for
// funnel:write: take over the conversation (the assistant stops at once) and hand it back (it asks again).
import { useState } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../../components";
import { useLoad, useSave } from "../../data";
import { useSession } from "../../session";
import { History, nameIn, PAGE, Pager, textOf, useFunnelT, useMembers } from "./kit";

type Process = Schemas["ProcessOut"];
export const STATUSES = ["active", "agent", "completed"] as const;

export function Assistant({ path }: { path: string }) {
  const { api, fmt } = useSession();
  const f = useFunnelT();
  const [status, setStatus] = useState("");
  const [offset, setOffset] = useState(0);
  const openId = /^\/assistant\/([\w-]+)$/.exec(path)?.[1] ?? null;
  const page = useLoad(() => unwrap(api.GET("/api/v1/funnel/assistant/processes", { params: { query: { status: status || null, limit: PAGE, offset } } })), [status, offset]);
  const items = page.data?.items ?? [];
  return (
    <section aria-labelledby="asst-title" className="assistant">
      <div className="title-row">
        <h1 id="asst-title">{f("asst.title")}</h1>
      </div>
      <p className="muted">{f("asst.help")}</p>
      <form className="filters filters-funnel" onSubmit={(e) => e.preventDefault()} aria-label={f("asst.filters")}>
        <Field name="status" label={f("asst.status")} value={status} onChange={(v) => (setStatus(v), setOffset(0))} options={[{ value: "", label: f("any") }, ...STATUSES.map((s) => ({ value: s, label: f(`asst.status.${s}`) }))]} />
      </form>
      <ProblemBanner problem={page.problem} shown={[]} />
      {!page.data && page.loading ? <Loading /> : null}
      {page.data && !items.length ? <p className="muted">{f("asst.none")}</p> : null}
      {items.length ? (
        <div className="table-wrap" aria-busy={page.loading}>
          <table>
            <thead>
              <tr>
                <th scope="col">{f("asst.person")}</th>
                <th scope="col">{f("asst.channel")}</th>
                <th scope="col">{f("asst.status")}</th>
                <th scope="col">{f("asst.step")}</th>
                <th scope="col">{f("asst.procedure")}</th>
                <th scope="col">{f("asst.paid")}</th>
                <th scope="col">{f("asst.lastReply")}</th>
                <th scope="col">{f("asst.started")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id} data-process={p.id} data-status={p.status}>
                  <td>
                    <a href={`#/assistant/${p.id}`}>{p.name ?? f("asst.noName")}</a>
                    <span className="muted"> · {address(p, (x) => fmt.phone(x))}</span>
                  </td>
                  <td>{p.channel}</td>
                  <td>{textOf(f, "asst.status.", p.status)}</td>
                  <td>{textOf(f, "asst.step.", p.step)}</td>
                  <td>{p.procedure ?? f("none")}</td>
                  <td>{p.paid ? f("yes") : f("no")}</td>
                  <td className="nowrap">{p.last_reply_at ? fmt.dateTime(p.last_reply_at) : f("none")}</td>
                  <td className="nowrap">{fmt.dateTime(p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager offset={offset} total={page.data?.total ?? 0} onOffset={setOffset} />
      {openId ? <ProcessCard id={openId} onClose={() => (location.hash = "/assistant")} onChanged={page.reload} /> : null}
    </section>
  );
}

/** Where the assistant talks to the person: a phone as dialled in the clinic's country, else the chat's id. */
function address(p: Process, phone: (value: string) => string): string {
  return p.channel === "whatsapp" ? phone(p.address) : p.address;
}

function ProcessCard({ id, onClose, onChanged }: { id: string; onClose: () => void; onChanged: () => void }) {
  const { api, can, fmt } = useSession();
  const f = useFunnelT();
  const members = useMembers();
  const process = useLoad(() => unwrap(api.GET("/api/v1/funnel/assistant/processes/{process_id}", { params: { path: { process_id: id } } })), [id]);
  const { problem, busy, save } = useSave();
  const p = process.data;
  const act = async (which: "take-over" | "hand-back") => {
    const path = { params: { path: { process_id: id } } };
    const call = which === "take-over" ? () => unwrap(api.POST("/api/v1/funnel/assistant/processes/{process_id}/take-over", path)) : () => unwrap(api.POST("/api/v1/funnel/assistant/processes/{process_id}/hand-back", path));
    if (await save(call)) (process.reload(), onChanged());
  };
  const actor = (who: string) => {
    if (who.startsWith("agent:")) return nameIn(members, who.slice(6), f);
    return textOf(f, "asst.actor.", who);
  };
  return (
    <Dialog title={f("asst.card", { name: p?.name ?? f("asst.noName") })} onClose={onClose} wide>
      <ProblemBanner problem={process.problem ?? problem} shown={[]} />
      {!p ? (
        process.loading ? <Loading /> : null
      ) : (
        <div className="stack" data-status={p.status} data-step={p.step}>
          <dl className="facts deal-facts">
            {(
              [
                ["asst.status", textOf(f, "asst.status.", p.status)],
                ["asst.step", textOf(f, "asst.step.", p.step)],
                ["asst.channel", p.channel],
                ["asst.address", address(p, (x) => fmt.phone(x))],
                ["asst.cpf", p.cpf ?? f("none")],
                ["asst.procedure", p.procedure ?? f("none")],
                ["asst.region", p.region ?? f("none")],
                ["asst.paid", p.paid ? f("yes") : f("no")],
                ["asst.lastReply", p.last_reply_at ? fmt.dateTime(p.last_reply_at) : f("none")],
                ["asst.due", p.due_at ? fmt.dateTime(p.due_at) : f("none")],
                ["asst.nudges", String(p.nudges)],
                ["asst.started", fmt.dateTime(p.created_at)],
              ] as const
            ).map(([label, value]) => (
              <div key={label}>
                <dt>{f(label)}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <p className="actions">
            <a href={`#/prospects/${p.lead_id}`}>{f("lead")}</a>
            <a href={`#/conversations?lead=${p.lead_id}`}>{f("asst.conversation")}</a>
          </p>
          {can("funnel:write") && p.status === "active" ? (
            <div>
              <button type="button" className="primary" disabled={busy} onClick={() => act("take-over")}>
                {f("asst.takeOver")}
              </button>
              <p className="hint">{f("asst.takeOverHelp")}</p>
            </div>
          ) : null}
          {can("funnel:write") && p.status === "agent" ? (
            <div>
              <button type="button" className="primary" disabled={busy} onClick={() => act("hand-back")}>
                {f("asst.handBack")}
              </button>
              <p className="hint">{f("asst.handBackHelp")}</p>
            </div>
          ) : null}
          <section aria-labelledby="asst-history">
            <h3 id="asst-history">{f("history")}</h3>
            <History
              label={f("history")}
              steps={(p.history ?? []).map((h) => ({ at: h.at, who: actor(h.actor), what: textOf(f, "asst.action.", h.action), detail: [textOf(f, "asst.step.", h.step), h.detail].filter(Boolean).join(" · ") }))}
            />
          </section>
        </div>
      )}
    </Dialog>
  );
}
