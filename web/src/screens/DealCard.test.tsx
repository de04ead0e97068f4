import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { DealCard } from "./DealCard";

const ME: Me = {
  id: "u1",
  email: "ana@clinic.example",
  full_name: "Ana",
  roles: ["sales_agent"],
  permissions: ["crm:read", "funnel:read", "funnel:write", "payments:write"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status < 300 ? "application/json" : "application/problem+json" } });

const CARD = {
  deal: {
    id: "d1", name: "Joana Prado", phone: "+5511987654321", amount: "1500.00", paid: "500.00", curator_id: null, kind: "arrived",
    lead_id: "l1", patient_id: "pt1", next_booking_at: "2026-12-10T13:00:00Z", pipeline_id: "p2", source: "instagram", stage_id: "s1",
    stage_key: "plan_signed", stage_since: "2026-12-01T12:00:00Z", tasks_green: 1, tasks_red: 1,
  },
  plans: [{ id: "pl1", title: "Clareamento", currency: "BRL", total: "1500.00", status: "created", signed_at: null, completed_at: null,
    items: [{ procedure: "Clareamento a laser", procedure_id: null, quantity: 2, price: "750.00", discount: "0", stage: 1 }] }],
  tasks: [
    { id: "t1", title: "Ligar para remarcar", kind: "call", due_at: "2020-01-01T12:00:00Z", completed_at: null, automatic: true, responsible_id: "u1", comments: [{ by: "u1", at: "2026-12-01T12:00:00Z", text: "Não atendeu" }] },
    { id: "t2", title: "Enviar orçamento", kind: "todo", due_at: "2099-01-01T12:00:00Z", completed_at: null, automatic: false, responsible_id: "u1", comments: [] },
  ],
  visits: [{ appointment_id: "a1", completed_at: "2026-11-20T14:00:00Z", procedures: ["Avaliação"] }],
  bookings: [{ appointment_id: "a2", starts_at: "2026-12-10T13:00:00Z", cancelled_at: null, done_at: null }],
  feed: [{ at: "2026-12-01T12:00:00Z", kind: "stage", text: "Moved to Treatment plan signed" }],
};

test("the deal card: plans, tasks with their lights, visits, payments and debt, notifications, the feed; tasks worked in place", async () => {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json().catch(() => undefined) : undefined;
    sent.push({ method: request.method, path: `${url.pathname}${url.search}`, body });
    if (url.pathname === "/api/v1/funnel/deals/d1") return json(CARD);
    if (url.pathname === "/api/v1/payments/payments")
      return json({ items: [{ id: "c1", description: "Sinal", amount: "500.00", currency: "BRL", status: "paid", paid_at: "2026-12-01T15:00:00Z", created_at: "2026-12-01T14:00:00Z" }], limit: 20, offset: 0, total: 1 });
    if (url.pathname === "/api/v1/notifications/messages") return json({ items: [{ id: "m1", channel: "whatsapp", body: "Sua consulta está confirmada", created_at: "2026-12-01T16:00:00Z" }] });
    if (url.pathname === "/api/v1/leads/staff") return json({ items: [] });
    if (url.pathname.endsWith("/tasks") && request.method === "POST")
      return (body as { title: string }).title ? json({}, 201) : json({ status: 422, title: "Unprocessable", errors: [{ field: "title", message: "A task needs a title." }] }, 422);
    if (url.pathname.endsWith("/complete") || url.pathname.endsWith("/sign")) return json({});
    return json({ status: 404, title: "Not found" }, 404);
  });
  const changed: number[] = [];
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <DealCard id="d1" onClose={() => {}} onChanged={() => changed.push(1)} />
    </SessionProvider>,
  );
  const dialog = await screen.findByRole("dialog", { name: "Joana Prado" });
  await within(dialog).findByText("Clareamento a laser");
  expect(within(dialog).getByText("atrasada")).toBeTruthy();
  expect(within(dialog).getByText("em aberto")).toBeTruthy();
  expect(within(dialog).getByText("Não atendeu")).toBeTruthy();
  expect(within(dialog).getByText("1 tarefas atrasadas")).toBeTruthy();
  expect(within(dialog).getByText(/Avaliação/)).toBeTruthy();
  expect(within(dialog).getByText("Moved to Treatment plan signed")).toBeTruthy();
  expect(document.querySelector("[data-debt]")!.textContent!.replace(/\s/g, " ")).toBe("R$ 1.000,00");
  await within(dialog).findByText(/Sinal/);
  await within(dialog).findByText("Sua consulta está confirmada");
  expect(sent.some((s) => s.path === "/api/v1/payments/payments?lead_id=l1&limit=20")).toBe(true);
  expect(within(dialog).getByRole("link", { name: "Abrir o prospect" }).getAttribute("href")).toBe("#/prospects/l1");

  const form = within(dialog).getByRole("form", { name: "Nova tarefa" });
  fireEvent.change(within(form).getByLabelText(/Prazo/), { target: { value: "2099-02-01T09:00" } });
  fireEvent.click(within(form).getByRole("button", { name: "Adicionar" }));
  expect(await within(form).findByText("A task needs a title.")).toBeTruthy();
  fireEvent.change(within(form).getByLabelText(/^Tarefa/), { target: { value: "Ligar amanhã" } });
  fireEvent.click(within(form).getByRole("button", { name: "Adicionar" }));
  await waitFor(() => expect(changed.length).toBe(1));
  expect(sent.filter((s) => s.path === "/api/v1/funnel/deals/d1/tasks").at(-1)!.body).toEqual({ title: "Ligar amanhã", kind: "call", due_at: "2099-02-01T12:00:00.000Z" });
  fireEvent.click(within(dialog).getAllByRole("button", { name: "Concluir" })[0]!);
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/funnel/tasks/t1/complete")).toBe(true));
  fireEvent.click(within(dialog).getByRole("button", { name: "Assinado sem upload" }));
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/funnel/plans/pl1/sign")).toBe(true));
});
