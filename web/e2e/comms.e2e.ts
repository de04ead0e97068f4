// Conversations, the incoming call card, finance and reports in a real headless Chromium against the real stack
// (started by tests/e2e/test_console_comms.py): a person writes on WhatsApp through the sandbox and the open
// Conversations screen shows it live, the agent replies and the sandbox gets it; a refused reply keeps its text
// with the API's problem at the channel; a call played by the telephony sandbox pops up its card on whatever
// screen is open; a payment paid on the payment sandbox's checkout shows in Finance with its receipt, the
// ledger and a refund; Reports draws its charts and exports CSV and XLSX. axe on every screen.
//
//   CONSOLE_URL=... SANDBOX_URL=... PAYMENTS_SANDBOX_URL=... ADMIN_EMAIL=... ADMIN_PASSWORD=... node --test e2e/comms.e2e.ts
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { submitLogIn } from "./session.ts";

const BASE = process.env.CONSOLE_URL ?? "http://127.0.0.1:8000";
const SANDBOX = process.env.SANDBOX_URL ?? "http://127.0.0.1:8090";
const PAYMENTS_SANDBOX = process.env.PAYMENTS_SANDBOX_URL ?? "http://127.0.0.1:8091";
const EMAIL = process.env.ADMIN_EMAIL ?? "admin@clinicflow.local";
const PASSWORD = process.env.ADMIN_PASSWORD ?? "clinicflow-dev";
const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? "";
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const WHATSAPP_ACCOUNT = "100000000000001"; // the sandbox's WhatsApp phone number id

let browser: Browser;
let page: Page;
let admin: string;
const run = Math.floor(Math.random() * 90_000_000) + 10_000_000;
const phone = (n: number) => `+5511${9}${String(run + n * 7919).slice(-8)}`;
const national = (e164: string) => `(11) ${e164.slice(5, 10)}-${e164.slice(-4)}`;

async function call(url: string, init: RequestInit & { token?: string } = {}) {
  const headers = { "content-type": "application/json", ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) };
  const answer = await fetch(url, { ...init, headers });
  const text = await answer.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // an HTML page (the checkout)
  }
  return { status: answer.status, body: body as any, text }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const api = (path: string, init: RequestInit = {}) => call(`${BASE}${path}`, { ...init, token: admin });

async function ok(path: string, init: RequestInit = {}, status = [200, 201]) {
  const answer = await api(path, init);
  assert.ok(status.includes(answer.status), `${path}: ${answer.status} ${answer.text}`);
  return answer.body;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeout = 30_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
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
  await page.waitForLoadState("networkidle").catch(() => {}); // the streams never go idle
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `console-${name}.png`) });
}

async function whatsapp(sender: string, name: string, text: string) {
  const sent = await call(`${SANDBOX}/sandbox/whatsapp/inbound`, { method: "POST", body: JSON.stringify({ sender, name, text }) });
  assert.equal(sent.body?.status, 200, sent.text);
}

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--lang=pt-BR"],
  });
  const context = await browser.newContext({ locale: "pt-BR", viewport: { width: 1280, height: 860 }, timezoneId: "America/Sao_Paulo", acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const login = await call(`${BASE}/api/v1/auth/login`, { method: "POST", body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });
  assert.equal(login.status, 200, login.text);
  admin = login.body.access_token;
  await ok("/api/v1/notifications/channels/whatsapp", { method: "PUT", body: JSON.stringify({ account_id: WHATSAPP_ACCOUNT }) });
  await page.goto(BASE);
  await submitLogIn(page, EMAIL, PASSWORD);
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Conversas" }).waitFor();
});

after(async () => {
  await browser?.close();
});

test("a WhatsApp message shows live in Conversations and the agent replies; a refused reply keeps its text", async () => {
  const person = phone(1);
  const name = `Helena Duarte ${run}`;
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Conversas" }).click();
  await page.getByRole("heading", { name: /^Conversas/ }).waitFor();
  await page.getByText("Ao vivo", { exact: true }).waitFor(); // the in-app stream is connected
  await whatsapp(person, name, "Oi! Quero marcar uma avaliação");
  // No reload: the stream's `conversation` event brings the new person into the list.
  await page.getByRole("link", { name: new RegExp(name) }).click();
  const chat = page.getByRole("list", { name: "Mensagens" });
  await chat.getByText("Oi! Quero marcar uma avaliação").waitFor();
  await page.getByText(/A janela de 24 horas do WhatsApp está aberta até/).waitFor();
  await whatsapp(person, name, "Pode ser amanhã?"); // live into the open conversation
  await chat.getByText("Pode ser amanhã?").waitFor();
  await page.getByRole("textbox", { name: /Mensagem/ }).fill("Claro! Amanhã às 10h na Moema?");
  await page.getByRole("button", { name: "Enviar", exact: true }).click();
  await chat.locator("[data-direction=out]").getByText("Claro! Amanhã às 10h na Moema?").waitFor();
  assert.equal(await page.getByRole("textbox", { name: /Mensagem/ }).inputValue(), "");
  await until("the reply at the WhatsApp sandbox", async () => {
    const got = await call(`${SANDBOX}/sandbox/whatsapp/messages?to=${encodeURIComponent(person)}`);
    return JSON.stringify(got.body).includes("Amanhã às 10h na Moema") && got;
  });
  await accessible("conversations");
  await shot("conversations");

  // Someone who opted out (PARAR): the API refuses the reply, the problem shows at the channel, the text stays.
  const other = phone(2);
  await whatsapp(other, `Otávio Reis ${run}`, "PARAR");
  await page.getByRole("link", { name: new RegExp(`Otávio Reis ${run}`) }).click();
  await page.getByRole("list", { name: "Mensagens" }).getByText("PARAR").waitFor();
  await page.getByRole("textbox", { name: /Mensagem/ }).fill("Tudo bem, removemos o seu número.");
  await page.getByRole("button", { name: "Enviar", exact: true }).click();
  const channelField = page.locator(".field-error").filter({ has: page.getByLabel("Enviar por") });
  await channelField.getByRole("alert").waitFor();
  assert.match(await channelField.getByRole("alert").innerText(), /opted out/);
  assert.equal(await page.getByRole("textbox", { name: /Mensagem/ }).inputValue(), "Tudo bem, removemos o seu número.");
  await accessible("conversation with a refused reply");
});

test("an approved template is sent by hand outside the 24-hour window: preview, a refusal under the variable, sent once", async () => {
  const person = phone(3);
  const name = `Beatriz Nunes ${run}`;
  const template = `clinic_promo_${run}`;
  await ok(`/api/v1/notifications/templates/${template}/pt-BR?channel=whatsapp`, {
    method: "PUT",
    body: JSON.stringify({ body: "Olá, {{ first_name }}! {{ description }}", wa_template: `promo_${run}` }),
  });
  const lead = await ok("/api/v1/leads", { method: "POST", body: JSON.stringify({ name, phone: person, source: "instagram" }) });
  // The welcome rule opens her conversation (she never wrote: the window is closed).
  await until("her conversation", async () => {
    const found = await api(`/api/v1/notifications/conversations?lead_id=${lead.id}`);
    return found.body?.items?.length && found;
  });
  await page.goto(`${BASE}/#/conversations?lead=${lead.id}`);
  await page.getByRole("link", { name: new RegExp(name) }).click();
  await page.getByText(/Fora da janela de 24 horas do WhatsApp/).first().waitFor();
  const form = page.getByRole("form", { name: "Enviar um modelo" });
  await form.getByRole("option", { name: `${template} (promo_${run})` }).waitFor({ state: "attached" });
  await form.getByLabel("Modelo").selectOption(template);
  const preview = form.getByRole("region", { name: "Prévia" });
  await preview.getByText("Olá, Beatriz! [description]").waitFor();
  await preview.getByText(`como o modelo aprovado “promo_${run}”`, { exact: false }).waitFor();
  // Sent with the variable empty: the API's problem next to it, the choice kept.
  await form.getByRole("button", { name: "Enviar modelo" }).click();
  const variable = form.locator(".field-error").filter({ has: page.getByLabel(/description/) });
  await variable.getByRole("alert").waitFor();
  assert.equal(await form.getByLabel("Modelo").inputValue(), template);
  await accessible("template refused under its variable");
  await form.getByLabel(/description/).fill("Limpeza de pele com 10% de desconto esta semana.");
  await preview.getByText("Olá, Beatriz! Limpeza de pele com 10% de desconto esta semana.").waitFor();
  await shot("conversation-template");
  await form.getByRole("button", { name: "Enviar modelo" }).dblclick(); // a double click sends once
  await form.getByRole("status").waitFor();
  await page.getByRole("list", { name: "Mensagens" }).locator("[data-direction=out]").getByText("Olá, Beatriz! Limpeza de pele com 10% de desconto esta semana.").waitFor();
  const got = await until("the approved template at the WhatsApp sandbox", async () => {
    const items = (await call(`${SANDBOX}/sandbox/whatsapp/messages?to=${encodeURIComponent(person)}`)).body?.items ?? [];
    const mine = items.filter((m: { template?: { name?: string } }) => m.template?.name === `promo_${run}`);
    return mine.length && mine;
  });
  await new Promise((r) => setTimeout(r, 1500)); // a second copy would have been sent by now
  const again = ((await call(`${SANDBOX}/sandbox/whatsapp/messages?to=${encodeURIComponent(person)}`)).body?.items ?? []).filter(
    (m: { template?: { name?: string } }) => m.template?.name === `promo_${run}`,
  );
  assert.equal(again.length, 1, JSON.stringify(again));
  assert.equal(got[0].type, "template");
  assert.deepEqual(got[0].template.params, ["Beatriz"]);
  await accessible("conversation with a template sent");
});

test("an incoming call pops up its card with the contact, and a new caller's card makes a task", async () => {
  const secret = `s${run}`;
  const connected = await ok("/api/v1/telephony/providers/zadarma", { method: "PUT", body: JSON.stringify({ secret }) });
  const clinic = new URL(connected.webhook_url).searchParams.get("clinic");
  const number = `+55113${String(run).slice(-7)}`;
  await ok("/api/v1/telephony/tracking-numbers", { method: "POST", body: JSON.stringify({ number, source: "google_search" }) });
  const known = phone(3);
  const lead = await ok("/api/v1/leads", { method: "POST", body: JSON.stringify({ name: `Rafaela Nunes ${run}`, phone: known, source: "instagram" }) });
  // Telephony learns the clinic's contacts from leads' events: wait until it matches this number.
  const play = (caller: string) =>
    call(`${SANDBOX}/sandbox/telephony/calls`, { method: "POST", body: JSON.stringify({ provider: "zadarma", clinic_id: clinic, secret, caller, tracking_number: number, outcome: "answered" }) });
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Financeiro" }).click(); // any screen
  await page.getByRole("heading", { name: "Financeiro" }).waitFor();
  await page.waitForTimeout(1500); // the card stream connects with the shell
  await until("the known caller's card", async () => {
    const played = await play(known);
    assert.equal(played.status, 200, played.text);
    const card = page.getByRole("dialog", { name: `Chamada recebida: Rafaela Nunes ${run}` });
    try {
      await card.waitFor({ timeout: 3000 });
      return true;
    } catch {
      // telephony did not know the lead yet: a "new caller" card; close it and call again
      for (const c of await page.locator(".call-card").all()) await c.getByRole("button", { name: "Fechar" }).click();
      return false;
    }
  });
  const card = page.getByRole("dialog", { name: `Chamada recebida: Rafaela Nunes ${run}` });
  assert.equal(await card.locator(".call-number").innerText(), national(known));
  await accessible("incoming call card");
  await shot("call");
  await card.getByRole("button", { name: "Abrir contato" }).click();
  // the lead card's own title (the call card, still open, names the caller too)
  await page.getByRole("heading", { level: 1, name: `Rafaela Nunes ${run}` }).waitFor();
  assert.match(page.url(), new RegExp(`#/prospects/${lead.id}$`));
  await card.getByRole("button", { name: "Fechar" }).click();

  const unknown = phone(4);
  const played = await play(unknown);
  assert.equal(played.status, 200, played.text);
  const fresh = page.getByRole("dialog", { name: "Chamada recebida: Novo contato" });
  await fresh.waitFor();
  assert.equal(await fresh.locator(".call-number").innerText(), national(unknown));
  // Leads makes the caller a prospect from call.started; until then the card says so. Press until it is there.
  await until("the task for the new caller", async () => {
    await fresh.getByRole("button", { name: "Criar tarefa" }).click();
    await fresh.getByRole("status").waitFor();
    return (await fresh.getByRole("status").innerText()).startsWith("Tarefa criada");
  });
  await fresh.getByRole("button", { name: "Fechar" }).click();
});

async function paidCharge(name: string, lead: string) {
  const made = await ok("/api/v1/payments/payments", {
    method: "POST",
    body: JSON.stringify({ person: { lead_id: lead, name, phone: phone(5) }, description: "Limpeza de pele", amount: "350.00", methods: ["pix", "credit"] }),
  });
  // The payment sandbox's hosted checkout, as a person pays: open the link, pick PIX, pay.
  const checkout = await fetch(made.url);
  const html = await checkout.text();
  const pref = /name="pref_id" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(pref, html.slice(0, 500));
  const base = checkout.url.split("/checkout/")[0];
  const form = (method: string) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ pref_id: pref!, method }) });
  assert.equal((await fetch(`${base}/checkout/v1/method`, form("pix"))).status, 200);
  assert.equal((await fetch(`${base}/checkout/v1/pay`, form("pix"))).status, 200);
  await until("the charge paid", async () => (await api(`/api/v1/payments/payments/${made.id}`)).body.status === "paid");
  return made;
}

test("a paid charge shows in Finance: the receipt opens as a PDF, the ledger, a refund (a refused one first)", async () => {
  const name = `Marina Couto ${run}`;
  const lead = await ok("/api/v1/leads", { method: "POST", body: JSON.stringify({ name, phone: phone(5), source: "instagram" }) });
  const made = await paidCharge(name, lead.id);
  assert.ok(PAYMENTS_SANDBOX);
  await page.goto(`${BASE}/#/finance`);
  await page.reload(); // the list is read when the screen opens
  await page.getByRole("heading", { name: "Financeiro" }).waitFor();
  const row = page.locator(`tr[data-payment="${made.id}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /R\$\s350,00/);
  await row.getByText("Paga").waitFor();
  await page.locator("[data-stat=total]").waitFor();
  await accessible("finance");
  await shot("finance");

  const popup = page.waitForEvent("popup");
  await row.getByRole("button", { name: `Recibo (PDF): ${name}` }).click();
  const tab = await popup;
  await until("the receipt in its tab", async () => tab.url().startsWith("blob:"));
  await tab.close();

  await row.getByRole("button", { name: `Extrato: ${name}` }).click();
  const ledger = page.getByRole("dialog", { name: `Extrato: ${name}` });
  await ledger.getByText("Débito em aberto").waitFor();
  await ledger.getByRole("cell", { name: "Pagamento" }).first().waitFor();
  await accessible("ledger");
  await ledger.getByRole("button", { name: "Fechar" }).click();

  await row.getByRole("button", { name: `Estornar: ${name}` }).click();
  const refund = page.getByRole("dialog", { name: `Estornar: ${name}` });
  await refund.getByLabel("Valor a estornar").fill("999,00");
  await refund.getByLabel("Motivo").fill("Desistiu do pacote");
  await refund.getByRole("button", { name: "Estornar" }).click();
  const amountField = refund.locator(".field-error").filter({ has: page.getByLabel("Valor a estornar") });
  await amountField.getByRole("alert").waitFor();
  assert.equal(await refund.getByLabel("Motivo").inputValue(), "Desistiu do pacote");
  await accessible("refund dialog");
  await refund.getByLabel("Valor a estornar").fill("100,00");
  await refund.getByRole("button", { name: "Estornar" }).click();
  await refund.waitFor({ state: "detached" });
  await row.getByText("Estornada em parte").waitFor();
});

test("Reports draws the funnel and the charts and exports CSV and XLSX", async () => {
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Relatórios" }).click();
  await page.getByRole("heading", { name: "Relatórios" }).waitFor();
  const funnel = page.getByRole("img", { name: /^Funil de conversão: Leads \d/ });
  await funnel.waitFor();
  assert.equal(await funnel.locator("rect").count(), 5);
  await page.getByRole("img", { name: /^Receita · Canal/ }).or(page.getByRole("region", { name: "Receita" }).getByText("Nada neste período.")).first().waitFor();
  await page.getByLabel("Por", { exact: true }).selectOption("source");
  // The payment of the finance test reaches analytics through the broker: its source shows with its revenue.
  await until("instagram's revenue in the report", async () => {
    const label = await page.getByRole("img", { name: /^Receita · Origem/ }).getAttribute("aria-label", { timeout: 2000 }).catch(() => null);
    if (label?.includes("instagram")) return true;
    await page.getByLabel("Por", { exact: true }).selectOption("channel");
    await page.getByLabel("Por", { exact: true }).selectOption("source");
    return false;
  });
  // The reply assistant's use: per staff member (the admin's own requests, if any), then per model.
  const aiCard = page.getByRole("region", { name: "Assistente de respostas (IA)" });
  await aiCard.getByRole("img", { name: /^Assistente de respostas \(IA\) · Atendente/ }).or(aiCard.getByText("Nada neste período.")).first().waitFor();
  await page.getByLabel("Por (Assistente de respostas (IA))").selectOption("model");
  await aiCard.getByRole("img", { name: /^Assistente de respostas \(IA\) · Modelo/ }).or(aiCard.getByText("Nada neste período.")).first().waitFor();
  await accessible("reports");
  await shot("reports");
  for (const [button, ending] of [["Exportar CSV: Receita", ".csv"], ["Exportar XLSX: Funil de conversão", ".xlsx"], ["Exportar CSV: Assistente de respostas (IA)", ".csv"]] as const) {
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: button }).click();
    const file = await download;
    assert.ok(file.suggestedFilename().endsWith(ending), file.suggestedFilename());
  }
  // A period that ends before it starts: the API's problem next to "Até".
  await page.getByLabel("De", { exact: true }).fill("2026-05-10");
  await page.getByLabel("Até", { exact: true }).fill("2026-05-01");
  const toField = page.locator(".field-error").filter({ has: page.getByLabel("Até", { exact: true }) });
  await toField.getByRole("alert").waitFor();
});
