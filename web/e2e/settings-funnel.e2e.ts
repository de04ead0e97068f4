// The funnel's Settings sections in a real headless Chromium against the real stack (started by
// tests/e2e/test_console_settings_funnel.py, which opens a fresh clinic with a branch, two procedures, a
// treatment and a sales agent): the admin switches the pre-qualification assistant on (refused without a region:
// the problem next to the switch, everything kept), adds the region, writes a text with a variable it may not use
// (refused next to that text, kept), fixes it and sees it in the preview, saves, and reads it all back through
// the API and after a reload; then ticks the treatment that opens a valuation and the agent of prospects with no
// owner, saves, and reads them back. axe finds no serious violation on either section.
//
//   CONSOLE_URL=http://127.0.0.1:8000 SETTINGS_EMAIL=... SETTINGS_PASSWORD=... BRANCH_ID=... BRANCH_NAME=... \
//     PROCEDURE_ID=... TREATMENT=... AGENT_ID=... node --test e2e/settings-funnel.e2e.ts
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { submitLogIn } from "./session.ts";
import { SETTINGS_DICTIONARIES } from "../src/i18n-settings.ts";
import { SETTINGS_FUNNEL_DICTIONARIES } from "../src/i18n-settings-funnel.ts";

const BASE = process.env.CONSOLE_URL ?? "http://127.0.0.1:8000";
const EMAIL = process.env.SETTINGS_EMAIL ?? "admin@clinicflow.local";
const PASSWORD = process.env.SETTINGS_PASSWORD ?? "clinicflow-dev";
const BRANCH_ID = process.env.BRANCH_ID ?? "";
const BRANCH_NAME = process.env.BRANCH_NAME ?? "";
const PROCEDURE_ID = process.env.PROCEDURE_ID ?? "";
const TREATMENT = process.env.TREATMENT ?? "";
const AGENT_ID = process.env.AGENT_ID ?? "";
const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? "";
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const S = SETTINGS_DICTIONARIES["pt-BR"];
const SF = SETTINGS_FUNNEL_DICTIONARIES["pt-BR"];
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);

let browser: Browser;
let page: Page;
let token = "";

async function api(path: string, init: RequestInit = {}) {
  const headers = { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const answer = await fetch(`${BASE}${path}`, { ...init, headers });
  const text = await answer.text();
  return { status: answer.status, body: text ? JSON.parse(text) : null, text };
}

async function accessible(screen: string) {
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

async function shot(name: string) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `console-settings-${name}.png`), fullPage: false });
}

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--lang=pt-BR"],
  });
  const context = await browser.newContext({ locale: "pt-BR", viewport: { width: 1280, height: 900 }, timezoneId: "America/Sao_Paulo" });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const login = await api("/api/v1/auth/login", { method: "POST", body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });
  assert.equal(login.status, 200, login.text);
  token = login.body.access_token;
});

after(async () => {
  await browser?.close();
});

test("the admin switches the assistant on with its procedure, region and a text of the clinic's; refusals next to their fields", async () => {
  await page.goto(BASE);
  await submitLogIn(page, EMAIL, PASSWORD);
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: S["nav.settings"] }).click();
  await page.getByRole("navigation", { name: S.sections }).getByRole("link", { name: S["section.assistant"] }).click();
  const form = page.getByRole("form", { name: SF["asst.title"] });
  await form.waitFor();
  await form.getByLabel(SF["asst.enabled"]).check();
  await form.getByRole("button", { name: `+ ${SF["asst.add"]}: ${SF["asst.procedure"]}` }).click();
  const proc = form.getByRole("group", { name: SF["asst.procedureN"].replace("{n}", "1") });
  await proc.getByLabel(SF["asst.procedure"], { exact: true }).selectOption(PROCEDURE_ID);
  assert.equal(await proc.getByLabel(exactly(SF["asst.optionTitle"])).inputValue(), "Toxina botulínica");
  await proc.getByLabel(exactly(SF["asst.amount"])).fill("200");
  // No region yet: the service refuses to switch on, the problem next to the switch, everything kept.
  await form.getByRole("button", { name: S.save, exact: true }).click();
  const enabledError = form.locator(".field-check.field-error").getByRole("alert");
  await enabledError.waitFor();
  assert.match((await enabledError.textContent()) ?? "", /regions/);
  assert.equal(await form.getByLabel(SF["asst.enabled"]).isChecked(), true);
  assert.equal(await proc.getByLabel(exactly(SF["asst.amount"])).inputValue(), "200");

  await form.getByRole("button", { name: `+ ${SF["asst.add"]}: ${SF["asst.region"]}` }).click();
  const region = form.getByRole("group", { name: SF["asst.regionN"].replace("{n}", "1") });
  assert.equal(await region.getByLabel(SF["asst.region"], { exact: true }).inputValue(), BRANCH_ID);
  assert.equal(await region.getByLabel(exactly(SF["asst.optionTitle"])).inputValue(), BRANCH_NAME.slice(0, 24));
  // A text with a variable it may not use: refused next to that text, the text kept.
  const askCpf = form.getByLabel(SF["msg.ask_cpf"], { exact: true });
  await askCpf.fill("Oi {first_name}, qual o seu {cpf}?");
  await form.getByRole("button", { name: S.save, exact: true }).click();
  const textError = form.locator(".field-error", { has: page.getByLabel(SF["msg.ask_cpf"], { exact: true }) }).getByRole("alert");
  await textError.waitFor();
  assert.match((await textError.textContent()) ?? "", /\{cpf\}/);
  assert.equal(await askCpf.inputValue(), "Oi {first_name}, qual o seu {cpf}?");
  await accessible("settings assistant with a problem");
  // Fixed, and shown in the preview as the patient reads it, before saving.
  await askCpf.fill("Prazer, {first_name}! Qual é o seu CPF?");
  const preview = form.getByRole("region", { name: SF["asst.preview"] });
  await preview.getByText("Prazer, Maria! Qual é o seu CPF?").waitFor();
  await preview.getByText(`${SF["asst.previewChoices"]}: Toxina botulínica`).waitFor();
  await shot("assistant");
  await form.getByRole("button", { name: S.save, exact: true }).click();
  await form.getByRole("status").filter({ hasText: S.saved }).waitFor();

  const saved = await api("/api/v1/funnel/assistant/settings");
  assert.equal(saved.status, 200, saved.text);
  assert.equal(saved.body.enabled, true);
  assert.deepEqual(saved.body.procedures, [{ id: PROCEDURE_ID, title: "Toxina botulínica", amount: "200.00" }]);
  assert.deepEqual(saved.body.regions, [{ id: BRANCH_ID, title: BRANCH_NAME.slice(0, 24), amount: null }]);
  assert.deepEqual(saved.body.messages, { "pt-BR": { ask_cpf: "Prazer, {first_name}! Qual é o seu CPF?" } });
  // After a reload the section reads what was saved.
  await page.reload();
  const again = page.getByRole("form", { name: SF["asst.title"] });
  await again.waitFor();
  assert.equal(await again.getByLabel(SF["msg.ask_cpf"], { exact: true }).inputValue(), "Prazer, {first_name}! Qual é o seu CPF?");
  assert.equal(await again.getByLabel(SF["asst.enabled"]).isChecked(), true);
  await accessible("settings assistant");
});

test("the admin ticks the treatment that opens a valuation and the agent of prospects with no owner", async () => {
  await page.getByRole("navigation", { name: S.sections }).getByRole("link", { name: S["section.valuation"] }).click();
  const form = page.getByRole("form", { name: SF["val.title"] });
  await form.waitFor();
  await form.getByRole("group", { name: SF["val.treatments"] }).getByLabel("Transplante capilar").check();
  await form.getByLabel(SF["val.agent"]).selectOption(AGENT_ID);
  await accessible("settings valuations");
  await shot("valuation");
  await form.getByRole("button", { name: S.save, exact: true }).click();
  await form.getByRole("status").filter({ hasText: S.saved }).waitFor();
  const saved = await api("/api/v1/funnel/valuation-settings");
  assert.equal(saved.status, 200, saved.text);
  assert.deepEqual([saved.body.treatments, saved.body.agent_id], [[TREATMENT], AGENT_ID]);
});
