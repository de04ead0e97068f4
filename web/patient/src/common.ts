// What every patient page shares: the language, a tiny DOM helper, the call to the page's own URL, and the
// friendly pages for a link that is expired, forged or used up. No framework: each page is a few kB.
import "./style.css";
import { DICTS, type Key, type Lang, LANGS } from "./i18n";

export type { Key, Lang };

let lang: Lang = "pt-BR";

/** The patient's language: ?lang=, then what the link knows (the charge's or person's locale), then the
 *  browser's, else Portuguese (the first market). */
export function pickLang(hint?: string | null): Lang {
  const wanted = [new URLSearchParams(location.search).get("lang"), localStorage.getItem("cf-lang"), hint, ...navigator.languages];
  for (const w of wanted) {
    if (!w) continue;
    const exact = LANGS.find((l) => l.toLowerCase() === w.toLowerCase());
    if (exact) return exact;
    const base = w.slice(0, 2).toLowerCase();
    const near = LANGS.find((l) => l.slice(0, 2) === base);
    if (near) return near;
  }
  return "pt-BR";
}

export function setLang(l: Lang) {
  lang = l;
  document.documentElement.lang = l;
}

export function currentLang(): Lang {
  return lang;
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  let text: string = DICTS[lang][key] ?? DICTS.en[key];
  for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(String(v));
  return text;
}

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** h("button", {class: "x", onclick: f}, "text") */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const app = () => document.getElementById("app") as HTMLElement;

/** Replace the page's content; the title follows the first heading. */
export function show(...children: Child[]) {
  const root = app();
  root.replaceChildren(...(children.filter(Boolean) as (Node | string)[]));
  const h1 = root.querySelector("h1");
  document.title = h1 ? `${h1.textContent} · ClinicFlow` : "ClinicFlow";
}

export function langPicker(onChange: () => void): HTMLElement {
  const names: Record<Lang, string> = { "pt-BR": "Português", es: "Español", ru: "Русский", en: "English" };
  const select = h("select", { id: "lang", onchange: (e: Event) => {
    const value = (e.target as HTMLSelectElement).value as Lang;
    localStorage.setItem("cf-lang", value);
    setLang(value);
    onChange();
  } }, ...LANGS.map((l) => h("option", { value: l, selected: l === lang }, names[l])));
  return h("div", { class: "lang" }, h("label", { for: "lang" }, t("language")), select);
}

export interface Problem {
  status: number;
  detail: string;
  field: string | null;
  fields: Record<string, string>;
  slug: string | null;
}

export class ApiError extends Error {
  constructor(public problem: Problem) {
    super(problem.detail);
  }
}

/** The patient link's token (the page's own query). */
export function token(): string {
  return new URLSearchParams(location.search).get("token") ?? "";
}

/** The link's claims, read only to key what is kept on the phone (the server verifies the signature). */
export function claims(tok = token()): { sub?: string; jti?: string; exp?: number } {
  try {
    const part = tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

/** A call to the API: the JSON answer, or ApiError carrying the problem (RFC 9457), or a network TypeError. */
export async function call<T>(path: string, init: { method?: string; body?: unknown; query?: Record<string, string | undefined> } = {}): Promise<T> {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  // The page's first read was started by the inline script of its HTML, before this script arrived.
  const early = (window as { cfEarly?: { url: string; answer: Promise<Response | null> } | null }).cfEarly;
  let first: Response | null = null;
  if ((init.method ?? "GET") === "GET" && early && early.url === url.pathname + url.search) {
    (window as { cfEarly?: unknown }).cfEarly = null;
    first = await early.answer;
  }
  const answer = first ?? await fetch(url, {
    method: init.method ?? "GET",
    headers: { accept: "application/json", ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await answer.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!answer.ok) {
    const errors: { field?: string; message?: string }[] = body?.errors ?? [];
    const fields: Record<string, string> = {};
    for (const e of errors) if (e.field) fields[e.field] = e.message ?? body?.detail ?? "";
    throw new ApiError({
      status: answer.status,
      detail: body?.detail ?? body?.title ?? t("error_generic"),
      field: errors[0]?.field ?? null,
      fields,
      slug: typeof body?.type === "string" ? body.type.split("/").pop() ?? null : null,
    });
  }
  return body as T;
}

/** The friendly page for a link that cannot be used, or for no connection; never an error dump. */
export function linkProblem(error: unknown, retry: () => void) {
  const picker = langPicker(() => linkProblem(error, retry));
  if (error instanceof ApiError && (error.problem.field === "token" || error.problem.status === 401 || error.problem.status === 404)) {
    const expired = /expired/i.test(error.problem.detail);
    const gone = error.problem.status === 404;
    show(
      picker,
      h("h1", {}, expired ? t("link_expired_title") : gone ? t("link_gone_title") : t("link_invalid_title")),
      h("p", {}, expired ? t("link_expired") : gone ? t("link_gone") : t("link_invalid")),
      h("p", {}, t("ask_clinic")),
    );
    return;
  }
  const offline = !(error instanceof ApiError);
  show(
    picker,
    h("h1", {}, offline ? t("offline_title") : t("error_title")),
    h("p", {}, offline ? t("offline") : (error as ApiError).problem.detail),
    h("button", { type: "button", class: "primary", onclick: retry }, t("try_again")),
  );
}

/** A sentence next to a field: the API's problem in the patient's words where we know it, its own otherwise. */
export function fieldError(id: string, text: string | null): HTMLElement {
  const el = h("p", { id, class: "field-error", role: "alert" });
  if (text) el.textContent = text;
  else el.hidden = true;
  return el;
}

export function setError(el: HTMLElement | null, text: string | null) {
  if (!el) return;
  el.textContent = text ?? "";
  el.hidden = !text;
}

export function money(amount: string, currency: string): string {
  return new Intl.NumberFormat(lang, { style: "currency", currency }).format(Number(amount));
}

export function when(iso: string, timeZone?: string, opts: Intl.DateTimeFormatOptions = { dateStyle: "full", timeStyle: "short" }): string {
  return new Intl.DateTimeFormat(lang, { ...opts, timeZone }).format(new Date(iso));
}

/** Run a page: pick the language, load, render; a failed load shows the friendly page with a retry. */
export async function start<T>(load: () => Promise<T>, render: (data: T) => void, hint: (data: T) => string | null = () => null) {
  setLang(pickLang());
  try {
    const data = await load();
    setLang(pickLang(hint(data)));
    render(data);
  } catch (error) {
    linkProblem(error, () => void start(load, render, hint));
  }
}
