import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Me } from "../api/client";
import { ADMIN, expectAccessible, fakeGateway, json, problem, renderAs } from "./settings/testkit";
import { Returns, suggested } from "./Returns";

const RECEPTION: Me = { ...ADMIN, roles: ["reception"], permissions: ["scheduling:read", "scheduling:book"], tenant: { ...ADMIN.tenant, locale: "pt-BR" } };
const BRANCH = { id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true, address: null, open_on_holidays: false, subdivision: "SP" };
const hours = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: "09:00", end: "18:00", branch_id: "b1" }));
const pro = (id: string, name: string, specialties: string[]) => ({ id, name, active: true, branch_ids: ["b1"], breaks: [], days_off: [], kind: "doctor", specialties, user_id: null, hours });
const proc = (id: string, name: string, specialty: string | null) => ({ id, name, active: true, branch_ids: [], currency: "BRL", duration_minutes: 30, prepayment_required: false, price_reference: null, specialty });
const VISIT = {
  id: "a1", status: "completed", patient_name: "Paula Reis", procedure_name: "Botox", professional_name: "Dra. Lima", local_start: "2026-12-01T10:00:00-03:00",
  starts_at: "2026-12-01T13:00:00Z", ends_at: "2026-12-01T13:30:00Z", branch_id: "b1", branch_name: "Moema", confirmed_at: null, confirmed_via: null,
  lead_id: "l1", patient_id: "p9", phone: null, procedure_id: "p1", professional_id: "d1", source: "staff", specialty: null, return_in_days: 30,
};

test("the returns to book, each booked from its dialog: a refusal under the start, then the API's body; the list read again", async () => {
  let refuse = true;
  let booked = false;
  const { api, sent } = fakeGateway({
    "GET /api/v1/scheduling/returns": () => ({ items: booked ? [] : [VISIT] }),
    "GET /api/v1/scheduling/professionals": { items: [pro("d1", "Dra. Lima", ["aesthetics"]), pro("d2", "Dr. Souza", ["dentistry"])] },
    "GET /api/v1/scheduling/procedures": { items: [proc("p1", "Botox", "aesthetics"), proc("p3", "Canal", "dentistry")] },
    "POST /api/v1/scheduling/appointments/a1/return": () => (refuse ? problem("starts_at", "Outside the professional's hours.") : ((booked = true), json(201, {}))),
  });
  expect(suggested(VISIT)).toBe("2026-12-31");
  const { container } = renderAs(api, <Returns branch={BRANCH} />, RECEPTION);
  const row = (await screen.findByText("Paula Reis")).closest("tr")!;
  expect(row.textContent).toContain("30 dias (por volta de 31/12/2026)");
  await expectAccessible(container);
  fireEvent.click(within(row).getByRole("button", { name: "Agendar retorno: Paula Reis" }));
  const dialog = await screen.findByRole("dialog", { name: "Agendar o retorno de Paula Reis" });
  await within(dialog).findByRole("option", { name: "Dr. Souza" });
  expect((within(dialog).getByLabelText(/Início/) as HTMLInputElement).value).toBe("2026-12-31T09:00");
  expect((within(dialog).getByLabelText("Profissional") as HTMLSelectElement).value).toBe("d1");
  expect(within(within(dialog).getByLabelText("Procedimento")).getAllByRole("option").map((o) => o.textContent)).toEqual(["Botox (30 min)"]);
  fireEvent.change(within(dialog).getByLabelText(/Início/), { target: { value: "2026-12-31T03:00" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Agendar retorno" }));
  expect(await within(dialog).findByText("Outside the professional's hours.")).toBeTruthy();
  expect(sent.filter((s) => s.method === "POST").at(-1)!.body).toEqual({ starts_at: "2026-12-31T06:00:00.000Z", professional_id: null, procedure_id: null });
  await expectAccessible(dialog);
  refuse = false;
  fireEvent.change(within(dialog).getByLabelText("Profissional"), { target: { value: "d2" } });
  fireEvent.change(within(dialog).getByLabelText(/Início/), { target: { value: "2026-12-31T10:00" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Agendar retorno" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  expect(sent.filter((s) => s.method === "POST").at(-1)!.body).toEqual({ starts_at: "2026-12-31T13:00:00.000Z", professional_id: "d2", procedure_id: "p3" });
  expect(await screen.findByText("Nenhum retorno a agendar.")).toBeTruthy();
});
