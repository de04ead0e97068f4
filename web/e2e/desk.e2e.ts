// The desk screens in a real headless Chromium against the real stack (started by
// tests/e2e/test_console_desk.py): a manager opens the dashboard's new-leads pop-up and clicks through to the
// lead; a sales agent drags a deal to another stage of the pipelines board, with a reason, and opens its card;
// reception books (the procedures those of the professional's specialties), reschedules by dragging and from the
// dialog, and cancels from the agenda and sees the visits to confirm. axe finds no serious
// violation on any screen or dialog.
//
//   CONSOLE_URL=http://127.0.0.1:8000 ADMIN_EMAIL=... ADMIN_PASSWORD=... node --test e2e/desk.e2e.ts
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
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

let members = 0;
async function member(role: string, name: string): Promise<{ email: string; password: string; token: string }> {
  const email = `${role}-${run}-${++members}@clinic.example`;
  const password = "a-long-password";
  const made = await api("/api/v1/staff", { method: "POST", token: admin, body: JSON.stringify({ email, full_name: name, password, roles: [role] }) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return { email, password, token: await token(email, password) };
}

/** Polls until `probe` gives something (the projections follow the broker, so a moment after the write). */
async function eventually<T>(probe: () => Promise<T | null | undefined | false>, what: string, seconds = 45): Promise<T> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`${what} (waited ${seconds} s)`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const accessible = (screen: string) => axeOn(page, screen);

async function shot(name: string) {
  if (!SHOTS) return;
  // the live streams (call cards) keep a request open: idle enough after a moment
  await page.waitForLoadState("networkidle", { timeout: 3000 }).catch(() => {});
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `console-${name}.png`) });
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

test("a manager opens the dashboard's new-leads pop-up and clicks through to the lead", async () => {
  const manager = await member("manager", "Marta Gerente");
  const name = `Helena Duarte ${run}`;
  const made = await api("/api/v1/leads", { method: "POST", token: admin, body: JSON.stringify({ name, phone: phone(1), source: "instagram" }) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const leadId = made.body.id as string;
  // The analytics service learns of the lead from its event: wait until its panel lists it.
  await eventually(async () => {
    const panel = await api("/api/v1/analytics/dashboard/new_leads?limit=10", { token: manager.token });
    return panel.status === 200 && panel.body.items.some((i: { lead_id: string }) => i.lead_id === leadId);
  }, "the new lead never reached the dashboard");

  await logIn(manager.email, manager.password);
  const nav = page.getByRole("navigation", { name: "Menu principal" });
  assert.deepEqual(await nav.getByRole("link").allTextContents(), ["Prospects", "Atividades", "Recepção", "Painel", "Funis", "Avaliações", "Assistente", "Agenda", "Conversas", "Financeiro", "Relatórios"]);
  await nav.getByRole("link", { name: "Painel" }).click();
  await page.getByRole("heading", { level: 1, name: "Painel" }).waitFor();
  await page.getByText("A clínica inteira").waitFor();
  const panel = page.locator("button[data-panel=new_leads]");
  await page.waitForFunction(() => Number(document.querySelector("button[data-panel=new_leads] .dash-count")?.textContent) >= 1);
  await accessible("dashboard");
  await shot("dashboard");
  await panel.click();
  const dialog = page.getByRole("dialog", { name: "Novos leads" });
  await dialog.getByText("Os 10 mais recentes").waitFor();
  const link = dialog.getByRole("link", { name });
  await link.waitFor();
  assert.ok((await dialog.getByRole("link").count()) <= 10, "at most the 10 newest");
  await accessible("dashboard pop-up");
  await shot("dashboard-new-leads");
  await link.click();
  await page.getByRole("heading", { name }).waitFor();
  assert.equal(new URL(page.url()).hash, `#/prospects/${leadId}`);
  await dialog.waitFor({ state: "detached" });
  // Every other panel opens its pop-up too.
  await page.goto(`${BASE}/#/dashboard`);
  for (const other of ["follow_ups_today", "unconfirmed_tomorrow", "patients_waiting", "overdue_tasks", "payments_today"]) {
    await page.locator(`button[data-panel=${other}]`).click();
    const popup = page.getByRole("dialog");
    await popup.waitFor();
    await page.waitForFunction(() => !document.querySelector("dialog [role=status]"));
    await popup.getByRole("button", { name: "Fechar" }).click();
    await popup.waitFor({ state: "detached" });
  }
});

test("an agent drags a deal to another stage with a reason and opens its card", async () => {
  const agent = await member("sales_agent", "Ana Agente");
  const name = `Bruno Teixeira ${run}`;
  const made = await api("/api/v1/leads", { method: "POST", token: agent.token, body: JSON.stringify({ name, phone: phone(2), source: "whatsapp" }) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const pipelines = await api("/api/v1/funnel/pipelines", { token: agent.token });
  assert.equal(pipelines.status, 200, JSON.stringify(pipelines.body));
  const requests = pipelines.body.items.find((p: { kind: string }) => p.kind === "requests");
  // The funnel opens the deal from lead.created.
  const deal = await eventually(async () => {
    const board = await api(`/api/v1/funnel/pipelines/${requests.id}/board?per_stage=200`, { token: agent.token });
    const deals = board.status === 200 ? board.body.columns.flatMap((c: { deals: { id: string; lead_id: string }[] }) => c.deals) : [];
    return deals.find((d: { lead_id: string }) => d.lead_id === made.body.id);
  }, "the funnel never opened the deal");

  await logIn(agent.email, agent.password);
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Funis" }).click();
  await page.getByRole("heading", { level: 1, name: "Funis" }).waitFor();
  await page.getByLabel("Funil").selectOption(requests.id);
  await page.getByText("Modo manual: arraste um negócio para outra etapa").waitFor();
  const tile = page.locator(`[data-stage=new] article[data-deal="${deal.id}"]`);
  await tile.waitFor();
  const contacted = page.locator("section[data-stage=contacted]");
  const before = Number(await contacted.locator(".kanban-count").getAttribute("data-count"));
  await accessible("pipelines board");
  await shot("pipelines");
  await tile.dragTo(contacted);
  const dialog = page.getByRole("dialog", { name: `Mover “${name}”` });
  await dialog.waitFor();
  assert.equal(await dialog.getByLabel("Para a etapa").inputValue(), "contacted");
  await accessible("move dialog");
  // No reason: the API's problem is shown next to the reason, the dialog stays.
  await dialog.getByRole("button", { name: "Mover" }).click();
  await dialog.locator(".field-error").getByRole("alert").waitFor();
  await dialog.getByLabel(/Motivo/).fill("Respondeu no WhatsApp, quer avaliação");
  await dialog.getByRole("button", { name: "Mover" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.locator(`[data-stage=contacted] article[data-deal="${deal.id}"]`).waitFor();
  await page.waitForFunction((n) => Number(document.querySelector("section[data-stage=contacted] .kanban-count")?.getAttribute("data-count")) > n, before);
  const card = await api(`/api/v1/funnel/deals/${deal.id}`, { token: agent.token });
  assert.equal(card.body.deal.stage_key, "contacted");

  // The deal card: the move's reason is in the feed; a task turns its light green.
  await page.locator(`article[data-deal="${deal.id}"]`).getByRole("button", { name, exact: true }).click();
  const cardDialog = page.getByRole("dialog", { name });
  await cardDialog.getByText(/Respondeu no WhatsApp/).first().waitFor();
  await cardDialog.getByText("Sem tarefas: os dois indicadores estão em zero, crie uma.").waitFor();
  const form = cardDialog.getByRole("form", { name: "Nova tarefa" });
  await form.getByLabel(/^Tarefa/).fill("Ligar para agendar a avaliação");
  const due = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  await form.getByLabel(/Prazo/).fill(`${due}T10:00`);
  await form.getByRole("button", { name: "Adicionar" }).click();
  await cardDialog.locator(".task-open strong", { hasText: "Ligar para agendar a avaliação" }).waitFor();
  await accessible("deal card");
  await shot("deal");
  await cardDialog.getByRole("button", { name: "Fechar" }).click();
  await page.locator(`article[data-deal="${deal.id}"] [data-light=green]`).waitFor();
});

test("reception books, reschedules and cancels from the agenda; the visits to confirm", async () => {
  const reception = await member("reception", "Rita Recepção");
  const post = async (path: string, body: unknown) => {
    const made = await api(`/api/v1/scheduling/${path}`, { method: "POST", token: admin, body: JSON.stringify(body) });
    assert.equal(made.status, 201, `${path}: ${JSON.stringify(made.body)}`);
    return made.body.id as string;
  };
  const branchName = `Pinheiros ${run}`;
  const branch = await post("branches", { name: branchName, address: "R. dos Pinheiros 100", timezone: "America/Sao_Paulo", open_on_holidays: true });
  const everyDay = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "08:00", end: "20:00", branch_id: branch }));
  const professional = await post("professionals", { name: "Dr. Otávio Reis", kind: "doctor", specialties: ["aesthetics"], branch_ids: [branch], hours: everyDay });
  const procedure = await post("procedures", { name: "Limpeza de pele", duration_minutes: 30, specialty: "aesthetics", price_reference: "200.00", prepayment_required: false, branch_ids: [branch] });
  // A procedure of a specialty the professional lacks: not offered when booking him.
  const other = `Clareamento ${run}`;
  await post("procedures", { name: other, duration_minutes: 30, specialty: "dentistry", price_reference: "300.00", prepayment_required: false, branch_ids: [branch] });
  // Tomorrow in São Paulo: one visit booked by the API, unconfirmed, for the confirmation calls.
  const tomorrow = new Intl.DateTimeFormat("en-CA", { timeZone: "America/Sao_Paulo" }).format(new Date(Date.now() + 86_400_000));
  const visitor = `Carla Nunes ${run}`;
  const booked = await api("/api/v1/scheduling/appointments", {
    method: "POST",
    token: admin,
    body: JSON.stringify({ branch_id: branch, procedure_id: procedure, professional_id: professional, starts_at: `${tomorrow}T15:00:00-03:00`, person: { name: visitor, phone: phone(3) } }),
  });
  assert.equal(booked.status, 201, JSON.stringify(booked.body));

  await logIn(reception.email, reception.password);
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Agenda" }).click();
  await page.getByRole("heading", { level: 1, name: "Agenda" }).waitFor();
  await page.getByLabel("Unidade").selectOption({ label: branchName });
  await page.getByLabel("Data", { exact: true }).fill(tomorrow);
  await page.locator(`[data-appointment="${booked.body.id}"]`).getByText(visitor).waitFor();

  // The day's time grid: the professional as the column, the booked visit at 15:00; book by clicking the free
  // 10:00 (first moved to a time outside the professional's hours: the API's problem next to it).
  const grid = page.locator("table.agenda-grid");
  assert.deepEqual(await grid.locator("thead th[data-column]").allTextContents(), ["Dr. Otávio Reis"]);
  await grid.locator(`td[data-time="15:00"] [data-appointment="${booked.body.id}"]`).waitFor();
  const shown = tomorrow.split("-").reverse().join("/");
  await accessible("agenda day grid");
  const patient = `Marina Costa ${run}`;
  await page.getByRole("button", { name: `Agendar Dr. Otávio Reis, ${shown} 10:00` }).click();
  const dialog = page.getByRole("dialog", { name: "Agendar consulta" });
  assert.equal(await dialog.getByLabel(/Início/).inputValue(), `${tomorrow}T10:00`, "the slot clicked");
  // The shared stack holds other tests' procedures too (those for every branch and of his specialty or none are
  // offered here as well); the dentistry one of this branch is not.
  await dialog.getByRole("option", { name: "Limpeza de pele (30 min)" }).first().waitFor({ state: "attached" });
  const offered = await dialog.getByLabel("Procedimento", { exact: true }).locator("option").allTextContents();
  assert.ok(!offered.some((o) => o.startsWith(other)), `${other} is not the professional's: ${offered.join(", ")}`);
  await dialog.getByLabel("Procedimento", { exact: true }).selectOption({ label: "Limpeza de pele (30 min)" });
  await dialog.getByLabel(/Nome do paciente/).fill(patient);
  await dialog.getByLabel("Telefone").fill(phone(4));
  await dialog.getByLabel(/Início/).fill(`${tomorrow}T03:00`);
  await dialog.getByRole("button", { name: "Agendar" }).click();
  await dialog.getByRole("alert").first().waitFor();
  assert.equal(await dialog.getByLabel(/Nome do paciente/).inputValue(), patient, "nothing typed is lost");
  await accessible("book dialog");
  await dialog.getByLabel(/Início/).fill(`${tomorrow}T10:00`);
  await dialog.getByRole("button", { name: "Agendar" }).click();
  await dialog.waitFor({ state: "detached" });
  const slot = grid.locator('td[data-time="10:00"] .slot', { hasText: patient });
  await slot.waitFor();
  assert.match(await slot.innerText(), /10:00–10:30/);

  // Drag to reschedule: onto Carla's 15:00 (the professional is busy then) the API refuses, the problem is
  // shown and the card is back at 10:00; onto the free 12:30 it moves, as the API says afterwards.
  await page.getByText("Arraste uma consulta para outro horário").waitFor();
  await slot.dragTo(grid.locator('td[data-time="15:00"]'));
  const refused = page.locator("[data-refused=move]");
  await refused.getByText(`A consulta de ${patient} não foi remarcada:`).waitFor();
  await grid.locator('td[data-time="10:00"] .slot', { hasText: patient }).waitFor();
  await accessible("agenda, a move refused");
  await refused.getByRole("button", { name: "Fechar" }).click();
  await grid.locator('td[data-time="10:00"] .slot', { hasText: patient }).dragTo(grid.locator('td[data-time="12:30"]'));
  await grid.locator('td[data-time="12:30"] .slot', { hasText: patient }).waitFor();
  // Shown there at once; busy until the API has answered and the agenda is read again.
  await page.waitForFunction(() => document.querySelector(".agenda-grid-wrap")?.getAttribute("aria-busy") === "false");
  await grid.locator('td[data-time="12:30"] .slot', { hasText: patient }).waitFor();
  assert.equal(await refused.count(), 0);
  const dragged = await api(`/api/v1/scheduling/agenda?date=${tomorrow}&view=day&branch_id=${branch}`, { token: admin });
  const mine = dragged.body.items.find((a: { patient_name: string }) => a.patient_name === patient);
  assert.equal(`${mine.local_start.slice(0, 10)} ${mine.local_start.slice(11, 16)}`, `${tomorrow} 12:30`, "moved by the drag");
  await page.getByLabel("Visão").selectOption("week");
  await page.locator(`table.agenda-grid td[data-day="${tomorrow}"] .slot`, { hasText: patient }).waitFor();
  assert.equal(await page.locator("table.agenda-grid thead th[data-day]").count(), 7);
  await accessible("agenda week");
  await shot("agenda");
  await page.getByLabel("Visão").selectOption("day");

  // Reschedule and cancel from the appointment in the grid.
  await grid.locator(".slot", { hasText: patient }).click();
  const opened = page.getByRole("dialog", { name: patient });
  await accessible("appointment dialog");
  await opened.getByRole("button", { name: "Remarcar" }).click();
  const move = page.getByRole("dialog", { name: `Remarcar ${patient}` });
  await move.getByLabel(/Início/).fill(`${tomorrow}T11:30`);
  await move.getByRole("button", { name: "Salvar" }).click();
  await move.waitFor({ state: "detached" });
  await grid.locator('td[data-time="11:30"] .slot', { hasText: patient }).waitFor();

  await grid.locator(".slot", { hasText: patient }).click();
  await page.getByRole("dialog", { name: patient }).getByRole("button", { name: "Cancelar consulta" }).click();
  const cancel = page.getByRole("dialog", { name: `Cancelar a consulta de ${patient}` });
  await cancel.getByLabel("Motivo").fill("Viagem");
  await cancel.getByRole("button", { name: "Cancelar consulta" }).click();
  await cancel.waitFor({ state: "detached" });
  // Cancelled: its time is free again in the grid, and the day's list says so.
  await page.waitForFunction((p) => ![...document.querySelectorAll(".agenda-grid .slot")].some((s) => s.textContent?.includes(p)), patient);
  await page.getByLabel("Visão").selectOption("list");
  await page.locator("tr.slot-cancelled", { hasText: patient }).waitFor();
  await accessible("agenda list");
  await page.getByLabel("Visão").selectOption("day");

  // The visits list for the confirmation calls: tomorrow's unconfirmed, confirmed by phone from here.
  await page.getByRole("tab", { name: "Consultas a confirmar" }).click();
  const confirm = page.getByRole("button", { name: `Confirmada por telefone: ${visitor}` });
  await confirm.waitFor();
  await accessible("visits to confirm");
  await confirm.click();
  await confirm.waitFor({ state: "detached" });
  const after = await api(`/api/v1/scheduling/appointments/${booked.body.id}`, { token: admin });
  assert.equal(after.body.appointment.status, "confirmed");
});

test("a visit finished from the waiting room asks for a return, which reception books from the returns list", async () => {
  const reception = await member("reception", "Regina Recepção");
  const post = async (path: string, body: unknown, status = 201) => {
    const made = await api(`/api/v1/scheduling/${path}`, { method: "POST", token: admin, body: JSON.stringify(body) });
    assert.equal(made.status, status, `${path}: ${JSON.stringify(made.body)}`);
    return made.body;
  };
  const branchName = `Vila Mariana ${run}`;
  const branch = (await post("branches", { name: branchName, address: "R. Domingos de Morais 10", timezone: "America/Sao_Paulo", open_on_holidays: true })).id as string;
  const everyDay = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "08:00", end: "20:00", branch_id: branch }));
  const professional = (await post("professionals", { name: "Dra. Lia Moura", kind: "doctor", specialties: ["aesthetics"], branch_ids: [branch], hours: everyDay })).id as string;
  const procedure = (await post("procedures", { name: `Peeling ${run}`, duration_minutes: 30, specialty: "aesthetics", price_reference: "250.00", prepayment_required: false, branch_ids: [branch] })).id as string;
  const tomorrow = new Intl.DateTimeFormat("en-CA", { timeZone: "America/Sao_Paulo" }).format(new Date(Date.now() + 86_400_000));
  const patient = `Sofia Andrade ${run}`;
  const visit = (await post("appointments", { branch_id: branch, procedure_id: procedure, professional_id: professional, starts_at: `${tomorrow}T09:00:00-03:00`, person: { name: patient, phone: phone(5) } })).id as string;
  // The visit happens; finishing it from the waiting room, the professional asks for a return in 30 days.
  await post(`appointments/${visit}/check-in`, {}, 200);
  await post(`appointments/${visit}/start`, {}, 200);
  await logIn(EMAIL, PASSWORD);
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Recepção" }).click();
  await page.getByLabel("Unidade").selectOption({ label: branchName });
  const card = page.locator('[data-column="in_service"] .board-card', { hasText: patient });
  await card.getByRole("button", { name: "Finalizar atendimento" }).click();
  const finish = page.getByRole("dialog", { name: `Finalizar o atendimento de ${patient}` });
  await finish.getByLabel("Precisa de retorno").check();
  // 0 days first: the API's problem under the days, the choice kept.
  await finish.getByLabel(/Retorno em quantos dias/).fill("0");
  await finish.getByRole("button", { name: "Finalizar atendimento" }).click();
  await finish.getByRole("alert").first().waitFor();
  assert.equal(await finish.getByLabel(/Retorno em quantos dias/).inputValue(), "0");
  assert.ok(await finish.getByLabel("Precisa de retorno").isChecked());
  await accessible("finish visit, refused");
  await finish.getByLabel(/Retorno em quantos dias/).fill("30");
  await finish.getByRole("button", { name: "Finalizar atendimento" }).click();
  await finish.waitFor({ state: "detached" });
  await page.locator(`tr[data-return="${visit}"]`).getByText(patient).waitFor(); // the returns list read again
  const done = await api(`/api/v1/scheduling/appointments/${visit}`, { token: admin });
  assert.equal(done.body.appointment.status, "done", JSON.stringify(done.body));
  assert.equal(done.body.appointment.return_needed, true);
  assert.equal(done.body.appointment.return_in_days, 30);

  await logIn(reception.email, reception.password);
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Recepção" }).click();
  await page.getByLabel("Unidade").selectOption({ label: branchName });
  const row = page.locator(`tr[data-return="${visit}"]`);
  await row.getByText(patient).waitFor();
  const due = new Date(`${tomorrow}T12:00:00Z`);
  due.setUTCDate(due.getUTCDate() + 30);
  const day = due.toISOString().slice(0, 10);
  await row.getByText(`30 dias (por volta de ${day.split("-").reverse().join("/")})`).waitFor();
  await accessible("reception with returns");
  await row.scrollIntoViewIfNeeded();
  await shot("reception-returns");
  await row.getByRole("button", { name: `Agendar retorno: ${patient}` }).click();
  const dialog = page.getByRole("dialog", { name: `Agendar o retorno de ${patient}` });
  assert.equal(await dialog.getByLabel(/Início/).inputValue(), `${day}T09:00`, "around the day asked for");
  await dialog.getByRole("option", { name: "Dra. Lia Moura" }).waitFor({ state: "attached" });
  assert.equal(await dialog.getByLabel("Profissional").inputValue(), professional, "the visit's professional");
  // Outside the hours first: the API's problem, the dialog kept.
  await dialog.getByLabel(/Início/).fill(`${day}T03:00`);
  await dialog.getByRole("button", { name: "Agendar retorno" }).click();
  await dialog.getByRole("alert").first().waitFor();
  await accessible("return dialog, refused");
  await dialog.getByLabel(/Início/).fill(`${day}T10:00`);
  await dialog.getByRole("button", { name: "Agendar retorno" }).click();
  await dialog.waitFor({ state: "detached" });
  await row.waitFor({ state: "detached" });
  const agenda = await api(`/api/v1/scheduling/agenda?date=${day}&view=day&branch_id=${branch}`, { token: admin });
  const booked = agenda.body.items.find((a: { patient_name: string }) => a.patient_name === patient);
  assert.ok(booked, JSON.stringify(agenda.body));
  assert.equal(booked.local_start.slice(11, 16), "10:00");
  assert.equal(booked.source, "return");
});
