// What the conversations, call card, finance and reports screens share: their texts (i18n-comms.ts) in the
// user's language, money in the clinic's format, live server-sent event streams, and files that need the token.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, type Client, type Problem } from "./api/client";
import { commsTranslator, type CommsT } from "./i18n-comms";
import { parseSse, type SseEvent } from "./screens/Reception";
import { useSession } from "./session";

export function useComms(): CommsT {
  const { locale } = useSession();
  return commsTranslator(locale);
}

/** The clinic's currency when an amount does not carry one (analytics' money is in the clinic's currency). */
const CURRENCIES: Record<string, string> = { BR: "BRL", ES: "EUR", PT: "EUR", RU: "RUB", AR: "ARS", MX: "MXN", US: "USD" };

export function clinicCurrency(country: string): string {
  return CURRENCIES[country.toUpperCase()] ?? "USD";
}

/** A decimal string (or number) as money in the clinic's locale: `R$ 1.234,50`, `1 234,50 ₽`. */
export function formatMoney(clinicLocale: string, amount: string | number | null | undefined, currency: string): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  const value = typeof amount === "number" ? amount : Number(amount);
  if (!Number.isFinite(value)) return String(amount);
  return new Intl.NumberFormat(clinicLocale, { style: "currency", currency }).format(value);
}

export function useMoney(): (amount: string | number | null | undefined, currency?: string | null) => string {
  const { me } = useSession();
  return useCallback(
    (amount, currency) => formatMoney(me.tenant.locale, amount, currency || clinicCurrency(me.tenant.country)),
    [me.tenant.locale, me.tenant.country],
  );
}

export function problemOf(error: unknown): Problem {
  return error instanceof ApiError ? error.problem : { status: 0, detail: String(error) };
}

export type StreamPath = "/api/v1/notifications/inapp/stream" | "/api/v1/telephony/calls/stream";

/** Follow a server-sent event stream through the console's fetch (the bearer token; EventSource cannot send
 * it), reconnecting two seconds after it ends or fails, as the reception board does. Returns whether it is live. */
export function useEventStream(api: Client, path: StreamPath, onEvent: (event: SseEvent) => void, enabled = true): boolean {
  const [live, setLive] = useState(false);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!enabled) return;
    const stop = new AbortController();
    (async () => {
      while (!stop.signal.aborted) {
        try {
          const { response } = await api.GET(path, { headers: { accept: "text/event-stream" }, parseAs: "stream", signal: stop.signal });
          if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
          setLive(true);
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const { events, rest } = parseSse(buffer + value);
            buffer = rest;
            for (const e of events) handler.current(e);
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
  }, [api, path, enabled]);
  return live;
}

/** Open a file the API serves only with the token (a receipt's PDF) in a new tab. The tab is opened at once,
 * inside the click, so no pop-up blocker stops it; the file follows when it has arrived. */
export async function openFile(fetchBlob: () => Promise<Blob>): Promise<void> {
  const tab = window.open("", "_blank");
  try {
    const blob = await fetchBlob();
    const url = URL.createObjectURL(blob);
    if (tab) tab.location.href = url;
    else window.location.assign(url);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    tab?.close();
    throw error;
  }
}

/** Save a file the API serves only with the token (a report's CSV or XLSX) under the given name. */
export async function downloadFile(fetchBlob: () => Promise<Blob>, name: string): Promise<void> {
  const blob = await fetchBlob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A blob out of an openapi-fetch answer, or the API's problem. */
export async function blobOf(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<Blob> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(error && typeof error === "object" ? (error as Problem) : { status: response.status, title: response.statusText });
  return data as Blob;
}
