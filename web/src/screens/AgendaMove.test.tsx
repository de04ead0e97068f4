import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { Agenda } from "./Agenda";
import { fits } from "./AgendaDialogs";
import { movedTo } from "./AgendaGrid";

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

const hours = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "09:00", end: "12:00", branch_id: "b1" }));
const pro = (id: string, name: string, specialties: string[]) => ({ id, name, active: true, branch_ids: ["b1"], breaks: [], days_off: [], kind: "doctor", specialties, user_id: null, hours });
const LIMA = pro("d1", "Dra. Lima", ["aesthetics"]);
const SOUZA = pro("d2", "Dr. Souza", ["dentistry"]);
const proc = (id: string, name: string, specialty: string | null) => ({ id, name, active: true, branch_ids: [], currency: "BRL", duration_minutes: 30, prepayment_required: false, price_reference: null, specialty });

const item = (id: string, start: string) => ({
  id, status: "booked", patient_name: "Paula Reis", procedure_name: "Botox", professional_name: "Dra. Lima", local_start: start,
  starts_at: "2026-12-07T12:30:00Z", ends_at: "2026-12-07T13:00:00Z", branch_id: "b1", branch_name: "Moema", confirmed_at: null,
  confirmed_via: null, lead_id: null, patient_id: null, phone: null, procedure_id: "p1", professional_id: "d1", source: "staff", specialty: null,
});

/** Where the fixture's appointment is: the agenda read again after an accepted move shows it there. */
const booked = { at: "09:30" };

function stack(answer: (path: string, body: unknown) => Response | null) {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json().catch(() => undefined) : undefined;
    sent.push({ method: request.method, path: `${url.pathname}${url.search}`, body });
    const own = answer(url.pathname, body);
    if (own) return own;
    if (url.pathname.endsWith("/branches"))
      return json({ items: [{ id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true, address: null, open_on_holidays: false, subdivision: "SP" }] });
    if (url.pathname.endsWith("/professionals")) return json({ items: [LIMA, SOUZA] });
    if (url.pathname.endsWith("/procedures"))
      return json({ items: [proc("p1", "Botox", "aesthetics"), proc("p2", "Consulta geral", null), proc("p3", "Canal", "dentistry")] });
    if (url.pathname.endsWith("/agenda")) {
      const date = url.searchParams.get("date")!;
      return json({ start: date, end: date, timezone: "America/Sao_Paulo", items: [item("a1", `${date}T${booked.at}:00-03:00`)] });
    }
    return json({ status: 404, title: "Not found" }, 404);
  });
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Agenda />
    </SessionProvider>,
  );
  return sent;
}

test("a procedure with no specialty fits everyone, else the professional must have it", () => {
  expect(fits({ specialty: null }, { specialties: [] })).toBe(true);
  expect(fits({ specialty: "aesthetics" }, { specialties: ["aesthetics", "dentistry"] })).toBe(true);
  expect(fits({ specialty: "aesthetics" }, { specialties: ["dentistry"] })).toBe(false);
  const a = item("a1", "2026-12-07T09:30:00-03:00");
  expect(movedTo(a, { day: "2026-12-08", time: "11:00", professionalId: "d2" }, [LIMA, SOUZA])).toMatchObject({ local_start: "2026-12-08T11:00:00-03:00", professional_id: "d2", professional_name: "Dr. Souza" });
  expect(movedTo(a, { day: "2026-12-08", time: "11:00", professionalId: null }, [LIMA, SOUZA]).professional_id).toBe("d1");
});

test("the booking dialog offers only the procedures of the chosen professional's specialties", async () => {
  stack(() => null);
  await screen.findByText("Paula Reis");
  fireEvent.click(screen.getByRole("button", { name: "+ Agendar" }));
  const dialog = await screen.findByRole("dialog", { name: "Agendar consulta" });
  await within(dialog).findByRole("option", { name: "Botox (30 min)" });
  const names = () => within(dialog).getAllByRole("option").map((o) => o.textContent).filter((n) => n?.includes("min"));
  expect(names()).toEqual(["Botox (30 min)", "Consulta geral (30 min)"]);
  fireEvent.change(within(dialog).getByLabelText("Procedimento"), { target: { value: "p1" } });
  fireEvent.change(within(dialog).getByLabelText("Profissional"), { target: { value: "d2" } });
  expect(names()).toEqual(["Consulta geral (30 min)", "Canal (30 min)"]);
  // Botox is not Dr. Souza's: the procedure falls back to the first that fits.
  expect((within(dialog).getByLabelText("Procedimento") as HTMLSelectElement).value).toBe("p2");
});

function dragTo(from: Element, to: Element) {
  const data = new Map<string, string>();
  const dataTransfer = { setData: (k: string, v: string) => data.set(k, v), getData: (k: string) => data.get(k) ?? "", dropEffect: "", effectAllowed: "" };
  fireEvent.dragStart(from, { dataTransfer });
  fireEvent.dragOver(to, { dataTransfer });
  fireEvent.drop(to, { dataTransfer });
  fireEvent.dragEnd(from, { dataTransfer });
}

test("dragging an appointment to another half hour reschedules it; a refusal puts it back with the problem", async () => {
  let refuse = true;
  const sent = stack((path) => {
    if (!path.endsWith("/reschedule")) return null;
    if (refuse) return json({ status: 409, title: "Conflict", detail: "The slot is taken.", errors: [{ field: "starts_at", message: "Dr. Souza is busy then." }] }, 409);
    booked.at = "11:00";
    return json({});
  });
  await screen.findByText("Paula Reis");
  const grid = () => document.querySelector("table.agenda-grid")!;
  const card = grid().querySelector('[data-appointment="a1"]')!;
  expect(card.getAttribute("draggable")).toBe("true");
  expect(screen.getByText(/Arraste uma consulta para outro horário/)).toBeTruthy();
  const day = new URLSearchParams(sent.find((s) => s.path.includes("/agenda?"))!.path.split("?")[1]).get("date")!;
  // Onto Dr. Souza's column at 11:00: refused, the card is back at 09:30 in Dra. Lima's column.
  const columns = [...grid().querySelectorAll("thead th[data-column]")].map((th) => th.getAttribute("data-column"));
  expect(columns).toEqual(["d1", "d2"]);
  const cellAt = (time: string, column: number) => grid().querySelectorAll(`td[data-time="${time}"]`)[column]!;
  dragTo(card, cellAt("11:00", 1));
  const alert = await screen.findByText("A consulta de Paula Reis não foi remarcada:");
  expect(alert.closest("[role=alert]")!.textContent).toContain("Dr. Souza is busy then.");
  const refused = sent.filter((s) => s.path.endsWith("/a1/reschedule")).at(-1)!;
  expect(refused.body).toEqual({ starts_at: `${day}T14:00:00.000Z`, professional_id: "d2" });
  await waitFor(() => expect(cellAt("09:30", 0).querySelector('[data-appointment="a1"]')).toBeTruthy());
  expect(cellAt("11:00", 1).querySelector('[data-appointment="a1"]')).toBeNull();

  // Within her own column at 11:00: accepted, and the agenda read again shows it there.
  refuse = false;
  const reads = sent.filter((s) => s.path.includes("/agenda?")).length;
  dragTo(grid().querySelector('[data-appointment="a1"]')!, cellAt("11:00", 0));
  await waitFor(() => expect(cellAt("11:00", 0).querySelector('[data-appointment="a1"]')).toBeTruthy());
  expect(screen.queryByText("A consulta de Paula Reis não foi remarcada:")).toBeNull();
  const accepted = sent.filter((s) => s.path.endsWith("/a1/reschedule")).at(-1)!;
  expect(accepted.body).toEqual({ starts_at: `${day}T14:00:00.000Z`, professional_id: null });
  await waitFor(() => expect(sent.filter((s) => s.path.includes("/agenda?")).length).toBe(reads + 1));
  await waitFor(() => expect(document.querySelector(".agenda-grid-wrap")!.getAttribute("aria-busy")).toBe("false"));
  expect(cellAt("11:00", 0).querySelector('[data-appointment="a1"]')).toBeTruthy();
});
