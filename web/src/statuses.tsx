// The clinic's lead statuses as it paints and orders them (`GET /api/v1/leads/statuses`, read once per session
// and again after Settings changes them): the chips, the avatars and the order of every status picker.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { unwrap, type Client, type Schemas } from "./api/client";
import { statusName, STATUSES } from "./i18n";
import { useSession } from "./session";

export type StatusStyle = Schemas["StatusStyleOut"];

/** The service's defaults, for the moment before the clinic's styles arrive (or a user without crm:read). */
const DEFAULT_COLOURS: Record<string, string> = {
  PENDING_CONTACT: "#8A5A00",
  CONTACTED_NO_RESPONSE: "#6B4F9E",
  CONTACTED_CALL_LATER: "#1D5FA8",
  RESCHEDULED: "#0B7285",
  REQUIRES_FOLLOW_UP: "#A8431D",
  NOT_INTERESTED: "#5C6670",
  APPOINTMENT_CANCELED: "#B02A37",
  INTERESTED_SCHEDULE_APPOINTMENT: "#2B7A0B",
  APPOINTMENT_SCHEDULED: "#186A3B",
  VISIT_COMPLETED: "#343A40",
};

export const DEFAULT_STYLES: StatusStyle[] = STATUSES.map((s, position) => ({
  status: s,
  label: null,
  color: DEFAULT_COLOURS[s]!,
  position,
  closed: s === "NOT_INTERESTED" || s === "VISIT_COMPLETED",
}));

const cache = new WeakMap<Client, Promise<StatusStyle[]>>();
const listeners = new Set<() => void>();

export function loadStatusStyles(api: Client): Promise<StatusStyle[]> {
  let pending = cache.get(api);
  if (!pending) {
    pending = unwrap(api.GET("/api/v1/leads/statuses")).then((p) => p.items);
    cache.set(api, pending);
    pending.catch(() => cache.delete(api));
  }
  return pending;
}

/** After Settings saved a style: every shown chip reads the clinic's styles again. */
export function statusStylesChanged(api: Client): void {
  cache.delete(api);
  listeners.forEach((l) => l());
}

/** Black or white text, whichever reads better on the clinic's colour (WCAG relative luminance). */
export function textOn(hex: string): string {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!m) return "#fff";
  const n = parseInt(m[1]!, 16);
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin((n >> 16) & 255) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  // contrast with white (1.05 / (l + 0.05)) against contrast with black ((l + 0.05) / 0.05)
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#fff" : "#111";
}

export interface Statuses {
  /** every status in the clinic's order */
  styles: StatusStyle[];
  order: string[];
  color: (status: string) => string;
  /** the clinic's own name, else the status's name in the user's language */
  name: (status: string) => string;
}

const StatusesContext = createContext<Statuses | null>(null);

/** Once per session (App): every chip reads the same styles, and one read serves the whole screen. */
export function StatusesProvider({ children }: { children: ReactNode }) {
  return <StatusesContext.Provider value={useLoadedStatuses()}>{children}</StatusesContext.Provider>;
}

function describe(styles: StatusStyle[], locale: Parameters<typeof statusName>[0]): Statuses {
  const by = new Map(styles.map((s) => [s.status, s]));
  return {
    styles,
    order: styles.map((s) => s.status),
    color: (s) => by.get(s)?.color ?? DEFAULT_COLOURS[s] ?? "#495057",
    name: (s) => by.get(s)?.label || statusName(locale, s),
  };
}

/** The clinic's statuses (the defaults outside a StatusesProvider, as in a component test of one screen). */
export function useStatuses(): Statuses {
  const { locale } = useSession();
  const provided = useContext(StatusesContext);
  const fallback = useMemo(() => describe(DEFAULT_STYLES, locale), [locale]);
  return provided ?? fallback;
}

function useLoadedStatuses(): Statuses {
  const { api, locale } = useSession();
  const [styles, setStyles] = useState<StatusStyle[]>(DEFAULT_STYLES);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  useEffect(() => {
    let live = true;
    loadStatusStyles(api).then(
      (v) => live && setStyles(v),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api, tick]);
  return useMemo(() => describe(styles, locale), [styles, locale]);
}
