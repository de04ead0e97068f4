// Loading state for screens, and the clinic's lists (sources, channels, ...) and staff, read once per session.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, unwrap, type ListItem, type Problem, type Staff } from "./api/client";
import { useSession } from "./session";

export interface Loaded<T> {
  data: T | null;
  problem: Problem | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const call = ++latest.current;
    setLoading(true);
    load().then(
      (value) => {
        if (call !== latest.current) return; // a newer filter's answer wins, never an older one
        setData(value);
        setProblem(null);
        setLoading(false);
      },
      (error: unknown) => {
        if (call !== latest.current) return;
        setProblem(error instanceof ApiError ? error.problem : { status: 0, detail: String(error) });
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, problem, loading, reload };
}

const listCache = new WeakMap<object, Map<string, Promise<ListItem[]>>>();

export function useList(kind: "source" | "channel" | "treatment" | "group" | "request_status" | "contact_method"): ListItem[] {
  const { api } = useSession();
  const [items, setItems] = useState<ListItem[]>([]);
  useEffect(() => {
    let cache = listCache.get(api);
    if (!cache) listCache.set(api, (cache = new Map()));
    let pending = cache.get(kind);
    if (!pending) {
      pending = unwrap(api.GET("/api/v1/leads/lists/{kind}", { params: { path: { kind } } })) as Promise<ListItem[]>;
      cache.set(kind, pending);
      pending.catch(() => cache.delete(kind));
    }
    let live = true;
    pending.then((v) => live && setItems(v), () => {});
    return () => {
      live = false;
    };
  }, [api, kind]);
  return items;
}

/** The clinic's staff: only admins may list them; everyone else sees "you" or an id. */
export function useStaff(): Staff[] {
  const { api, can } = useSession();
  const admin = can("crm:admin");
  const [staff, setStaff] = useState<Staff[]>([]);
  useEffect(() => {
    if (!admin) return;
    let live = true;
    unwrap(api.GET("/api/v1/staff")).then((v) => live && setStaff(v as Staff[]), () => {});
    return () => {
      live = false;
    };
  }, [api, admin]);
  return staff;
}

export function useStaffName(): (id: string | null | undefined) => string {
  const { me, t } = useSession();
  const staff = useStaff();
  return (id) => {
    if (!id) return t("lead.none");
    if (id === me.id) return `${me.full_name} (${t("me.you")})`;
    return staff.find((s) => s.id === id)?.full_name ?? `#${id.slice(-6)}`;
  };
}

export function labelOf(items: ListItem[], slug: string | null | undefined): string {
  if (!slug) return "—";
  return items.find((i) => i.slug === slug)?.label ?? slug;
}
