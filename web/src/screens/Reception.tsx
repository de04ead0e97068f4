// Reception: today's appointments of a branch with check-in, and the live waiting room (waiting -> in service ->
// done, with the waiting time) that follows the server's event stream, so every screen of the clinic updates
// without a reload whoever checked the patient in; and the returns to book (Returns.tsx).
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, unwrap, type Client, type Problem, type Schemas } from "../api/client";
import { Dialog, Field, Loading, ProblemBanner } from "../components";
import { useLoad, useSave } from "../data";
import type { Key } from "../i18n";
import { useSession } from "../session";
import { branchToday, DayList, useBranches } from "./Day";
import { Returns } from "./Returns";

export type Board = Schemas["Board"];
type BoardItem = Schemas["BoardItem"];

export interface SseEvent {
  event: string;
  data: string;
}

/** Server-sent events out of what arrived so far: the complete events, and the partial rest to keep. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const blocks = buffer.replace(/\r\n/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  const events: SseEvent[] = [];
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":") || !line) continue; // a comment (keep-alive)
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

/** The branch's board as the stream sends it; reconnects (with a pause) when the stream ends or fails.
 * EventSource cannot send the bearer token, so this reads the stream through the console's fetch. */
export function useLiveBoard(api: Client, branchId: string | null): { board: Board | null; live: boolean } {
  const [board, setBoard] = useState<Board | null>(null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!branchId) return;
    const stop = new AbortController();
    setBoard(null);
    (async () => {
      while (!stop.signal.aborted) {
        try {
          const { response } = await api.GET("/api/v1/scheduling/waiting-room/stream", {
            params: { query: { branch_id: branchId } },
            headers: { accept: "text/event-stream" },
            parseAs: "stream",
            signal: stop.signal,
          });
          if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
          setLive(true);
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const { events, rest } = parseSse(buffer + value);
            buffer = rest;
            for (const e of events) if (e.event === "board") setBoard(JSON.parse(e.data) as Board);
          }
        } catch {
          // the stream failed: retry below unless the screen went away
        }
        setLive(false);
        if (stop.signal.aborted) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    return () => stop.abort();
  }, [api, branchId]);
  return { board, live };
}

const CHECK_IN_FROM = new Set(["booked", "confirmed"]);

export function Reception() {
  const { api, t, me } = useSession();
  const can = (p: string) => me.permissions.includes(p);
  const branches = useBranches();
  const [branchId, setBranchId] = useState<string | null>(null);
  const branch = branches.data?.find((b) => b.id === branchId) ?? branches.data?.[0] ?? null;
  const today = branchToday(branch) || null;
  const agenda = useLoad(
    async () =>
      branch && today
        ? (await unwrap(api.GET("/api/v1/scheduling/agenda", { params: { query: { date: today, view: "day", branch_id: branch.id } } }))).items
        : [],
    [branch?.id, today],
  );
  const { board, live } = useLiveBoard(api, branch?.id ?? null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [finishing, setFinishing] = useState<BoardItem | null>(null);
  const [finished, setFinished] = useState(0); // the returns list reads again after a visit asked for one

  async function act(id: string, action: "check-in" | "start" | "complete") {
    if (action === "complete") {
      setFinishing(board ? (board.in_service.find((i) => i.appointment_id === id) ?? null) : null);
      return;
    }
    setBusy(id);
    setProblem(null);
    const path = { params: { path: { appointment_id: id } } };
    const call =
      action === "check-in"
        ? api.POST("/api/v1/scheduling/appointments/{appointment_id}/check-in", path)
        : api.POST("/api/v1/scheduling/appointments/{appointment_id}/start", path);
    try {
      await unwrap(call);
      agenda.reload(); // the board follows by itself, through the stream
    } catch (error) {
      setProblem(error instanceof ApiError ? error.problem : { status: 0, detail: String(error) });
    } finally {
      setBusy(null);
    }
  }

  if (branches.loading && !branches.data) return <Loading />;
  if (branches.data && branches.data.length === 0) return <p className="banner">{t("reception.noBranch")}</p>;
  return (
    <section aria-labelledby="reception-title" className="reception">
      <h1 id="reception-title">{t("nav.reception")}</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field
          name="branch"
          label={t("reception.branch")}
          value={branch?.id ?? ""}
          onChange={setBranchId}
          options={(branches.data ?? []).map((b) => ({ value: b.id, label: b.name }))}
        />
      </form>
      <ProblemBanner problem={problem ?? branches.problem ?? agenda.problem} shown={[]} />
      <div className="reception-grid">
        <section aria-labelledby="today-title">
          <h2 id="today-title">{t("reception.today")}</h2>
          <DayList
            items={agenda.data ?? []}
            loading={agenda.loading}
            actions={(a) =>
              can("scheduling:checkin") && CHECK_IN_FROM.has(a.status) ? (
                <button type="button" onClick={() => act(a.id, "check-in")} disabled={busy === a.id} aria-label={`${t("reception.checkIn")}: ${a.patient_name ?? ""}`}>
                  {t("reception.checkIn")}
                </button>
              ) : null
            }
          />
        </section>
        <section aria-labelledby="board-title" aria-live="polite">
          <h2 id="board-title">
            {t("reception.board")}{" "}
            <span className={live ? "badge badge-live" : "badge badge-off"}>{live ? t("reception.live") : t("reception.reconnecting")}</span>
          </h2>
          {board ? (
            <WaitingRoom board={board} busy={busy} canVisit={can("scheduling:visit")} onAct={act} />
          ) : (
            <Loading />
          )}
        </section>
      </div>
      {branch ? <Returns branch={branch} refresh={finished} /> : null}
      {finishing ? (
        <FinishDialog
          visit={finishing}
          onClose={() => setFinishing(null)}
          onDone={() => {
            setFinishing(null);
            setFinished((n) => n + 1);
            agenda.reload();
          }}
        />
      ) : null}
    </section>
  );
}

/** Finish visit: whether the patient should come back, and in how many days (`POST .../complete`); the return
 * then waits in the returns list to be booked. A refusal is shown under the field it names, the choice kept. */
export function FinishDialog({ visit, onClose, onDone }: { visit: BoardItem; onClose: () => void; onDone: () => void }) {
  const { api, t } = useSession();
  const [needed, setNeeded] = useState(false);
  const [days, setDays] = useState("30");
  const { problem, busy, fields, save } = useSave();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const inDays = Number.parseInt(days, 10);
    const body = needed ? { return_needed: true, return_in_days: Number.isNaN(inDays) ? null : inDays } : { return_needed: false };
    const ok = await save(() =>
      unwrap(api.POST("/api/v1/scheduling/appointments/{appointment_id}/complete", { params: { path: { appointment_id: visit.appointment_id } }, body })),
    );
    if (ok) onDone();
  }
  return (
    <Dialog title={t("reception.finishTitle", { name: visit.patient_name ?? "—" })} onClose={onClose}>
      <form onSubmit={submit} className="stack" noValidate>
        <ProblemBanner problem={problem} shown={needed ? ["return_needed", "return_in_days"] : ["return_needed"]} />
        <label className="inline">
          <input type="checkbox" name="return_needed" checked={needed} onChange={(e) => setNeeded(e.target.checked)} /> {t("reception.returnNeeded")}
        </label>
        {fields.return_needed ? (
          <p className="error" role="alert">
            {fields.return_needed}
          </p>
        ) : null}
        {needed ? (
          <Field name="return_in_days" label={t("reception.returnInDays")} type="number" value={days} onChange={setDays} error={fields.return_in_days} required />
        ) : null}
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {t("reception.cancel")}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {t("reception.finish")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function WaitingRoom({
  board,
  busy,
  canVisit,
  onAct,
}: {
  board: Board;
  busy: string | null;
  canVisit: boolean;
  onAct: (id: string, action: "start" | "complete") => void;
}) {
  const { t } = useSession();
  const columns: { key: "waiting" | "in_service" | "done"; label: Key; action?: "start" | "complete"; actionLabel?: Key }[] = [
    { key: "waiting", label: "reception.waiting", action: "start", actionLabel: "reception.start" },
    { key: "in_service", label: "reception.inService", action: "complete", actionLabel: "reception.finish" },
    { key: "done", label: "reception.done" },
  ];
  return (
    <div className="board-columns">
      {columns.map((c) => (
        <section key={c.key} className="board-column" aria-labelledby={`col-${c.key}`} data-column={c.key}>
          <h3 id={`col-${c.key}`}>
            {t(c.label)} <span className="count">{board[c.key].length}</span>
          </h3>
          {board[c.key].length === 0 ? <p className="muted">{t("reception.empty")}</p> : null}
          <ul>
            {board[c.key].map((item: BoardItem) => (
              <li key={item.appointment_id} className="board-card">
                <strong>{item.patient_name ?? "—"}</strong>
                <span>
                  {item.procedure_name} · {item.professional_name}
                </span>
                {c.key === "waiting" ? <span className="waiting">{t("reception.minutes", { n: item.waiting_minutes })}</span> : null}
                {canVisit && c.action && c.actionLabel ? (
                  <button type="button" onClick={() => onAct(item.appointment_id, c.action!)} disabled={busy === item.appointment_id}>
                    {t(c.actionLabel)}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
