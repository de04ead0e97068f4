// On the lead card, for funnel:write: start the pre-qualification assistant for this lead on a channel the person
// has (`POST /api/v1/funnel/assistant/processes`): WhatsApp at the lead's phone, Telegram or Instagram at the
// address the lead was made from (the lead's `contacts`, leads docs). The API refuses when the clinic's assistant
// is switched off or the lead already has a process (409, shown here).
import { useState } from "react";
import { unwrap, type Lead } from "../../api/client";
import { ProblemBanner } from "../../components";
import { useSave } from "../../data";
import { isLocale } from "../../i18n";
import { useSession } from "../../session";
import { useFunnelT } from "./kit";

/** The assistant's channels (brand names, the same in every language). */
const CHANNEL_NAMES: Record<string, string> = { whatsapp: "WhatsApp", telegram: "Telegram", instagram: "Instagram" };

/** Where the assistant can reach the person: WhatsApp at the phone, Telegram / Instagram at the lead's address there. */
export function reachableOn(lead: Lead): [string, string][] {
  const out: [string, string][] = lead.phone ? [["whatsapp", lead.phone]] : [];
  for (const channel of ["telegram", "instagram"]) {
    const address = lead.contacts?.[channel];
    if (address) out.push([channel, address]);
  }
  return out;
}

export function StartAssistant({ lead }: { lead: Lead }) {
  const { api, can } = useSession();
  const f = useFunnelT();
  const { problem, busy, save } = useSave();
  const [started, setStarted] = useState<string | null>(null);
  const channels = reachableOn(lead);
  if (!can("funnel:write") || !channels.length || lead.merged_into) return null;
  async function start(channel: string, address: string) {
    await save(async () => {
      const made = await unwrap(
        api.POST("/api/v1/funnel/assistant/processes", {
          body: { lead_id: lead.id, channel, address, name: lead.name, locale: lead.locale && isLocale(lead.locale) ? lead.locale : null },
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
        <div className="actions">
          {channels.map(([channel, address]) => (
            <button key={channel} type="button" onClick={() => void start(channel, address)} disabled={busy}>
              {f("asst.startOn", { channel: CHANNEL_NAMES[channel] })}
            </button>
          ))}
        </div>
      )}
    </section>
  );
}
