import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { Dashboard } from "./Dashboard";

const ME: Me = {
  id: "u1",
  email: "gerente@clinic.example",
  full_name: "Marta",
  roles: ["manager"],
  permissions: ["analytics:read", "analytics:all", "crm:read"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

test("the panels show their counts; the new leads pop-up lists the newest, each a link to its card", async () => {
  const sent: string[] = [];
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    sent.push(`${url.pathname}${url.search}`);
    if (url.pathname === "/api/v1/analytics/dashboard")
      return json({
        scope: "clinic",
        panels: {
          new_leads: { count: 2, amount: null, detail: "/api/v1/analytics/dashboard/new_leads" },
          follow_ups_today: { count: 0, amount: null, detail: "" },
          unconfirmed_tomorrow: { count: 1, amount: null, detail: "" },
          patients_waiting: { count: 0, amount: null, detail: "" },
          overdue_tasks: { count: 3, amount: null, detail: "" },
          payments_today: { count: 1, amount: "1234.50", detail: "" },
        },
      });
    if (url.pathname === "/api/v1/analytics/dashboard/new_leads")
      return json({
        panel: "new_leads",
        items: [
          { lead_id: "l2", name: "Joana Prado", source: "instagram", status: "PENDING_CONTACT", at: "2026-12-01T13:05:00Z", link: "/#/prospects/l2" },
          { lead_id: "l1", name: "Carlos Mendes", source: "whatsapp", status: "PENDING_CONTACT", at: "2026-12-01T12:00:00Z", link: "/#/prospects/l1" },
        ],
      });
    return json({ status: 404, title: "Not found" }, 404);
  });
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Dashboard />
    </SessionProvider>,
  );
  const panel = await screen.findByRole("button", { name: "Novos leads 2" });
  expect(screen.getByText("A clínica inteira")).toBeTruthy();
  expect(screen.getByRole("button", { name: "Tarefas atrasadas 3" })).toBeTruthy();
  expect(screen.getByText(/R\$\s1\.234,50/)).toBeTruthy();
  fireEvent.click(panel);
  const dialog = await screen.findByRole("dialog", { name: "Novos leads" });
  const link = await within(dialog).findByRole("link", { name: "Joana Prado" });
  expect(link.getAttribute("href")).toBe("#/prospects/l2");
  expect(within(dialog).getByText("01/12/2026, 10:05")).toBeTruthy(); // the clinic's zone and format
  expect(sent).toContain("/api/v1/analytics/dashboard/new_leads?limit=10");
  fireEvent.click(link);
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
});

test("tomorrow's unconfirmed visits and the patients waiting name their professional", async () => {
  const sent: string[] = [];
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    sent.push(url.pathname);
    const empty = { count: 0, amount: null, detail: "" };
    if (url.pathname === "/api/v1/analytics/dashboard")
      return json({
        scope: "clinic",
        panels: { new_leads: empty, follow_ups_today: empty, unconfirmed_tomorrow: { ...empty, count: 1 }, patients_waiting: empty, overdue_tasks: empty, payments_today: empty },
      });
    if (url.pathname === "/api/v1/analytics/dashboard/unconfirmed_tomorrow")
      return json({
        panel: "unconfirmed_tomorrow",
        items: [{ appointment_id: "a1", lead_id: "l1", name: "Joana Prado", phone: "+5511987654321", professional_id: "d1", at: "2026-12-02T13:00:00Z", link: "/#/prospects/l1" }],
      });
    if (url.pathname === "/api/v1/scheduling/professionals") return json({ items: [{ id: "d1", name: "Dra. Ana Lima" }, { id: "d2", name: "Dr. Souza" }] });
    return json({ status: 404, title: "Not found" }, 404);
  });
  render(
    <SessionProvider me={{ ...ME, permissions: [...ME.permissions, "scheduling:read"] }} api={api} onLogout={() => {}}>
      <Dashboard />
    </SessionProvider>,
  );
  fireEvent.click(await screen.findByRole("button", { name: "Consultas de amanhã não confirmadas 1" }));
  const dialog = await screen.findByRole("dialog");
  expect(await within(dialog).findByText("com Dra. Ana Lima")).toBeTruthy();
  expect(within(dialog).getByRole("link", { name: "Joana Prado" })).toBeTruthy();
  expect(sent).toContain("/api/v1/scheduling/professionals");
});

test("without scheduling:read the visits are listed without asking for the professionals", async () => {
  const sent: string[] = [];
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    sent.push(url.pathname);
    const empty = { count: 0, amount: null, detail: "" };
    if (url.pathname === "/api/v1/analytics/dashboard")
      return json({ scope: "clinic", panels: { new_leads: empty, follow_ups_today: empty, unconfirmed_tomorrow: empty, patients_waiting: { ...empty, count: 1 }, overdue_tasks: empty, payments_today: empty } });
    if (url.pathname === "/api/v1/analytics/dashboard/patients_waiting")
      return json({ panel: "patients_waiting", items: [{ appointment_id: "a1", lead_id: "l1", name: "Joana Prado", professional_id: "d1", at: "2026-12-02T13:00:00Z", link: "/#/prospects/l1" }] });
    return json({ status: 404, title: "Not found" }, 404);
  });
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Dashboard />
    </SessionProvider>,
  );
  fireEvent.click(await screen.findByRole("button", { name: /Pacientes aguardando 1/ }));
  const dialog = await screen.findByRole("dialog");
  await within(dialog).findByRole("link", { name: "Joana Prado" });
  expect(sent).not.toContain("/api/v1/scheduling/professionals");
});

test("a refused dashboard shows the problem", async () => {
  const api = makeClient(async () => new Response(JSON.stringify({ status: 403, title: "Forbidden", detail: "no" }), { status: 403, headers: { "content-type": "application/problem+json" } }));
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Dashboard />
    </SessionProvider>,
  );
  await screen.findByRole("alert");
});

test("the desk screens are in the menu only for the roles allowed", async () => {
  const { visibleMenu } = await import("../App");
  const agent = ["crm:read", "crm:write", "scheduling:read", "funnel:read", "funnel:write", "analytics:read"];
  expect(visibleMenu(agent).map((m) => m.path)).toEqual(["/prospects", "/activities", "/reception", "/dashboard", "/pipelines", "/valuations", "/assistant", "/agenda", "/conversations", "/reports"]);
  expect(visibleMenu(["crm:read", "scheduling:read", "scheduling:visit"]).map((m) => m.path)).toEqual(["/prospects", "/activities", "/reception", "/agenda", "/conversations"]);
  expect(visibleMenu(["analytics:read"]).map((m) => m.path)).toEqual(["/dashboard", "/reports"]);
});
