// The appointment as the confirm and reschedule links show it.
import { h, t, when } from "./common";

export interface Appointment {
  appointment_id: string;
  status: string;
  starts_at: string;
  timezone: string;
  local_start: string;
  branch: string;
  address: string | null;
  procedure: string;
  professional: string | null;
  confirmed_at: string | null;
}

export function card(a: Appointment): HTMLElement {
  return h(
    "section",
    { class: "card" },
    h("h2", {}, a.procedure),
    h("p", { id: "appointment-when" }, when(a.starts_at, a.timezone)),
    h("p", {}, [a.branch, a.professional].filter(Boolean).join(" · ")),
    a.address ? h("p", { class: "muted" }, a.address) : null,
  );
}

export const closed = (a: Appointment) => ["cancelled", "done", "no_show", "in_service", "arrived"].includes(a.status);

export function closedText(a: Appointment): string {
  return a.status === "cancelled" ? t("appointment_cancelled") : t("appointment_past");
}
