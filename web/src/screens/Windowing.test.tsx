import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { Formats } from "../i18n";
import { SessionProvider } from "../session";
import { weekOf } from "./Agenda";
import { AgendaGrid, WEEK_CELL } from "./AgendaGrid";
import { Pipelines } from "./Pipelines";

const ME: Me = {
  id: "u1",
  email: "rita@clinic.example",
  full_name: "Rita",
  roles: ["admin"],
  permissions: ["crm:read", "funnel:read", "funnel:write", "scheduling:read", "scheduling:book"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};
const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
const BRANCH = { id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true, address: null, open_on_holidays: false, subdivision: "SP" };
// Open round the clock: 48 half hours.
const hours = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "00:00", end: "23:59", branch_id: "b1" }));
const PROS = Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, name: `Dra. ${i}`, active: true, branch_ids: ["b1"], breaks: [], days_off: [], kind: "doctor", specialties: [], user_id: null, hours }));
const item = (id: string, pro: number, start: string) => ({
  id, status: "booked", patient_name: `Paciente ${id}`, procedure_name: "Botox", professional_name: `Dra. ${pro}`, local_start: `${start}:00-03:00`,
  starts_at: "2026-12-07T12:00:00Z", ends_at: "2026-12-07T12:30:00Z", branch_id: "b1", branch_name: "Moema", confirmed_at: null,
  confirmed_via: null, lead_id: null, patient_id: null, phone: null, procedure_id: "p1", professional_id: `d${pro}`, source: "staff", specialty: null,
});

test("the week grid renders only the half hours in view, and a crowded half hour as its first ones and +n", () => {
  const days = weekOf("2026-12-07");
  // Six appointments at Monday 00:30, one at Monday 23:30.
  const items = [...PROS.map((_, i) => item(`a${i}`, i, "2026-12-07T00:30")), item("late", 0, "2026-12-07T23:30")];
  const onDay = vi.fn();
  render(
    <SessionProvider me={ME} api={makeClient(async () => json({}))} onLogout={() => {}}>
      <AgendaGrid branch={BRANCH} days={days} byDay professionals={PROS} items={items} loading={false} zoned={new Formats("pt-BR", "America/Sao_Paulo", "BR")} canBook onFree={() => {}} onOpen={() => {}} onMove={() => {}} onDay={onDay} />
    </SessionProvider>,
  );
  const grid = document.querySelector("table.agenda-grid")!;
  expect(grid.getAttribute("aria-rowcount")).toBe("49");
  const rendered = grid.querySelectorAll("tbody tr[data-row]");
  // No layout here: the box counts as 800 px, 26 rows of 1.9rem and the overscan, not all 48.
  expect(rendered.length).toBeGreaterThan(20);
  expect(rendered.length).toBeLessThan(48);
  expect(grid.querySelector("tr.agenda-spacer")).toBeTruthy();
  expect(grid.querySelector('[data-appointment="late"]')).toBeNull();
  const crowded = grid.querySelector(`td[data-day="2026-12-07"][data-time="00:30"]`)!;
  expect(crowded.querySelectorAll("[data-appointment]").length).toBe(WEEK_CELL - 1);
  const more = within(crowded as HTMLElement).getByRole("button", { name: "Mais 4 às 07/12/2026 00:30: mostrar o dia" });
  fireEvent.click(more);
  expect(onDay).toHaveBeenCalledWith("2026-12-07");
});

const STAGE = { id: "s-new", key: "new", name: "Novo", color: "#0b5cab", outcome: "open", position: 0 };
const deal = (i: number) => ({
  id: `deal-${i}`, name: `Pessoa ${i}`, phone: "+5511987654321", amount: "100.00", paid: "0", curator_id: null, kind: "requests", lead_id: `l${i}`,
  patient_id: null, next_booking_at: null, pipeline_id: "p1", source: "instagram", stage_id: "s-new", stage_key: "new", stage_since: "2026-12-01T12:00:00Z", tasks_green: 0, tasks_red: 0,
});

test("a board column of 1,000 deals renders only the tiles in view, each saying its place in the column", async () => {
  const api = makeClient(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/v1/funnel/pipelines") return json({ items: [{ id: "p1", kind: "requests", name: "Pedidos", automatic: false, stages: [STAGE] }], limit: 1 });
    if (path.endsWith("/board")) return json({ pipeline_id: "p1", columns: [{ stage: STAGE, count: 1000, sum: "100000.00", deals: Array.from({ length: 1000 }, (_, i) => deal(i)) }] });
    return json({ items: [], limit: 0 });
  });
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Pipelines />
    </SessionProvider>,
  );
  const column = await screen.findByRole("region", { name: /Novo/ });
  await within(column).findByText("Pessoa 0");
  await waitFor(() => expect(column.querySelectorAll("article[data-deal]").length).toBeGreaterThan(3));
  const tiles = column.querySelectorAll("li[aria-setsize]");
  expect(tiles.length).toBeLessThan(50);
  expect(tiles[0]!.getAttribute("aria-setsize")).toBe("1000");
  expect(tiles[1]!.getAttribute("aria-posinset")).toBe("2");
  expect(within(column).queryByText("Pessoa 999")).toBeNull();
});
