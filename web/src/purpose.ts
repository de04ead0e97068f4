// Why the console opens a personal record: the `X-Purpose` header of the GETs that the gateway's read audit
// records (docs/privacy.md, "Who read what"). The gateway takes any text (whitespace collapsed, at most 200
// characters) and records it with who and when; the console sends one of a few stable keys, chosen by the screen
// the user is on, which the privacy officer's read audit shows in the user's language.

/** The purposes the console sends, by what the screen is for. */
export const PURPOSES = ["sales", "care", "communication", "billing", "management", "privacy"] as const;
export type Purpose = (typeof PURPOSES)[number];

/** The GETs that open a personal record, as the gateway's `gateway.reads` recognises them. */
const ID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const RECORD_READS = [
  new RegExp(`^/api/v1/leads/${ID}$`),
  new RegExp(`^/api/v1/leads/patients/${ID}$`),
  new RegExp(`^/api/v1/scheduling/appointments/${ID}$`),
  new RegExp(`^/api/v1/notifications/conversations/${ID}$`),
  new RegExp(`^/api/v1/telephony/recordings/${ID}/link$`),
  /^\/api\/v1\/scheduling\/anamnesis$/,
];

export function isRecordRead(method: string, path: string): boolean {
  return method === "GET" && RECORD_READS.some((r) => r.test(path));
}

/** The purpose of a screen (its hash route). */
export function purposeOfRoute(route: string): Purpose {
  if (route.startsWith("/privacy")) return "privacy";
  if (route.startsWith("/agenda") || route.startsWith("/reception")) return "care";
  if (route.startsWith("/conversations")) return "communication";
  if (route.startsWith("/finance")) return "billing";
  if (route.startsWith("/dashboard") || route.startsWith("/reports") || route.startsWith("/settings")) return "management";
  return "sales"; // prospects, the lead card, activities, the pipelines and deal card, the call card's contact
}

let current: Purpose = "sales";

/** The shell calls this whenever the route changes. */
export function setPurpose(route: string): void {
  current = purposeOfRoute(route);
}

export function currentPurpose(): Purpose {
  return current;
}
