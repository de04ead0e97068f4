// What the browser tests share (web/e2e/*.e2e.ts): the gateway's address and the admin's log-in, calls to the
// API with a token, logging in through the console's own form (in a fresh browser context when asked), and
// axe-core on the page as it is. Not a test file itself (node --test runs only the *.e2e.ts named to it).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";

export const BASE = process.env.CONSOLE_URL ?? "http://127.0.0.1:8000";
export const EMAIL = process.env.ADMIN_EMAIL ?? "admin@clinicflow.local";
export const PASSWORD = process.env.ADMIN_PASSWORD ?? "clinicflow-dev";
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

/** A call to the gateway, as JSON, with a staff member's token if given. */
export async function api(path: string, init: RequestInit & { token?: string } = {}): Promise<Answer> {
  const headers = { "content-type": "application/json", ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) };
  const answer = await fetch(path.startsWith("http") ? path : `${BASE}${path}`, { ...init, headers });
  const text = await answer.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (a page): the text as it is
  }
  return { status: answer.status, body, text };
}

/** A staff member's access token through the API's log-in. */
export async function token(email: string, password: string): Promise<string> {
  const login = await api("/api/v1/auth/login", { method: "POST", body: JSON.stringify({ email, password }) });
  assert.equal(login.status, 200, login.text);
  return login.body.access_token as string;
}

/** Fills the console's log-in form (in Portuguese, the browser's language) and sends it. */
export async function submitLogIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Senha").fill(password);
  await page.getByRole("button", { name: "Entrar" }).click();
}

/** A fresh context (pt-BR, São Paulo), the console opened and logged in: the main menu is shown. */
export async function logIn(browser: Browser, email: string, password: string, viewport = { width: 1360, height: 860 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: "pt-BR", viewport, timezoneId: "America/Sao_Paulo" });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000); // the test machine is shared by several test runs at once
  await page.goto(BASE);
  await submitLogIn(page, email, password);
  await page.getByRole("navigation", { name: "Menu principal" }).waitFor();
  return { context, page };
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function accessible(page: Page, screen: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ["violations"] });
  });
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `axe on ${screen}`,
  );
}
