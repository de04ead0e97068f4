// The API client: types generated from the gateway's OpenAPI (schema.d.ts, `just console-api`), calls through
// openapi-fetch, so a renamed field or path is a type error here rather than a bug in a clinic.
import { currentPurpose, isRecordRead } from "../purpose";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Lead = Schemas["LeadOut"];
export type LeadIn = Schemas["LeadIn"];
export type LeadPatch = Schemas["LeadPatch"];
export type LeadPage = Schemas["LeadPage"];
export type Me = Schemas["MeOut"];
export type TokenPair = Schemas["TokenPair"];
export type Metrics = Schemas["MetricsOut"];
export type StatusChange = Schemas["StatusChangeOut"];
export type Activity = Schemas["ActivityOut"];
export type Bell = Schemas["BellOut"];
export type LeadRequest = Schemas["RequestOut"];
export type ListItem = Schemas["ListItemOut"];
export type Staff = Schemas["StaffOut"];
export type Message = Schemas["MessageOut"];
export type Candidate = Schemas["CandidateOut"];

/** An RFC 9457 problem document as every ClinicFlow service answers errors. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  candidates?: Candidate[];
  [extra: string]: unknown;
}

/** Where the tokens live. The access token only in memory; the refresh token in sessionStorage, so a reload
 * keeps the session while closing the tab ends it, and two tabs never share (and so never race on) one
 * rotating refresh token: presenting a used one revokes the whole family. */
export class TokenStore {
  private access: string | null = null;
  constructor(private readonly storage: Storage | null = typeof sessionStorage === "undefined" ? null : sessionStorage) {}
  get accessToken(): string | null {
    return this.access;
  }
  get refreshToken(): string | null {
    return this.storage?.getItem("clinicflow.refresh") ?? null;
  }
  set(pair: TokenPair): void {
    this.access = pair.access_token;
    this.storage?.setItem("clinicflow.refresh", pair.refresh_token);
  }
  clear(): void {
    this.access = null;
    this.storage?.removeItem("clinicflow.refresh");
  }
}

export type Fetch = (request: Request) => Promise<Response>;

/** fetch with the bearer token; on a 401 it refreshes once (one refresh in flight, however many calls failed
 * together) and repeats the call; when the refresh fails too, `onExpired` ends the session. */
export function authFetch(tokens: TokenStore, onExpired: () => void, base: Fetch = (r) => fetch(r)): Fetch {
  let refreshing: Promise<boolean> | null = null;

  async function refresh(): Promise<boolean> {
    const refreshToken = tokens.refreshToken;
    if (!refreshToken) return false;
    const answer = await base(
      new Request(new URL("/api/v1/auth/refresh", location.origin), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
      }),
    );
    if (!answer.ok) return false;
    tokens.set((await answer.json()) as TokenPair);
    return true;
  }

  function withToken(request: Request): Request {
    const out = new Request(request);
    if (tokens.accessToken) out.headers.set("authorization", `Bearer ${tokens.accessToken}`);
    // The read audit records why a personal record was opened (web/src/purpose.ts).
    if (isRecordRead(out.method, new URL(out.url).pathname)) out.headers.set("x-purpose", currentPurpose());
    return out;
  }

  return async (request: Request) => {
    if (new URL(request.url).pathname.startsWith("/api/v1/auth/")) return base(request);
    const spare = request.clone();
    const answer = await base(withToken(request));
    if (answer.status !== 401) return answer;
    refreshing ??= refresh().finally(() => (refreshing = null));
    if (!(await refreshing)) {
      onExpired();
      return answer;
    }
    return base(withToken(spare));
  };
}

export function makeClient(fetcher: Fetch) {
  return createClient<paths>({ baseUrl: typeof location === "undefined" ? "" : location.origin, fetch: fetcher });
}

export type Client = ReturnType<typeof makeClient>;

/** The problem of a failed call, or a stand-in when the answer was not one (a proxy's HTML page, say). */
export function asProblem(error: unknown, response: Response): Problem {
  if (error && typeof error === "object" && "status" in error) return error as Problem;
  return { status: response.status, title: response.statusText || "Error", detail: typeof error === "string" ? error : undefined };
}

/** Field name → message, for showing each next to its input; the rest goes on top of the form. */
export function fieldErrors(problem: Problem | null): { fields: Record<string, string>; general: string | null } {
  const fields: Record<string, string> = {};
  if (!problem) return { fields, general: null };
  for (const e of problem.errors ?? []) {
    const field = e.field.replace(/^(body|query|path)\./, "").split(/[.[]/)[0];
    fields[field] = fields[field] ? `${fields[field]} ${e.message}` : e.message;
  }
  const general = Object.keys(fields).length ? null : (problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  return { fields, general };
}

/** Throws on a failed call so that screens can `await unwrap(api.GET(...))`. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
}

export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(asProblem(error, response));
  return data as T;
}
