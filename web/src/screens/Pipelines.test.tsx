import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { Pipelines } from "./Pipelines";

const ME: Me = {
  id: "u1",
  email: "ana@clinic.example",
  full_name: "Ana",
  roles: ["sales_agent"],
  permissions: ["crm:read", "funnel:read", "funnel:write"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status < 300 ? "application/json" : "application/problem+json" } });

const stage = (key: string, name: string, position: number) => ({ id: `s-${key}`, key, name, color: "#0b5cab", outcome: "open", position });
const STAGES = [stage("new", "Novo", 0), stage("in_contact", "Em contato", 1), stage("booked", "Agendado", 2)];
const PIPELINES = [
  { id: "p1", kind: "requests", name: "Pedidos e contatos", automatic: false, stages: STAGES },
  { id: "p2", kind: "arrived", name: "Chegados", automatic: true, stages: [stage("arrived_new", "Novo (chegou)", 0)] },
  { id: "p3", kind: "custom", name: "Implantes", automatic: false, stages: [{ ...stage("won", "Fechado", 1), outcome: "won" }, stage("consult", "Consulta", 0)] },
];
const deal = {
  id: "d1", name: "Joana Prado", phone: "+5511987654321", amount: "1500.00", paid: "500.00", curator_id: null, kind: "requests",
  lead_id: "l1", patient_id: null, next_booking_at: null, pipeline_id: "p1", source: "instagram", stage_id: "s-new", stage_key: "new",
  stage_since: "2026-12-01T12:00:00Z", tasks_green: 1, tasks_red: 2,
};

function fakeApi(sent: { method: string; path: string; body?: unknown }[], moveAnswer: () => Response) {
  return makeClient(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json() : undefined;
    sent.push({ method: request.method, path: `${url.pathname}${url.search}`, body });
    if (url.pathname === "/api/v1/funnel/pipelines") return json({ items: PIPELINES, limit: PIPELINES.length });
    if (url.pathname === "/api/v1/funnel/curators") return json({ items: [{ user_id: "u9", general_percent: "10", per_service: {} }], limit: 1 });
    if (url.pathname === "/api/v1/leads/staff") return json({ items: [{ user_id: "u9", full_name: "Caio Curador" }] });
    if (url.pathname.endsWith("/board"))
      return json({
        pipeline_id: "p1",
        columns: [
          { stage: STAGES[0], count: 51, sum: "76500.00", deals: [deal] },
          { stage: STAGES[1], count: 0, sum: "0", deals: [] },
          { stage: STAGES[2], count: 0, sum: "0", deals: [] },
        ],
      });
    if (url.pathname.endsWith("/move")) return moveAnswer();
    if (url.pathname === "/api/v1/funnel/deals" && request.method === "POST")
      return (body as { name: string }).name ? json({ id: "d9" }, 201) : json({ status: 422, title: "Invalid", errors: [{ field: "name", message: "The name must not be empty." }] }, 422);
    return json({ status: 404, title: "Not found" }, 404);
  });
}

function renderBoard(api: ReturnType<typeof makeClient>) {
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Pipelines />
    </SessionProvider>,
  );
}

test("the board shows each stage's count and sum, the deal's task lights; filters go to the server", async () => {
  const sent: { method: string; path: string }[] = [];
  renderBoard(fakeApi(sent, () => json({}, 201)));
  const column = await screen.findByRole("region", { name: /Novo/ });
  await within(column).findByText("Joana Prado");
  expect(within(column).getByText("51")).toBeTruthy();
  expect(within(column).getByText(/R\$\s76\.500,00/)).toBeTruthy();
  expect(within(column).getByText("2 tarefas atrasadas")).toBeTruthy();
  expect(within(column).getByText("1 tarefas em aberto")).toBeTruthy();
  expect(within(column).getByText("(11) 98765-4321")).toBeTruthy();
  fireEvent.click(within(column).getByRole("button", { name: /Mostrar mais/ }));
  await waitFor(() => expect(sent.some((s) => s.path.includes("per_stage=100"))).toBe(true));
  fireEvent.click(screen.getByLabelText("Só com tarefas atrasadas"));
  await waitFor(() => expect(sent.some((s) => s.path.includes("overdue=true") && s.path.includes("per_stage=50"))).toBe(true));
  await screen.findByRole("option", { name: "Caio Curador" });
  fireEvent.change(screen.getByLabelText("Curador"), { target: { value: "u9" } });
  await waitFor(() => expect(sent.some((s) => s.path.includes("curator_id=u9"))).toBe(true));
  fireEvent.change(screen.getByLabelText("Plano de tratamento"), { target: { value: "signed" } });
  await waitFor(() => expect(sent.some((s) => s.path.includes("plan_state=signed"))).toBe(true));
  // Patient activity: no visit, booking or payment in the last N days (the service's activity / active_days).
  expect(screen.queryByLabelText("Período (dias)")).toBeNull();
  fireEvent.change(screen.getByLabelText("Atividade do paciente"), { target: { value: "inactive" } });
  await waitFor(() => expect(sent.some((s) => s.path.includes("activity=inactive") && s.path.includes("active_days=90"))).toBe(true));
  fireEvent.change(screen.getByLabelText("Período (dias)"), { target: { value: "30" } });
  await waitFor(() => expect(sent.some((s) => s.path.includes("activity=inactive") && s.path.includes("active_days=30"))).toBe(true));
  // An automatic Arrived pipeline: nothing to drag, no move buttons.
  fireEvent.change(screen.getByLabelText("Funil"), { target: { value: "p2" } });
  await screen.findByText("Modo automático: os negócios andam pelas regras");
});

test("a deal dropped on another stage asks for the reason; the API's problem shows next to it and the text stays", async () => {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  let refuse = true;
  renderBoard(
    fakeApi(sent, () =>
      refuse ? json({ status: 422, title: "Unprocessable", errors: [{ field: "reason", message: "The reason is too short." }] }, 422) : json({}, 201),
    ),
  );
  const tile = (await screen.findByText("Joana Prado")).closest("article")!;
  expect(tile.getAttribute("draggable")).toBe("true");
  const target = screen.getByRole("region", { name: /Em contato/ });
  const data = new Map<string, string>();
  const dataTransfer = { setData: (k: string, v: string) => data.set(k, v), getData: (k: string) => data.get(k) ?? "", dropEffect: "", effectAllowed: "" };
  fireEvent.dragStart(tile, { dataTransfer });
  fireEvent.dragOver(target, { dataTransfer });
  fireEvent.drop(target, { dataTransfer });
  const dialog = await screen.findByRole("dialog", { name: "Mover “Joana Prado”" });
  expect((within(dialog).getByLabelText("Para a etapa") as HTMLSelectElement).value).toBe("in_contact");
  fireEvent.change(within(dialog).getByLabelText(/Motivo/), { target: { value: "x" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Mover" }));
  expect(await within(dialog).findByText("The reason is too short.")).toBeTruthy();
  expect((within(dialog).getByLabelText(/Motivo/) as HTMLTextAreaElement).value).toBe("x");
  refuse = false;
  fireEvent.change(within(dialog).getByLabelText(/Motivo/), { target: { value: "Respondeu no WhatsApp" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Mover" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  const moves = sent.filter((s) => s.path.endsWith("/move"));
  expect(moves.at(-1)).toEqual({ method: "POST", path: "/api/v1/funnel/deals/d1/move", body: { stage: "in_contact", reason: "Respondeu no WhatsApp" } });
});

test("a deal is opened by hand in the clinic's own pipeline, in its first open stage; a refusal stays in the dialog", async () => {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  renderBoard(fakeApi(sent, () => json({}, 201)));
  await screen.findByRole("region", { name: /Novo/ });
  expect(screen.queryByRole("button", { name: "Novo negócio" })).toBeNull(); // the built-in ones open theirs from events
  fireEvent.change(screen.getByLabelText("Funil"), { target: { value: "p3" } });
  fireEvent.click(await screen.findByRole("button", { name: "Novo negócio" }));
  const dialog = await screen.findByRole("dialog", { name: "Novo negócio em Implantes" });
  expect((within(dialog).getByLabelText("Etapa") as HTMLSelectElement).value).toBe("consult");
  fireEvent.click(within(dialog).getByRole("button", { name: "Criar" }));
  await within(dialog).findByText("The name must not be empty.");
  fireEvent.change(within(dialog).getByLabelText(/^Nome/), { target: { value: "Rita" } });
  fireEvent.change(within(dialog).getByLabelText("Valor"), { target: { value: "1200,50" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Criar" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  expect(sent.filter((s) => s.method === "POST").at(-1)!.body).toEqual({ pipeline_id: "p3", stage: "consult", name: "Rita", phone: null, amount: "1200.50" });
});
