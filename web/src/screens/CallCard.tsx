// The incoming call card: pops up on every screen as a call starts (telephony's live stream of `call` cards,
// published when it records call.started), with the matched contact or "new caller", and buttons to open the
// contact, create a call-back task and book.
import { useId, useState } from "react";
import { unwrap, type Problem } from "../api/client";
import { ProblemBanner } from "../components";
import { problemOf, useComms, useEventStream } from "../comms";
import { useSession } from "../session";

/** What telephony publishes for an inbound call as it starts (services/telephony, `live_channel`). */
export interface LiveCall {
  id: string;
  caller: string;
  tracking_number: string;
  source: string | null;
  state: string;
  started_at: string;
  contact: { lead_id: string; name: string } | null;
  new_caller: boolean;
}

const SHOWN = 3;

export function IncomingCalls() {
  const { api } = useSession();
  const [cards, setCards] = useState<LiveCall[]>([]);
  useEventStream(api, "/api/v1/telephony/calls/stream", (e) => {
    if (e.event !== "call") return;
    const card = JSON.parse(e.data) as LiveCall;
    setCards((shown) => [card, ...shown.filter((c) => c.id !== card.id)].slice(0, SHOWN));
  });
  if (!cards.length) return null;
  return (
    <div className="call-cards">
      {cards.map((c) => (
        <CallCard key={c.id} call={c} onClose={() => setCards((shown) => shown.filter((x) => x.id !== c.id))} />
      ))}
    </div>
  );
}

export function CallCard({ call, onClose }: { call: LiveCall; onClose: () => void }) {
  const { api, fmt, can, t: shell } = useSession();
  const t = useComms();
  const titleId = useId();
  const [leadId, setLeadId] = useState<string | null>(call.contact?.lead_id ?? null);
  const [note, setNote] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  /** The caller's prospect: the matched one, or the one leads made for a new caller since (read again). */
  async function lead(): Promise<string | null> {
    if (leadId) return leadId;
    const card = await unwrap(api.GET("/api/v1/telephony/calls/{call_id}", { params: { path: { call_id: call.id } } }));
    const found = card.call.lead_id ?? card.contact?.lead_id ?? null;
    setLeadId(found);
    if (!found) setNote(t("call.notYet"));
    return found;
  }

  async function act(what: "open" | "task" | "book") {
    setBusy(true);
    setProblem(null);
    setNote(null);
    try {
      const id = await lead();
      if (!id) return;
      if (what === "open") location.hash = `/prospects/${id}`;
      else if (what === "book") location.hash = `/agenda?lead=${id}`;
      else {
        await unwrap(
          api.POST("/api/v1/leads/{lead_id}/activities", {
            params: { path: { lead_id: id } },
            body: { type: "call", private: false, title: t("call.taskTitle", { phone: fmt.phone(call.caller) }), scheduled_at: new Date(Date.now() + 15 * 60_000).toISOString() },
          }),
        );
        setNote(t("call.taskDone"));
      }
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  const who = call.contact?.name ?? t("call.newCaller");
  return (
    <section className="call-card" role="dialog" aria-labelledby={titleId} data-call={call.id}>
      <header className="dialog-head">
        <h2 id={titleId}>
          <span aria-hidden="true">☎ </span>
          {t("call.incoming")}: {who}
        </h2>
        <button type="button" className="icon" onClick={onClose} aria-label={shell("dialog.close")}>
          ×
        </button>
      </header>
      <p className="call-number">{fmt.phone(call.caller)}</p>
      <p className="muted">
        {call.new_caller ? <span className="tag tag-new">{t("call.newCaller")}</span> : null} {fmt.dateTime(call.started_at)}
        {call.source ? ` · ${t("call.source")}: ${call.source}` : ""}
      </p>
      <ProblemBanner problem={problem} shown={[]} />
      {note ? <p role="status">{note}</p> : null}
      <div className="buttons">
        {can("crm:read") ? (
          <button type="button" className="primary" onClick={() => act("open")} disabled={busy}>
            {t("call.open")}
          </button>
        ) : null}
        {can("crm:write") ? (
          <button type="button" onClick={() => act("task")} disabled={busy}>
            {t("call.task")}
          </button>
        ) : null}
        {can("scheduling:book") ? (
          <button type="button" onClick={() => act("book")} disabled={busy}>
            {t("call.book")}
          </button>
        ) : null}
      </div>
    </section>
  );
}
