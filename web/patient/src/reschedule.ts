// Reschedule from a reminder: the free times of the next two weeks; one tap moves the appointment (its
// payment stays with it: nothing to pay again).
import { type Appointment, card, closed, closedText } from "./appointment";
import { ApiError, call, fieldError, h, langPicker, setError, show, start, t, token, when } from "./common";

interface FreeSlot { starts_at: string; local: string; professional_id: string; professional: string }
interface Offer extends Appointment { free_slots: FreeSlot[] }

const URL_ = "/public/scheduling/reschedule";
const tok = token();
let moved = false;

function render(o: Offer) {
  const again = () => render(o);
  if (moved || closed(o)) {
    show(
      langPicker(again),
      h("h1", {}, moved ? t("moved_title") : t("reschedule_title")),
      card(o),
      h("p", { class: moved ? "ok" : "warn", role: "status", id: "moved" }, moved ? t("moved") : closedText(o)),
    );
    return;
  }
  const byDay = new Map<string, FreeSlot[]>();
  const seen = new Set<string>();
  for (const s of o.free_slots) {
    if (seen.has(s.starts_at) || s.starts_at === o.starts_at) continue;
    seen.add(s.starts_at);
    const day = s.local.slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), s]);
  }
  const days = [...byDay.entries()].map(([day, slots]) =>
    h(
      "section",
      { class: "slot-day" },
      h("h3", {}, when(`${day}T12:00:00Z`, "UTC", { weekday: "long", day: "numeric", month: "long" })),
      h("div", { class: "times", role: "group", "aria-label": day }, ...slots.map((s) =>
        h("button", { type: "button", class: "time", "data-starts": s.starts_at, onclick: () => void move(s) }, s.local.slice(11, 16)),
      )),
    ),
  );
  show(
    langPicker(again),
    h("h1", {}, t("reschedule_title")),
    h("p", {}, t("reschedule_now")),
    card(o),
    h("p", { class: "muted" }, t("reschedule_no_payment")),
    h("h2", {}, t("free_times")),
    fieldError("move-error", null),
    h("div", { id: "slots-list" }, ...(days.length ? days : [h("p", { class: "muted" }, t("no_times"))])),
  );
}

async function move(s: FreeSlot) {
  setError(document.getElementById("move-error"), null);
  try {
    const a = await call<Appointment>(URL_, { method: "POST", query: { token: tok }, body: { starts_at: s.starts_at } });
    moved = true;
    render({ ...a, free_slots: [] });
  } catch (e) {
    const p = e instanceof ApiError ? e.problem : null;
    setError(document.getElementById("move-error"), p ? (p.status === 409 ? t("slot_taken") : p.detail) : t("offline"));
    if (p?.status === 409) void load().then(render, () => undefined);
  }
}

const load = () => call<Offer>(URL_, { query: { token: tok } });
void start(load, render);
