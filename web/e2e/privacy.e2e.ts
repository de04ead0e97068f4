// The privacy screens (issue 19 in the console) in a real headless Chromium against the real stack (started by
// tests/e2e/test_console_privacy.py): a sales agent opens a prospect's card (the read goes to the audit with
// the screen's purpose) and records the person's consent and its withdrawal; the agent has no Privacy screen.
// The privacy officer finds the read in the read audit, sees the person's consent ledger on the card, opens an
// export request (a malformed phone first: the problem under the phone, everything typed kept), follows each
// service's progress until the archive is ready and downloads it through its single-use link; sets a retention
// rule (a refused number first). The screens in Spanish, Russian and English. axe on every screen.
//
//   CONSOLE_URL=http://127.0.0.1:8000 ADMIN_EMAIL=... ADMIN_PASSWORD=... node --test e2e/privacy.e2e.ts
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { accessible as axeOn, api, BASE, EMAIL, logIn as openAs, PASSWORD, token } from "./session.ts";

const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? "";

let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: string;
const run = Math.floor(Math.random() * 90_000_000) + 10_000_000;
const phone = (n: number) => `+5511${9}${String(run + n).slice(-8)}`;

async function member(role: string, name: string): Promise<{ id: string; email: string; password: string; token: string }> {
  const email = `${role}-${run}@clinic.example`;
  const password = "a-long-password";
  const made = await api("/api/v1/staff", { method: "POST", token: admin, body: JSON.stringify({ email, full_name: name, password, roles: [role] }) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return { id: made.body.id as string, email, password, token: await token(email, password) };
}

async function eventually<T>(probe: () => Promise<T | null | undefined | false>, what: string, seconds = 60): Promise<T> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`${what} (waited ${seconds} s)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const accessible = (screen: string) => axeOn(page, screen);

async function shot(name: string) {
  if (!SHOTS) return;
  // the live streams (call cards) keep a request open: idle enough after a moment
  await page.waitForLoadState("networkidle", { timeout: 3000 }).catch(() => {});
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: true });
}

async function logIn(email: string, password: string) {
  await context?.close();
  ({ context, page } = await openAs(browser, email, password));
}

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--lang=pt-BR"],
  });
  admin = await token(EMAIL, PASSWORD);
});

after(async () => {
  await browser?.close();
});

test("an agent's read is audited with its purpose; consent on the card; the officer's requests, audit and retention", async () => {
  const agent = await member("sales_agent", "Sara Vendas");
  const officer = await member("privacy_officer", "Paulo Encarregado");
  const name = `Lívia Prado ${run}`;
  const personPhone = phone(1);
  const made = await api("/api/v1/leads", { method: "POST", token: admin, body: JSON.stringify({ name, phone: personPhone, source: "instagram" }) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const leadId = made.body.id as string;

  // --- the agent: the card (an audited read), consent given and withdrawn; no Privacy screen -------------------
  await logIn(agent.email, agent.password);
  const agentMenu = await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link").allTextContents();
  assert.ok(!agentMenu.includes("Privacidade"), agentMenu.join(", "));
  await page.goto(`${BASE}/#/prospects/${leadId}`);
  await page.getByRole("heading", { level: 1, name }).waitFor();
  const consent = page.getByRole("region", { name: "Consentimento" });
  await consent.getByText("Nada registrado").waitFor();
  await consent.getByLabel("Finalidade").selectOption("marketing");
  await consent.getByLabel("Canal").selectOption("whatsapp");
  await consent.getByLabel("O texto que a pessoa aceitou").fill("Aceito receber novidades pelo WhatsApp.");
  await consent.getByRole("button", { name: "Registrar consentimento" }).click();
  await consent.locator('tr[data-consent="marketing:whatsapp"][data-granted=true]').first().waitFor();
  await consent.getByRole("button", { name: "Registrar retirada" }).click();
  await consent.locator('tr[data-consent="marketing:whatsapp"][data-granted=false]').first().waitFor();
  await accessible("lead card with consent");
  await page.goto(`${BASE}/#/privacy/requests`);
  await page.getByRole("heading", { level: 1, name: "Privacidade e dados pessoais" }).waitFor({ state: "detached", timeout: 2000 }).catch(() => {});
  assert.equal(await page.getByRole("heading", { level: 1, name: "Privacidade e dados pessoais" }).count(), 0, "no privacy screen for an agent");

  // --- the privacy officer ---------------------------------------------------------------------------------------
  await logIn(officer.email, officer.password);
  const nav = page.getByRole("navigation", { name: "Menu principal" });
  await nav.getByRole("link", { name: "Privacidade" }).click();
  await page.getByRole("heading", { level: 1, name: "Privacidade e dados pessoais" }).waitFor();
  // the read audit: the agent's opening of the card, with the screen's purpose
  await page.getByRole("navigation", { name: "Seções de privacidade" }).getByRole("link", { name: "Auditoria de acessos" }).click();
  const search = page.getByRole("search", { name: "Auditoria de acessos" });
  await search.getByLabel("Id do registro").fill(leadId);
  await search.getByLabel("Membro da equipe").fill(agent.id);
  await eventually(async () => {
    await search.getByRole("button", { name: "Buscar" }).click();
    await page.waitForFunction(() => !document.querySelector(".table-wrap[aria-busy=true]"));
    return (await page.locator(`tr[data-read="${leadId}"][data-purpose=sales]`).count()) > 0;
  }, "the agent's read never reached the audit");
  await page.locator(`tr[data-read="${leadId}"]`).first().getByText("Vendas e acompanhamento").waitFor();
  await page.locator(`tr[data-read="${leadId}"]`).first().getByText("Sara Vendas").waitFor();
  await accessible("read audit");
  await shot("privacy-audit");

  // the consent ledger of the person, on the card (read only for the officer)
  await page.goto(`${BASE}/#/prospects/${leadId}`);
  const ledger = page.getByRole("region", { name: "Consentimento" });
  await ledger.locator('tr[data-consent="marketing:whatsapp"][data-granted=false]').first().waitFor();
  await ledger.getByText("Histórico (a prova) (2)").click();
  await ledger.getByText("Aceito receber novidades pelo WhatsApp.").first().waitFor();
  assert.equal(await ledger.getByRole("button", { name: "Registrar consentimento" }).count(), 0, "the officer only reads consent");
  await accessible("consent ledger on the card");
  await ledger.scrollIntoViewIfNeeded();
  await shot("lead-consent");

  // an export request: a malformed phone first, then the person's phone
  await page.goto(`${BASE}/#/privacy/requests`);
  const form = page.getByRole("form", { name: "Abrir uma solicitação" });
  await form.getByLabel("Tipo").selectOption("export");
  await form.getByLabel("Telefone").fill("11 9");
  await form.getByLabel("Detalhes (o que a pessoa pediu)").fill("Pediu uma cópia por e-mail.");
  await form.getByRole("button", { name: "Abrir a solicitação" }).click();
  await form.locator(".field-error").getByText("E.164").waitFor();
  assert.equal(await form.getByLabel("Detalhes (o que a pessoa pediu)").inputValue(), "Pediu uma cópia por e-mail.");
  await accessible("new request refused");
  await form.getByLabel("Telefone").fill(personPhone);
  // privacy learns the lead from its event a moment after it was created: until then the API answers 404
  await eventually(async () => {
    await form.getByRole("button", { name: "Abrir a solicitação" }).click();
    await page.waitForTimeout(700);
    return new URL(page.url()).hash.startsWith("#/privacy/requests/");
  }, "privacy never learnt of the person");
  const detail = page.locator("article[data-request]");
  await detail.getByRole("heading", { name: /Solicitação de Exportação/ }).waitFor();
  await detail.getByText("Andamento por serviço").waitFor();
  await accessible("request in progress");
  await page.locator("article[data-status=completed]").waitFor({ timeout: 90_000 });
  for (const service of ["leads", "scheduling", "payments", "notifications"]) {
    assert.equal(await detail.locator(`tr[data-service=${service}]`).getAttribute("data-part"), "ready", service);
  }
  await detail.locator("tr[data-service=leads]").getByText("leads: 1").waitFor();
  await detail.getByRole("button", { name: "Gerar o link de download" }).click();
  const link = detail.locator("a[data-export-link]");
  await link.waitFor();
  await accessible("request completed");
  await shot("privacy-request");
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 2).toString(), "PK", "the archive is a zip");
  assert.ok(zip.includes(Buffer.from("leads.json")), "with the leads service's part");
  // single use: the same link again is gone
  const again = await fetch(new URL((await link.getAttribute("href"))!, BASE));
  assert.equal(again.status, 410);

  // the list of requests
  await page.getByRole("link", { name: "Todas as solicitações" }).click();
  await page.locator(`tr[data-request="${new URL(page.url()).hash.split("/").pop()}"]`).waitFor().catch(() => {});
  await page.getByRole("table").getByText("Concluída").first().waitFor();
  await accessible("requests");
  await shot("privacy-requests");

  // retention: a refused number stays typed, then a good one is saved
  await page.getByRole("navigation", { name: "Seções de privacidade" }).getByRole("link", { name: "Retenção" }).click();
  const rule = page.getByRole("form", { name: "Auditoria de acessos" });
  await rule.getByLabel("Manter por (dias)").fill("0");
  await rule.getByRole("button", { name: "Salvar" }).click();
  await rule.locator(".field-error").waitFor();
  assert.equal(await rule.getByLabel("Manter por (dias)").inputValue(), "0");
  await rule.getByLabel("Manter por (dias)").fill("730");
  await rule.getByRole("button", { name: "Salvar" }).click();
  await rule.getByText("Salvo.").waitFor();
  const rules = await api("/api/v1/privacy/retention", { token: officer.token });
  assert.equal(rules.body.items.find((r: { kind: string }) => r.kind === "read_audit")?.days, 730);
  await accessible("retention");
  await shot("privacy-retention");

  // the clinic's ledger, and the screens in the other languages
  await page.getByRole("navigation", { name: "Seções de privacidade" }).getByRole("link", { name: "Registro de consentimentos" }).click();
  await page.locator('tr[data-consent="marketing:whatsapp"]').first().waitFor();
  await accessible("consent ledger");
  for (const [locale, title, tab] of [
    ["es", "Privacidad y datos personales", "Auditoría de accesos"],
    ["ru", "Персональные данные", "Журнал просмотров"],
    ["en", "Privacy and personal data", "Read audit"],
  ] as const) {
    await page.getByRole("combobox", { name: /Idioma|Язык|Language/ }).selectOption(locale);
    await page.getByRole("heading", { level: 1, name: title }).waitFor();
    await page.getByRole("link", { name: tab }).waitFor();
    await accessible(`privacy in ${locale}`);
  }
  await page.getByRole("combobox", { name: "Language" }).selectOption("pt-BR");
});
