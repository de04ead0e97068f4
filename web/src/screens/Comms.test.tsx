import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { makeClient, type Me } from "../api/client";
import { menuLabel, visibleMenu } from "../App";
import { barWidths } from "../charts";
import { formatMoney } from "../comms";
import { LOCALES } from "../i18n";
import { COMMS_DICTIONARIES } from "../i18n-comms";
import { SessionProvider } from "../session";
import { CallCard, IncomingCalls, type LiveCall } from "./CallCard";
import { Conversations, defaultChannel, whatsappWindowEnds } from "./Conversations";
import { Finance } from "./Finance";
import { funnelSteps, Reports } from "./Reports";

const TENANT = { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" };
const agent = (permissions: string[]): Me => ({ id: "u1", email: "ana@clinic.example", full_name: "Ana", roles: ["sales_agent"], permissions, tenant: TENANT });

type Route = (request: Request, url: URL) => Response | Promise<Response> | undefined;
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" } });

/** A fake gateway: records every call, answers through `route`, and keeps event streams open for `push`. */
function gateway(route: Route) {
  const sent: { method: string; path: string; query: URLSearchParams; body: unknown }[] = [];
  const streams: Record<string, (chunk: string) => void> = {};
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "GET" ? undefined : await request.clone().text().then((t) => (t ? JSON.parse(t) : undefined));
    sent.push({ method: request.method, path: url.pathname, query: url.searchParams, body });
    if (url.pathname.endsWith("/stream")) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          streams[url.pathname] = (chunk) => controller.enqueue(new TextEncoder().encode(chunk));
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    }
    return (await route(request, url)) ?? json({ status: 404, title: "Not found" }, 404);
  });
  return { api, sent, push: (path: string, chunk: string) => streams[path]!(chunk), streams };
}

function show(me: Me, api: ReturnType<typeof makeClient>, children: ReactNode) {
  return render(
    <SessionProvider me={me} api={api} onLogout={() => {}}>
      {children}
    </SessionProvider>,
  );
}

test("every language has every text of these screens, none empty; the menu shows them by permission", () => {
  const keys = Object.keys(COMMS_DICTIONARIES.en).sort();
  for (const locale of LOCALES) {
    expect(Object.keys(COMMS_DICTIONARIES[locale]).sort()).toEqual(keys);
    for (const key of keys) expect(COMMS_DICTIONARIES[locale][key as keyof typeof COMMS_DICTIONARIES.en].trim()).not.toBe("");
  }
  expect(visibleMenu(["crm:read"]).map((m) => m.path)).toContain("/conversations");
  expect(visibleMenu(["crm:read"]).map((m) => m.path)).not.toContain("/finance");
  expect(visibleMenu(["finance:read", "analytics:read"]).map((m) => m.path)).toEqual(["/dashboard", "/finance", "/reports"]);
  expect(menuLabel("ru", "nav.finance")).toBe("Финансы");
  expect(menuLabel("pt-BR", "nav.prospects")).toBe("Prospects");
});

test("money in the clinic's format; bars in proportion", () => {
  expect(formatMoney("pt-BR", "1234.5", "BRL").replace(/\s/g, " ")).toBe("R$ 1.234,50");
  expect(formatMoney("ru", 1234.5, "RUB").replace(/\s/g, " ")).toBe("1 234,50 ₽");
  expect(formatMoney("pt-BR", null, "BRL")).toBe("—");
  expect(barWidths([{ label: "a", value: 50 }, { label: "b", value: 100 }, { label: "c", value: 0 }], 300)).toEqual([150, 300, 0]);
});

test("WhatsApp's window: open for 24 h after the person's last message; replies go where they last wrote", () => {
  const now = new Date("2026-05-04T12:00:00Z");
  expect(whatsappWindowEnds({ last_inbound_at: "2026-05-04T10:00:00Z" }, now)?.toISOString()).toBe("2026-05-05T10:00:00.000Z");
  expect(whatsappWindowEnds({ last_inbound_at: "2026-05-03T11:59:00Z" }, now)).toBeNull();
  expect(whatsappWindowEnds({ last_inbound_at: null }, now)).toBeNull();
  expect(
    defaultChannel([
      { channel: "whatsapp", address: "+5511", last_inbound_at: "2026-05-01T10:00:00Z" },
      { channel: "telegram", address: "42", last_inbound_at: "2026-05-02T10:00:00Z" },
      { channel: "sms", address: "+5511", last_inbound_at: null },
    ]),
  ).toBe("telegram");
});

const CONVERSATION = { id: "c1", name: "Paula Reis", lead_id: "l1", patient_id: null, last_message_at: "2026-05-04T12:00:00Z" };

test("a conversation follows the in-app stream, and a refused reply keeps its text with the problem at the channel", async () => {
  const recent = new Date(Date.now() - 3600_000).toISOString();
  const old = new Date(Date.now() - 3 * 86400_000).toISOString();
  let items = [{ id: "m1", at: old, channel: "whatsapp", direction: "in", status: "received", text: "Olá!", template: null, button_id: null, last_error: null, reply_to_message_id: null }];
  const { api, sent, push } = gateway((request, url) => {
    if (url.pathname === "/api/v1/notifications/conversations") return json({ items: [CONVERSATION] });
    if (url.pathname === "/api/v1/notifications/conversations/c1")
      return json({
        conversation: CONVERSATION,
        addresses: [
          { channel: "whatsapp", address: "+5511987654321", last_inbound_at: old },
          { channel: "telegram", address: "4242", last_inbound_at: items.length > 1 ? recent : null },
        ],
        items,
      });
    if (url.pathname.endsWith("/messages") && request.method === "POST")
      return json({ type: "about:blank", status: 409, title: "Conflict", detail: "Outside the window.", errors: [{ field: "channel", message: "WhatsApp accepts free text only within 24 h." }] }, 409);
  });
  show(agent(["crm:read", "crm:write"]), api, <Conversations path="/conversations/c1" />);
  expect(await screen.findByText("Olá!")).toBeTruthy();
  expect(screen.getByText(/Fora da janela de 24 horas do WhatsApp/)).toBeTruthy();
  expect(screen.getByRole("link", { name: "Abrir o prospect" }).getAttribute("href")).toBe("#/prospects/l1");
  const message = screen.getByRole("textbox", { name: /Mensagem/ });
  fireEvent.change(message, { target: { value: "Podemos marcar amanhã?" } });
  fireEvent.click(screen.getByRole("button", { name: "Enviar" }));
  expect(await screen.findByText("WhatsApp accepts free text only within 24 h.")).toBeTruthy();
  expect((message as HTMLTextAreaElement).value).toBe("Podemos marcar amanhã?"); // nothing typed is lost
  const reply = sent.find((s) => s.method === "POST")!;
  expect(reply.body).toEqual({ text: "Podemos marcar amanhã?", channel: "whatsapp" });

  // The person writes on Telegram: the stream rings, the open conversation is read again.
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/notifications/inapp/stream")).toBe(true));
  items = [...items, { ...items[0]!, id: "m2", at: recent, channel: "telegram", text: "Prefiro aqui" }];
  push("/api/v1/notifications/inapp/stream", `event: unread\ndata: {"unread":0}\n\nevent: conversation\ndata: {"kind":"conversation","conversation_id":"c1","channel":"telegram","direction":"inbound"}\n\n`);
  expect(await screen.findByText("Prefiro aqui")).toBeTruthy();
  expect(screen.getByText("Ao vivo")).toBeTruthy();
});

test("an approved template sent by hand: pick it, fill in a variable, see the preview; a refusal under the variable keeps everything; one key per message", async () => {
  const old = new Date(Date.now() - 3 * 86400_000).toISOString();
  let sends = 0;
  const { api, sent } = gateway((request, url) => {
    if (url.pathname === "/api/v1/notifications/conversations") return json({ items: [CONVERSATION] });
    if (url.pathname === "/api/v1/notifications/conversations/c1")
      return json({ conversation: CONVERSATION, addresses: [{ channel: "whatsapp", address: "+5511987654321", last_inbound_at: old }], items: [] });
    if (url.pathname === "/api/v1/notifications/conversations/c1/templates" && request.method === "GET")
      return json({ channel: "whatsapp", in_window: false, items: [{ name: "lead_welcome", wa_template: "lead_welcome", needs: [] }, { name: "clinic_promo", wa_template: "promo", needs: ["description"] }] });
    if (url.pathname.endsWith("/templates/preview")) {
      return request.clone().json().then((b: { variables: Record<string, string> }) =>
        json({ template: "clinic_promo", channel: "whatsapp", locale: "pt-BR", in_window: false, body: `Oi Paula, ${b.variables.description ?? "[description]"}`, subject: null, wa: { name: "promo", language: "pt_BR", params: ["Paula"] }, missing: b.variables.description ? [] : ["description"] }),
      );
    }
    if (url.pathname === "/api/v1/notifications/conversations/c1/templates" && request.method === "POST")
      return (sends += 1) === 1
        ? json({ type: "about:blank", status: 422, title: "Unprocessable", detail: "Too long.", errors: [{ field: "variables.description", message: "Shorter, please." }] }, 422)
        : json({ id: "out1" }, 201);
  });
  show(agent(["crm:read", "crm:write"]), api, <Conversations path="/conversations/c1" />);
  const form = await screen.findByRole("form", { name: "Enviar um modelo" });
  const pick = within(form).getByLabelText("Modelo") as HTMLSelectElement;
  await within(form).findByRole("option", { name: "clinic_promo (promo)" });
  fireEvent.change(pick, { target: { value: "clinic_promo" } });
  expect(await within(form).findByText("Oi Paula, [description]")).toBeTruthy();
  expect(within(form).getByText(/como o modelo aprovado “promo”/)).toBeTruthy();
  const field = within(form).getByLabelText(/description/) as HTMLInputElement;
  fireEvent.change(field, { target: { value: "10% na limpeza" } });
  expect(await within(form).findByText("Oi Paula, 10% na limpeza")).toBeTruthy();
  fireEvent.click(within(form).getByRole("button", { name: "Enviar modelo" }));
  expect(await within(form).findByText("Shorter, please.")).toBeTruthy();
  expect(field.value).toBe("10% na limpeza"); // kept
  expect(pick.value).toBe("clinic_promo");
  fireEvent.click(within(form).getByRole("button", { name: "Enviar modelo" }));
  expect(await within(form).findByText("Modelo enviado para a fila.")).toBeTruthy();
  const posts = sent.filter((s) => s.method === "POST" && s.path.endsWith("/c1/templates"));
  expect(posts.map((p) => (p.body as { template: string }).template)).toEqual(["clinic_promo", "clinic_promo"]);
  const [first, second] = posts.map((p) => p.body as { idempotency_key: string; variables: unknown; channel: string });
  expect(first!.variables).toEqual({ description: "10% na limpeza" });
  expect(first!.channel).toBe("whatsapp");
  expect(second!.idempotency_key).toBe(first!.idempotency_key); // the same message tried again: sent once at most
  expect(pick.value).toBe(""); // accepted: the form is ready for the next one
});

test("the reply assistant's suggestion goes into the reply box, and the reply names it; a model error is said", async () => {
  const recent = new Date(Date.now() - 3600_000).toISOString();
  let calls = 0;
  const { api, sent } = gateway((request, url) => {
    if (url.pathname === "/api/v1/notifications/conversations") return json({ items: [CONVERSATION] });
    if (url.pathname === "/api/v1/notifications/conversations/c1")
      return json({
        conversation: CONVERSATION,
        addresses: [{ channel: "whatsapp", address: "+5511987654321", last_inbound_at: recent }],
        items: [{ id: "m1", at: recent, channel: "whatsapp", direction: "in", status: "received", text: "Quanto custa?", template: null, button_id: null, last_error: null, reply_to_message_id: null }],
      });
    if (url.pathname.endsWith("/suggestions"))
      return (calls += 1) === 1
        ? json({ type: "about:blank", status: 503, title: "Service Unavailable", detail: "The clinic's model cannot be reached; try again." }, 503)
        : json({ suggestion_id: "s1", model: "m", suggestions: ["A limpeza custa R$ 150.", "Posso enviar o link de pagamento?"], prompt_tokens: 10, completion_tokens: 8, cost: null, created_at: recent });
    if (url.pathname.endsWith("/messages") && request.method === "POST") return json({ id: "out1" }, 201);
  });
  show(agent(["crm:read", "crm:write"]), api, <Conversations path="/conversations/c1" />);
  expect(await screen.findByText("Quanto custa?")).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Sugerir respostas" }));
  expect(await screen.findByText("The clinic's model cannot be reached; try again.")).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Sugerir respostas" }));
  const offered = await screen.findByRole("list", { name: /Respostas sugeridas/ });
  fireEvent.click(within(offered).getAllByRole("button", { name: /Usar esta resposta/ })[0]!);
  const message = screen.getByRole("textbox", { name: /Mensagem/ }) as HTMLTextAreaElement;
  expect(message.value).toBe("A limpeza custa R$ 150.");
  fireEvent.change(message, { target: { value: "A limpeza custa R$ 150,00." } }); // edited: still the suggestion's
  fireEvent.click(screen.getByRole("button", { name: "Enviar" }));
  await waitFor(() => expect(sent.some((s) => s.path.endsWith("/messages"))).toBe(true));
  expect(sent.find((s) => s.path.endsWith("/messages"))!.body).toEqual({ text: "A limpeza custa R$ 150,00.", channel: "whatsapp", suggestion_id: "s1" });
});

const CALL: LiveCall = {
  id: "call1",
  caller: "+5511987654321",
  tracking_number: "+551130000000",
  source: "google_search",
  state: "ringing",
  started_at: "2026-05-04T12:00:00Z",
  contact: null,
  new_caller: true,
};

test("a call that starts pops up its card; a new caller's prospect is looked up when a button is pressed", async () => {
  const { api, sent, push } = gateway((request, url) => {
    if (url.pathname === "/api/v1/telephony/calls/call1") return json({ call: { id: "call1", lead_id: "l9" }, contact: null, new_caller: true });
    if (url.pathname === "/api/v1/leads/l9/activities" && request.method === "POST") return json({ id: "a1" }, 201);
  });
  show(agent(["crm:read", "crm:write", "scheduling:book"]), api, <IncomingCalls />);
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/telephony/calls/stream")).toBe(true));
  push("/api/v1/telephony/calls/stream", `event: ready\ndata: {}\n\nevent: call\ndata: ${JSON.stringify(CALL)}\n\n`);
  const card = await screen.findByRole("dialog", { name: "Chamada recebida: Novo contato" });
  expect(within(card).getByText("(11) 98765-4321")).toBeTruthy();
  fireEvent.click(within(card).getByRole("button", { name: "Criar tarefa" }));
  expect(await within(card).findByText("Tarefa criada: retornar em 15 minutos.")).toBeTruthy();
  const task = sent.find((s) => s.method === "POST")!;
  expect(task.path).toBe("/api/v1/leads/l9/activities");
  expect(task.body).toMatchObject({ type: "call", title: "Retornar a ligação de (11) 98765-4321", private: false });
  fireEvent.click(within(card).getByRole("button", { name: "Agendar" }));
  await waitFor(() => expect(location.hash).toBe("#/agenda?lead=l9"));
});

test("a known caller's card names the contact and opens it; without crm:write there is no task button", async () => {
  const { api } = gateway(() => undefined);
  show(agent(["crm:read"]), api, <CallCard call={{ ...CALL, contact: { lead_id: "l1", name: "Paula Reis" }, new_caller: false }} onClose={() => {}} />);
  const card = screen.getByRole("dialog", { name: "Chamada recebida: Paula Reis" });
  expect(within(card).queryByRole("button", { name: "Criar tarefa" })).toBeNull();
  expect(within(card).queryByRole("button", { name: "Agendar" })).toBeNull();
  fireEvent.click(within(card).getByRole("button", { name: "Abrir contato" }));
  await waitFor(() => expect(location.hash).toBe("#/prospects/l1"));
});

function charge(id: string, status: string, extra: Record<string, unknown> = {}) {
  return {
    id, status, amount: "350.00", amount_before_discount: "350.00", currency: "BRL", description: "Limpeza de pele", refunded_amount: "0.00",
    paid_amount: status === "paid" ? "350.00" : null, paid_at: status === "paid" ? "2026-05-04T12:00:00Z" : null, created_at: "2026-05-04T11:00:00Z",
    person: { name: `Pessoa ${id}`, lead_id: "l1", patient_id: null }, late: false, methods: ["pix"], provider: "mercadopago", ...extra,
  };
}

test("finance pages and filters on the server, and a refused refund shows the problem under the amount", async () => {
  const { api, sent } = gateway((_, url) => {
    if (url.pathname === "/api/v1/payments/payments")
      return json({ items: [charge("p1", "paid"), charge("p2", "pending")], total: 120, limit: 50, offset: Number(url.searchParams.get("offset")) });
    if (url.pathname === "/api/v1/payments/finance")
      return json({ total: "350.00", refunded: "0.00", net: "350.00", count: 1, late: 0, by_method: [{ key: "pix", amount: "350.00", count: 1 }], by_day: [], by_currency: [], by_provider: [], by_source: [], payments: [], start: "", end: "" });
    if (url.pathname === "/api/v1/payments/payments/p1/refunds")
      return json({ status: 422, title: "Invalid", errors: [{ field: "amount", message: "More than what is left to refund." }] }, 422);
    if (url.pathname === "/api/v1/payments/ledger")
      return json({ charged: "700.00", paid: "350.00", refunded: "0.00", open_debt: "350.00", entries: [{ kind: "charge", amount: "350.00", at: "2026-05-04T11:00:00Z", currency: "BRL", description: "Limpeza de pele", method: null, payment_id: "p1" }] });
  });
  show(agent(["crm:read", "finance:read", "payments:refund"]), api, <Finance />);
  const row = (await screen.findByText("Pessoa p1")).closest("tr")!;
  expect(within(row).getByText(/R\$\s350,00/)).toBeTruthy();
  expect(within(row).getByText("Paga")).toBeTruthy();
  expect(screen.getAllByRole("button", { name: /^Estornar: / })).toHaveLength(1); // only the paid one
  expect(screen.getByText("1–50 de 120")).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Próxima página" }));
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/payments/payments" && s.query.get("offset") === "50")).toBe(true));
  fireEvent.change(screen.getByRole("combobox", { name: "Situação" }), { target: { value: "refunded" } });
  await waitFor(() => expect(sent.some((s) => s.query.get("status") === "refunded" && s.query.get("offset") === "0")).toBe(true));

  fireEvent.click(await screen.findByRole("button", { name: "Extrato: Pessoa p1" }));
  expect(await screen.findByText(/R\$\s700,00/)).toBeTruthy();
  expect(sent.find((s) => s.path === "/api/v1/payments/ledger")!.query.get("lead_id")).toBe("l1");
  fireEvent.click(screen.getByRole("button", { name: "Fechar" }));

  fireEvent.click(screen.getByRole("button", { name: "Estornar: Pessoa p1" }));
  fireEvent.change(screen.getByRole("textbox", { name: "Valor a estornar" }), { target: { value: "999,00" } });
  fireEvent.change(screen.getByRole("textbox", { name: "Motivo" }), { target: { value: "Desistiu" } });
  fireEvent.click(screen.getByRole("button", { name: "Estornar" }));
  expect(await screen.findByText("More than what is left to refund.")).toBeTruthy();
  expect(sent.find((s) => s.path.endsWith("/refunds"))!.body).toEqual({ amount: "999.00", reason: "Desistiu" });
  expect((screen.getByRole("textbox", { name: "Motivo" }) as HTMLTextAreaElement).value).toBe("Desistiu");
});

test("without payments:refund there is no refund button", async () => {
  const { api } = gateway((_, url) => (url.pathname === "/api/v1/payments/payments" ? json({ items: [charge("p1", "paid")], total: 1, limit: 50, offset: 0 }) : undefined));
  show(agent(["crm:read", "finance:read"]), api, <Finance />);
  await screen.findByText("Pessoa p1");
  expect(screen.queryByRole("button", { name: /^Estornar/ })).toBeNull();
  expect(screen.getByRole("button", { name: "Recibo (PDF): Pessoa p1" })).toBeTruthy();
});

function report(name: string, rows: Record<string, unknown>[], totals: Record<string, unknown>) {
  return { report: name, from: "2026-04-05", to: "2026-05-04", scope: "clinic", group_by: [], sort: "", columns: [], rows, totals };
}

test("the AI-usage report: requests per staff member with how they were used, tokens and cost; per model; exported as XLSX", async () => {
  const rows = [
    { staff: "s1", staff_name: "Ana", requests: 12, used: 9, as_is: 6, edited: 3, ignored: 3, use_rate: 75, tokens: 4200, cost: "0.0840" },
    { staff: "s2", staff_name: null, requests: 4, used: 1, as_is: 1, edited: 0, ignored: 3, use_rate: 25, tokens: 900, cost: null },
  ];
  const totals = { requests: 16, used: 10, as_is: 7, edited: 3, ignored: 6, use_rate: 62.5, tokens: 5100, cost: "0.0840", booked: 2, paid: 1 };
  const { api, sent } = gateway((_, url) => {
    if (url.searchParams.get("format") === "xlsx") return new Response("PK", { headers: { "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" } });
    if (url.pathname.endsWith("/ai-usage"))
      return json(url.searchParams.get("group_by") === "model" ? report("ai-usage", [{ model: "gpt-4o-mini", requests: 16, used: 10, use_rate: 62.5, tokens: 5100, cost: "0.0840" }], totals) : report("ai-usage", rows, totals));
    if (url.pathname.includes("/reports/")) return json(report("x", [], { curators: [] }));
  });
  const created: string[] = [];
  URL.createObjectURL = (b: Blob) => (created.push(b.type), "blob:x");
  URL.revokeObjectURL = () => {};
  show(agent(["analytics:read"]), api, <Reports />);
  const chart = await screen.findByRole("img", { name: /^Assistente de respostas \(IA\) · Atendente: Ana 12 · usadas 9 \(75%\) · 4\.200 tokens · custo R\$\s0,08; s2 4 · usadas 1 \(25%\) · 900 tokens$/ });
  expect(chart.querySelectorAll("rect")).toHaveLength(2);
  const totalsLine = document.querySelector("[data-ai-totals]")!.textContent!;
  expect(totalsLine).toContain("16");
  expect(totalsLine).toContain("62,5%");
  expect(totalsLine).toContain("seguidas de agendamento 2");
  fireEvent.change(screen.getByRole("combobox", { name: "Por (Assistente de respostas (IA))" }), { target: { value: "model" } });
  expect(await screen.findByRole("img", { name: /^Assistente de respostas \(IA\) · Modelo: gpt-4o-mini 16/ })).toBeTruthy();
  const click = HTMLAnchorElement.prototype.click;
  const downloads: string[] = [];
  HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
    downloads.push(this.download); // happy-dom would navigate the document to the blob
  };
  fireEvent.click(screen.getByRole("button", { name: "Exportar XLSX: Assistente de respostas (IA)" }));
  await waitFor(() => expect(created).toHaveLength(1));
  HTMLAnchorElement.prototype.click = click;
  expect(downloads[0]).toMatch(/^ai-usage-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.xlsx$/);
  const exported = sent.find((s) => s.query.get("format") === "xlsx")!;
  expect(exported.path).toBe("/api/v1/analytics/reports/ai-usage");
  expect(exported.query.get("group_by")).toBe("model");
});

test("reports draw the funnel and the bars from the analytics reports, and export the same query as CSV", async () => {
  const conversion = report("conversion", [], { leads: 10, booked: 6, booked_rate: 60, arrived: 4, arrived_rate: 40, treated: 3, treated_rate: 30, paid: 2, paid_rate: 20 });
  const { api, sent } = gateway((_, url) => {
    const format = url.searchParams.get("format");
    if (format === "csv") return new Response("\ufeffchannel,revenue\n", { headers: { "content-type": "text/csv" } });
    if (url.pathname.endsWith("/conversion")) return json(conversion);
    if (url.pathname.endsWith("/revenue"))
      return json(report("revenue", [{ channel: "whatsapp", revenue: "700.00" }, { channel: null, revenue: "350.00" }], { revenue: "1050.00" }));
    if (url.pathname.endsWith("/visits")) return json(report("visits", [], { curators: [{ curator_id: "s1", curator_name: "Dra. Lima", payments: "500.00", commission: "50.00" }] }));
    if (url.pathname.endsWith("/attendance")) return json(report("attendance", [{ channel: "whatsapp", appointments: 8, no_shows: 2, no_show_rate: 25 }], { no_show_rate: 25 }));
    if (url.pathname.endsWith("/ai-usage")) return json(report("ai-usage", [], { requests: 0, used: 0 }));
  });
  const created: string[] = [];
  URL.createObjectURL = (b: Blob) => (created.push(b.type), "blob:x");
  URL.revokeObjectURL = () => {};
  show(agent(["analytics:read"]), api, <Reports />);
  const funnel = await screen.findByRole("img", { name: /Funil de conversão: Leads 10; Agendados 6 \(60%\); Compareceram 4 \(40%\)/ });
  expect(funnel.querySelectorAll("rect")).toHaveLength(5);
  expect(await screen.findByRole("img", { name: /Receita · Canal: whatsapp R\$\s700,00; \(nenhum\) R\$\s350,00/ })).toBeTruthy();
  expect(await screen.findByRole("img", { name: /Visitas dos curadores: Dra. Lima R\$\s500,00 · comissão R\$\s50,00/ })).toBeTruthy();
  expect(await screen.findByRole("img", { name: /Faltas por canal: whatsapp 25% \(2\/8\)/ })).toBeTruthy();
  fireEvent.change(screen.getByRole("combobox", { name: "Por" }), { target: { value: "doctor" } });
  await waitFor(() => expect(sent.some((s) => s.path.endsWith("/revenue") && s.query.get("group_by") === "doctor")).toBe(true));
  fireEvent.click(screen.getByRole("button", { name: "Exportar CSV: Receita" }));
  await waitFor(() => expect(created).toEqual(["text/csv"]));
  const exported = sent.find((s) => s.query.get("format") === "csv")!;
  expect(exported.path).toBe("/api/v1/analytics/reports/revenue");
  expect(exported.query.get("group_by")).toBe("doctor");
  expect(exported.query.get("from")).toBeTruthy();
  expect(funnelSteps(conversion as never, (s) => s, String).map((d) => d.shown)).toEqual(["10", "6 (60%)", "4 (40%)", "3 (30%)", "2 (20%)"]);
});
