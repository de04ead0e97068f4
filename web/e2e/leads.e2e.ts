// The prospects CRM's corrections in a real headless Chromium against the real stack (started by
// tests/e2e/test_console_leads.py, which opens a fresh clinic): the admin corrects a lead's request on its card
// (a refused save first: the problem under the field, everything typed kept; then saved, read back through the
// API), sees every activity in the activities list named by its prospect, and sets the clinic's duplicates
// window and its sections and departments in Settings (refusals under the field, read back through the API), and
// places a new user in a section and a department from Settings → Users.
// axe finds no serious violation on any screen or dialog.
//
//   CONSOLE_URL=http://127.0.0.1:8000 LEADS_EMAIL=... LEADS_PASSWORD=... node --test e2e/leads.e2e.ts
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chromium, type Browser, type Page } from "playwright-core";
import { accessible as axeOn, api, logIn, token as logInToken } from "./session.ts";

const EMAIL = process.env.LEADS_EMAIL ?? "admin@clinicflow.local";
const PASSWORD = process.env.LEADS_PASSWORD ?? "clinicflow-dev";
const run = Math.floor(Math.random() * 90_000_000) + 10_000_000;
const phone = (n: number) => `+5511${9}${String(run + n).slice(-8)}`;
const NAMES = [`Helena Duarte ${run}`, `Otávio Reis ${run}`];

let browser: Browser;
let page: Page;
let token = "";
const leadIds: string[] = [];
const call = (path: string, init: RequestInit = {}) => api(path, { ...init, token });

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--lang=pt-BR"],
  });
  token = await logInToken(EMAIL, PASSWORD);
  const soon = Date.now() + 3_600_000;
  for (const [i, name] of NAMES.entries()) {
    const body = { name, phone: phone(i), source: "instagram", treatment: "evaluation", reason: "Quer saber o preço" };
    const made = await call("/api/v1/leads", { method: "POST", body: JSON.stringify(body) });
    assert.equal(made.status, 201, made.text);
    leadIds.push(made.body.id);
    const activity = { type: "call", title: `Ligar ${i + 1}`, scheduled_at: new Date(soon + i * 60_000).toISOString() };
    const planned = await call(`/api/v1/leads/${made.body.id}/activities`, { method: "POST", body: JSON.stringify(activity) });
    assert.equal(planned.status, 201, planned.text);
  }
  ({ page } = await logIn(browser, EMAIL, PASSWORD));
});

after(async () => {
  await browser?.close();
});

test("a request is corrected on the lead card: refused under the field with everything kept, then saved", async () => {
  await page.goto(`${new URL(page.url()).origin}/#/prospects/${leadIds[0]}`);
  await page.getByRole("heading", { name: NAMES[0] }).waitFor();
  await page.getByRole("button", { name: /^Editar a solicitação de / }).click();
  const dialog = page.getByRole("dialog", { name: "Editar a solicitação" });
  await dialog.waitFor();
  await dialog.getByLabel("Canal de contato").selectOption("video");
  await dialog.getByLabel("O que perguntou").fill("x".repeat(2001)); // longer than a request's text may be
  await dialog.getByLabel("Atendida").check();
  await dialog.getByRole("button", { name: "Salvar" }).click();
  const reason = dialog.locator(".field-error").filter({ has: page.getByLabel("O que perguntou") });
  await reason.getByRole("alert").waitFor();
  assert.equal(await dialog.getByLabel("Canal de contato").inputValue(), "video", "the channel chosen stays");
  assert.equal((await dialog.getByLabel("O que perguntou").inputValue()).length, 2001, "the text typed stays");
  assert.ok(await dialog.getByLabel("Atendida").isChecked());
  await axeOn(page, "request dialog");
  await dialog.getByLabel("O que perguntou").fill("Quer saber o preço do implante");
  await dialog.getByRole("button", { name: "Salvar" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.getByText("Quer saber o preço do implante").waitFor();
  const stored = await call(`/api/v1/leads/${leadIds[0]}/requests`);
  assert.deepEqual(
    stored.body.items.map((r: { reason: string; channel: string; handled: boolean; treatment: string }) => [r.reason, r.channel, r.handled, r.treatment]),
    [["Quer saber o preço do implante", "video", true, "evaluation"]],
  );
  const trail = await call(`/api/v1/leads/${leadIds[0]}/audit`);
  const last = trail.body.items.at(-1);
  assert.equal(last.entity, "request");
  assert.deepEqual(Object.keys(last.changes).sort(), ["channel", "handled", "reason"]);
});

test("the activities list names each prospect, a link to the card", async () => {
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Atividades" }).click();
  await page.getByRole("heading", { name: "Atividades" }).waitFor();
  for (const [i, name] of NAMES.entries()) {
    const link = page.getByRole("link", { name, exact: true });
    await link.waitFor();
    assert.equal(await link.getAttribute("href"), `#/prospects/${leadIds[i]}`);
  }
  await axeOn(page, "activities");
  await page.getByRole("link", { name: NAMES[1], exact: true }).click();
  await page.getByRole("heading", { name: NAMES[1] }).waitFor();
});

test("settings: the duplicates window and the sections and departments, refusals under the field", async () => {
  await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Configurações" }).click();
  await page.getByRole("link", { name: "Prospects duplicados" }).click();
  const days = page.getByLabel(/^Janela em dias/);
  await days.waitFor();
  await days.fill("400");
  await page.getByRole("button", { name: "Salvar" }).click();
  await page.locator(".field-error").filter({ has: days }).getByRole("alert").waitFor();
  assert.equal(await days.inputValue(), "400");
  await axeOn(page, "settings: duplicates");
  await days.fill("45");
  await page.getByRole("button", { name: "Salvar" }).click();
  await page.getByRole("status").filter({ hasText: "Salvo" }).waitFor();
  assert.equal((await call("/api/v1/leads/settings")).body.dedupe_window_days, 45);

  await page.getByRole("link", { name: "Seções e departamentos" }).click();
  const sections = page.getByRole("region", { name: "Seções" });
  const addSection = sections.getByRole("form", { name: "Adicionar uma seção" });
  await addSection.getByLabel(/^Nome/).fill(`Recepção ${run}`);
  await addSection.getByRole("button", { name: "Adicionar" }).click();
  await sections.getByText(`Recepção ${run}`, { exact: true }).waitFor();
  await addSection.getByLabel(/^Nome/).fill(`recepção ${run}`); // the same name: refused, kept
  await addSection.getByRole("button", { name: "Adicionar" }).click();
  await addSection.locator(".field-error").getByRole("alert").waitFor();
  assert.equal(await addSection.getByLabel(/^Nome/).inputValue(), `recepção ${run}`);
  const departments = page.getByRole("region", { name: "Departamentos" });
  const addDepartment = departments.getByRole("form", { name: "Adicionar um departamento" });
  await addDepartment.getByLabel(/^Nome/).fill(`Implantes ${run}`);
  await addDepartment.getByRole("button", { name: "Adicionar" }).click();
  await departments.getByText(`Implantes ${run}`, { exact: true }).waitFor();
  await axeOn(page, "settings: sections and departments");
  const listed = async (kind: string) => (await call(`/api/v1/identity/${kind}`)).body.items.map((u: { name: string }) => u.name);
  assert.ok((await listed("sections")).includes(`Recepção ${run}`));
  assert.ok(!(await listed("sections")).includes(`recepção ${run}`), "the refused one was not added");
  assert.ok((await listed("departments")).includes(`Implantes ${run}`));
});

test("settings: a new user is placed in a section and a department, then moved out of the department", async () => {
  await page.getByRole("link", { name: "Usuários e perfis" }).click();
  const add = page.getByRole("form", { name: "Adicionar usuário" });
  const email = `recepcao-${run}@clinic.example`;
  await add.getByLabel(/^E-mail/).fill(email);
  await add.getByLabel(/^Nome completo/).fill(`Rita Recepção ${run}`);
  await add.getByLabel(/^Senha/).fill("a-long-password");
  await add.getByRole("group", { name: "Perfis" }).getByLabel("sales_agent", { exact: true }).check();
  await add.getByRole("group", { name: "Seções" }).getByLabel(`Recepção ${run}`, { exact: true }).check();
  await add.getByRole("group", { name: "Departamentos" }).getByLabel(`Implantes ${run}`, { exact: true }).check();
  await add.getByRole("button", { name: "Adicionar" }).click();
  const summary = page.locator("summary").filter({ hasText: email });
  await summary.waitFor();
  const units = async () => {
    const [sections, departments, staff] = await Promise.all(["/api/v1/identity/sections", "/api/v1/identity/departments", "/api/v1/staff"].map((p) => call(p)));
    const id = (items: { id: string; name: string }[], name: string) => items.find((u) => u.name === name)!.id;
    const member = staff.body.items.find((m: { email: string }) => m.email === email);
    return { member, section: id(sections.body.items, `Recepção ${run}`), department: id(departments.body.items, `Implantes ${run}`) };
  };
  const placed = await units();
  assert.deepEqual([placed.member.section_ids, placed.member.department_ids], [[placed.section], [placed.department]]);
  // The user's own form shows the same boxes ticked; untick the department and save.
  await summary.click();
  const form = page.getByRole("form", { name: email });
  assert.ok(await form.getByRole("group", { name: "Seções" }).getByLabel(`Recepção ${run}`, { exact: true }).isChecked());
  await form.getByRole("group", { name: "Departamentos" }).getByLabel(`Implantes ${run}`, { exact: true }).uncheck();
  await axeOn(page, "settings: a user in sections and departments");
  await form.getByRole("button", { name: "Salvar" }).click();
  await form.getByRole("status").filter({ hasText: "Salvo" }).waitFor();
  const moved = await units();
  assert.deepEqual([moved.member.section_ids, moved.member.department_ids], [[moved.section], []]);
});
