// Loading state for screens, and the clinic's lists (sources, channels, ...) and staff, read once per session.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, fieldErrors, unwrap, type ListItem, type Problem } from "./api/client";
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
    // `load` is a new closure each render; `deps` say when it asks for something else.
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
      pending = unwrap(api.GET("/api/v1/leads/lists/{kind}", { params: { path: { kind } } })).then((p) => p.items as ListItem[]);
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

export interface StaffMember {
  id: string;
  full_name: string;
}

/** The clinic's active staff as the leads service knows them (`crm:read`): the owners a lead may have. */
export function useStaff(): StaffMember[] {
  const { api } = useSession();
  const [staff, setStaff] = useState<StaffMember[]>([]);
  useEffect(() => {
    let live = true;
    unwrap(api.GET("/api/v1/leads/staff")).then(
      (v) => live && setStaff(v.items.map((s) => ({ id: s.user_id, full_name: s.full_name }))),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api]);
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

/** A form's call to the API: busy while it runs, the problem it answered (and its `errors[].field`s) kept. */
export function useSave(): { problem: Problem | null; busy: boolean; fields: Record<string, string>; save: (call: () => Promise<unknown>) => Promise<boolean> } {
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  async function save(call: () => Promise<unknown>) {
    setBusy(true);
    setProblem(null);
    try {
      await call();
      return true;
    } catch (error) {
      setProblem(error instanceof ApiError ? error.problem : { status: 0, detail: String(error) });
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { problem, busy, fields: fieldErrors(problem).fields, save };
}
