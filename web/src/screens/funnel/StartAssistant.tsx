// On the lead card, for funnel:write: start the pre-qualification assistant for this lead on WhatsApp
// (`POST /api/v1/funnel/assistant/processes` with the lead's phone as the address). The API refuses when the
// clinic's assistant is switched off or the lead already has a process (409, shown here).
import { useState } from "react";
import { unwrap, type Lead } from "../../api/client";
import { ProblemBanner } from "../../components";
import { useSave } from "../../data";
import { isLocale } from "../../i18n";
import { useSession } from "../../session";
import { useFunnelT } from "./kit";

export function StartAssistant({ lead }: { lead: Lead }) {
  const { api, can } = useSession();
  const f = useFunnelT();
  const { problem, busy, save } = useSave();
  const [started, setStarted] = useState<string | null>(null);
  if (!can("funnel:write") || !lead.phone || lead.merged_into) return null;
  async function start() {
    await save(async () => {
      const made = await unwrap(
        api.POST("/api/v1/funnel/assistant/processes", {
          body: { lead_id: lead.id, channel: "whatsapp", address: lead.phone, name: lead.name, locale: lead.locale && isLocale(lead.locale) ? lead.locale : null },
        }),
      );
      setStarted(made.id);
    });
  }
  return (
    <section className="card" aria-labelledby="assistant-start-title">
      <h2 id="assistant-start-title">{f("asst.title")}</h2>
      <p className="muted">{f("asst.startHelp")}</p>
      <ProblemBanner problem={problem} shown={[]} />
      {started ? (
        <p className="banner" role="status">
          {f("asst.startedFor", { name: lead.name })} <a href={`#/assistant/${started}`}>{f("asst.openProcess")}</a>
        </p>
      ) : (
        <button type="button" onClick={() => void start()} disabled={busy}>
          {f("asst.startOn")}
        </button>
      )}
    </section>
  );
}
