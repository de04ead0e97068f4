import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { addDays, Agenda, gridOf, weekOf } from "./Agenda";
import { gridRows, span, workingSpans } from "./Day";

const ME: Me = {
  id: "u1",
  email: "rita@clinic.example",
  full_name: "Rita",
  roles: ["reception"],
  permissions: ["scheduling:read", "scheduling:book"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status < 300 ? "application/json" : "application/problem+json" } });

test("calendar arithmetic: days and the week (Monday first)", () => {
  expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
  expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
  expect(weekOf("2026-12-02")).toEqual(["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"]);
  expect(weekOf("2026-12-06")[0]).toBe("2026-11-30");
});

const item = (id: string, start: string, status = "booked", patient = "Paula Reis") => ({
  id, status, patient_name: patient, procedure_name: "Botox", professional_name: "Dra. Lima", local_start: start,
  starts_at: "2026-12-01T12:30:00Z", ends_at: "2026-12-01T13:00:00Z", branch_id: "b1", branch_name: "Moema", confirmed_at: null,
  confirmed_via: null, lead_id: null, patient_id: null, phone: "+5511987654321", procedure_id: "p1", professional_id: "d1", source: "staff", specialty: null,
});

const PROFESSIONAL = {
  id: "d1", name: "Dra. Lima", active: true, branch_ids: ["b1"], breaks: [], days_off: [], kind: "doctor", specialties: [], user_id: null,
  hours: [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "09:00", end: "12:00", branch_id: "b1" })),
};

test("the grid: half hours from the working hours, appointments in the cell they start in, busy and free cells", () => {
  const a = item("a1", "2026-12-07T09:30:00-03:00");
  expect(span(a)).toEqual({ day: "2026-12-07", start: 570, end: 600 });
  expect(workingSpans(PROFESSIONAL, "b1", "2026-12-07")).toEqual([[540, 720]]);
  expect(workingSpans({ ...PROFESSIONAL, days_off: ["2026-12-07"] }, "b1", "2026-12-07")).toEqual([]);
  expect(workingSpans(PROFESSIONAL, "other", "2026-12-07")).toEqual([]);
  expect(gridRows([[540, 720]])).toEqual([540, 570, 600, 630, 660, 690]);
  expect(gridRows([])[0]).toBe(480);
  const long = { ...item("a3", "2026-12-07T10:00:00-03:00"), starts_at: "2026-12-07T13:00:00Z", ends_at: "2026-12-07T14:00:00Z" };
  const cancelled = item("a4", "2026-12-07T11:00:00-03:00", "cancelled");
  const grid = gridOf("b1", ["2026-12-07"], false, [PROFESSIONAL], [a, long, cancelled], String);
  expect(grid.columns.map((c) => c.label)).toEqual(["Dra. Lima"]);
  const cells = grid.cells[0]!;
  expect(cells.map((c) => [c.minute, c.starting.map((x) => x.id), c.busy, c.free.length])).toEqual([
    [540, [], false, 1],
    [570, ["a1"], true, 0],
    [600, ["a3"], true, 0],
    [630, [], true, 0],
    [660, [], false, 1],
    [690, [], false, 1],
  ]);
  const week = gridOf("b1", weekOf("2026-12-07"), true, [PROFESSIONAL], [a], String);
  expect(week.columns.map((c) => c.key)).toEqual(weekOf("2026-12-07"));
  expect(week.cells[0]![1]!.starting.map((x) => x.id)).toEqual(["a1"]);
  expect(week.cells[1]![1]!.starting).toEqual([]);
});

test("day and week from the server; book with the API's problem under the field; cancel; the visits to confirm", async () => {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  let refuse = true;
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json().catch(() => undefined) : undefined;
    sent.push({ method: request.method, path: `${url.pathname}${url.search}`, body });
    if (url.pathname.endsWith("/branches"))
      return json({ items: [{ id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true, address: null, open_on_holidays: false, subdivision: "SP" }] });
    if (url.pathname.endsWith("/professionals"))
      return json({ items: [PROFESSIONAL] });
    if (url.pathname.endsWith("/procedures"))
      return json({ items: [{ id: "p1", name: "Botox", active: true, branch_ids: [], currency: "BRL", duration_minutes: 30, prepayment_required: false, price_reference: null, specialty: null }] });
    if (url.pathname.endsWith("/agenda")) {
      const date = url.searchParams.get("date")!;
      return json({ start: date, end: date, timezone: "America/Sao_Paulo", items: [item("a1", `${date}T09:30:00-03:00`)] });
    }
    if (url.pathname.endsWith("/visits")) return json({ start: "x", end: "x", timezone: "America/Sao_Paulo", items: [item("a2", "2026-12-03T10:00:00-03:00", "booked", "Carlos Mendes")] });
    if (url.pathname === "/api/v1/scheduling/appointments")
      return refuse ? json({ status: 409, title: "Conflict", errors: [{ field: "starts_at", message: "The slot is taken." }] }, 409) : json({}, 201);
    if (url.pathname.endsWith("/cancel") || url.pathname.endsWith("/confirm")) return json({});
    return json({ status: 404, title: "Not found" }, 404);
  });
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Agenda />
    </SessionProvider>,
  );
  await screen.findByText("Paula Reis");
  expect(sent.some((s) => s.path.includes("/agenda?") && s.path.includes("view=day") && s.path.includes("branch_id=b1"))).toBe(true);
  const day = new URLSearchParams(sent.find((s) => s.path.includes("/agenda?"))!.path.split("?")[1]).get("date")!;
  const dayShown = day.split("-").reverse().join("/");
  // The day's grid: the professional as the column, 09:00-12:00 in half hours, the appointment at 09:30.
  const grid = document.querySelector("table.agenda-grid")!;
  expect([...grid.querySelectorAll("thead th[data-column]")].map((th) => th.textContent)).toEqual(["Dra. Lima"]);
  expect([...grid.querySelectorAll("tbody th")].map((th) => th.textContent)).toEqual(["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]);
  expect(grid.querySelector('td[data-time="09:30"] [data-appointment="a1"]')!.textContent).toContain("09:30–10:00");
  expect(screen.queryByRole("button", { name: `Agendar Dra. Lima, ${dayShown} 09:30` })).toBeNull();
  fireEvent.change(screen.getByLabelText("Visão"), { target: { value: "week" } });
  await waitFor(() => expect(sent.some((s) => s.path.includes("view=week"))).toBe(true));
  await waitFor(() => expect(document.querySelectorAll("table.agenda-grid thead th[data-day]").length).toBe(7));
  fireEvent.change(screen.getByLabelText("Profissional"), { target: { value: "d1" } });
  await waitFor(() => expect(sent.some((s) => s.path.includes("professional_id=d1"))).toBe(true));
  fireEvent.change(screen.getByLabelText("Visão"), { target: { value: "day" } });
  await screen.findByText("Paula Reis");

  // A free half hour books that professional at that time.
  fireEvent.click(screen.getByRole("button", { name: `Agendar Dra. Lima, ${dayShown} 11:00` }));
  const fromSlot = await screen.findByRole("dialog", { name: "Agendar consulta" });
  expect((within(fromSlot).getByLabelText(/Início/) as HTMLInputElement).value).toBe(`${day}T11:00`);
  expect((within(fromSlot).getByLabelText("Profissional") as HTMLSelectElement).value).toBe("d1");
  fireEvent.click(within(fromSlot).getAllByRole("button", { name: "Fechar" })[0]!);
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());

  fireEvent.click(screen.getByRole("button", { name: "+ Agendar" }));
  const dialog = await screen.findByRole("dialog", { name: "Agendar consulta" });
  await within(dialog).findByRole("option", { name: "Botox (30 min)" });
  fireEvent.change(within(dialog).getByLabelText(/Nome do paciente/), { target: { value: "Joana Prado" } });
  fireEvent.change(within(dialog).getByLabelText(/Início/), { target: { value: "2026-12-07T10:00" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Agendar" }));
  expect(await within(dialog).findByText("The slot is taken.")).toBeTruthy();
  expect((within(dialog).getByLabelText(/Nome do paciente/) as HTMLInputElement).value).toBe("Joana Prado");
  const booked = sent.filter((s) => s.path === "/api/v1/scheduling/appointments").at(-1)!;
  expect(booked.body).toMatchObject({ branch_id: "b1", procedure_id: "p1", professional_id: "d1", starts_at: "2026-12-07T13:00:00.000Z", person: { name: "Joana Prado", phone: null } });
  refuse = false;
  fireEvent.click(within(dialog).getByRole("button", { name: "Agendar" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());

  fireEvent.click(await screen.findByRole("button", { name: /Paula Reis/ }));
  const opened = await screen.findByRole("dialog", { name: "Paula Reis" });
  expect(within(opened).getByText("Dra. Lima")).toBeTruthy();
  fireEvent.click(within(opened).getByRole("button", { name: "Cancelar consulta" }));
  const cancel = await screen.findByRole("dialog", { name: /Cancelar a consulta de Paula Reis/ });
  fireEvent.change(within(cancel).getByLabelText("Motivo"), { target: { value: "Pediu para cancelar" } });
  fireEvent.click(within(cancel).getByRole("button", { name: "Cancelar consulta" }));
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/scheduling/appointments/a1/cancel")).toBe(true));
  expect(sent.find((s) => s.path.endsWith("/a1/cancel"))!.body).toEqual({ reason: "Pediu para cancelar" });

  fireEvent.click(screen.getByRole("tab", { name: "Consultas a confirmar" }));
  const confirm = await screen.findByRole("button", { name: "Confirmada por telefone: Carlos Mendes" });
  expect(sent.some((s) => s.path.includes("/visits?") && s.path.includes("confirmed=false"))).toBe(true);
  expect(screen.getByRole("link", { name: "(11) 98765-4321" }).getAttribute("href")).toBe("tel:+5511987654321");
  fireEvent.click(confirm);
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/scheduling/appointments/a2/confirm")).toBe(true));
});

test("the list view keeps the day's list with reschedule and cancel; without scheduling:book there is nothing to book", async () => {
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/branches"))
      return json({ items: [{ id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true, address: null, open_on_holidays: false, subdivision: "SP" }] });
    if (url.pathname.endsWith("/professionals")) return json({ items: [PROFESSIONAL] });
    if (url.pathname.endsWith("/agenda")) return json({ start: "x", end: "x", timezone: "America/Sao_Paulo", items: [item("a1", `${url.searchParams.get("date")}T09:30:00-03:00`)] });
    return json({ status: 404, title: "Not found" }, 404);
  });
  const { unmount } = render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Agenda />
    </SessionProvider>,
  );
  await screen.findByText("Paula Reis");
  fireEvent.change(screen.getByLabelText("Visão"), { target: { value: "list" } });
  fireEvent.click(await screen.findByRole("button", { name: "Remarcar: Paula Reis" }));
  expect(await screen.findByRole("dialog", { name: "Remarcar Paula Reis" })).toBeTruthy();
  unmount();
  render(
    <SessionProvider me={{ ...ME, permissions: ["scheduling:read"] }} api={api} onLogout={() => {}}>
      <Agenda />
    </SessionProvider>,
  );
  await screen.findByText("Paula Reis");
  expect(screen.queryByRole("button", { name: /^Agendar/ })).toBeNull();
  expect(screen.queryByRole("button", { name: "+ Agendar" })).toBeNull();
  fireEvent.click(screen.getByRole("button", { name: /Paula Reis/ }));
  const opened = await screen.findByRole("dialog", { name: "Paula Reis" });
  expect(within(opened).queryByRole("button", { name: "Remarcar" })).toBeNull();
});
