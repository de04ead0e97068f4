import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";

const BRANCH = { id: "b1", name: "Moema", timezone: "America/Sao_Paulo", address: "Av. Ibirapuera 1", subdivision: "SP", open_on_holidays: false, active: true };
const PRO = {
  id: "p1", name: "Dra. Lima", kind: "dentist", specialties: ["implants"], branch_ids: ["b1"], user_id: null, active: true,
  hours: [{ weekday: 0, start: "09:00", end: "18:00", branch_id: "b1" }], breaks: [{ weekday: 0, start: "12:00", end: "13:00" }], days_off: ["2026-12-24"],
};

test("a new professional's working hours: a refused save keeps the rows and shows the problem; then it is added", async () => {
  let refuse = true;
  const { api, sent } = fakeGateway({
    "GET /api/v1/scheduling/branches": { items: [BRANCH] },
    "GET /api/v1/scheduling/professionals": { items: [PRO] },
    "POST /api/v1/scheduling/professionals": (body: unknown) => (refuse ? problem("hours", "Working hours overlap on Tuesday.") : { ...PRO, id: "p2", ...(body as object) }),
  });
  const { container } = renderAs(api, <Settings path="/settings/places" />);
  const form = await screen.findByRole("form", { name: "Add a professional" });
  const box = within(form);
  fireEvent.change(box.getByLabelText(/^Name/), { target: { value: "Dr. Rocha" } });
  fireEvent.change(box.getByLabelText(/^Kind/), { target: { value: "dermatologist" } });
  fireEvent.change(box.getByLabelText(/Specialties/), { target: { value: "botox, peeling" } });
  fireEvent.click(box.getByRole("button", { name: "Add working hours" }));
  fireEvent.click(box.getByRole("button", { name: "Add working hours" }));
  const [first, second] = box.getAllByRole("group").filter((g) => g.getAttribute("aria-label")?.startsWith("Working hours "));
  fireEvent.change(within(second!).getByLabelText("Day"), { target: { value: "1" } });
  fireEvent.change(within(second!).getByLabelText("From"), { target: { value: "14:00" } });
  fireEvent.change(within(first!).getByLabelText("Until"), { target: { value: "12:00" } });
  fireEvent.click(box.getByRole("button", { name: "Add" }));
  await box.findByText("Working hours overlap on Tuesday.");
  expect(box.getAllByRole("group").filter((g) => g.getAttribute("aria-label")?.startsWith("Working hours "))).toHaveLength(2);
  expect((box.getByLabelText(/^Name/) as HTMLInputElement).value).toBe("Dr. Rocha");
  expect(sent.find((s) => s.method === "POST")?.body).toEqual({
    name: "Dr. Rocha", kind: "dermatologist", specialties: ["botox", "peeling"], branch_ids: ["b1"], breaks: [], days_off: [], user_id: null, active: true,
    hours: [
      { weekday: 0, start: "09:00", end: "12:00", branch_id: "b1" },
      { weekday: 1, start: "14:00", end: "18:00", branch_id: "b1" },
    ],
  });
  await expectAccessible(container);
  refuse = false;
  fireEvent.click(box.getByRole("button", { name: "Add" }));
  await waitFor(() => expect((box.getByLabelText(/^Name/) as HTMLInputElement).value).toBe(""));
});

test("editing a professional keeps the breaks and days off it does not show; a branch is replaced with PUT", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/scheduling/branches": { items: [BRANCH] },
    "GET /api/v1/scheduling/professionals": { items: [PRO] },
    "PUT /api/v1/scheduling/professionals/p1": (body: unknown) => ({ ...PRO, ...(body as object) }),
    "PUT /api/v1/scheduling/branches/b1": (body: unknown) => ({ ...BRANCH, ...(body as object) }),
  });
  renderAs(api, <Settings path="/settings/places" />);
  const pro = await screen.findByRole("form", { name: "Dra. Lima" });
  fireEvent.change(within(pro).getByLabelText("Until"), { target: { value: "17:00" } });
  fireEvent.click(within(pro).getByRole("button", { name: "Save" }));
  await within(pro).findByText("Saved.");
  expect(sent.find((s) => s.path === "/api/v1/scheduling/professionals/p1")?.body).toMatchObject({
    hours: [{ weekday: 0, start: "09:00", end: "17:00", branch_id: "b1" }], breaks: PRO.breaks, days_off: PRO.days_off,
  });
  const branch = screen.getByRole("form", { name: "Moema" });
  fireEvent.click(within(branch).getByLabelText("Open on public holidays"));
  fireEvent.click(within(branch).getByRole("button", { name: "Save" }));
  await within(branch).findByText("Saved.");
  expect(sent.find((s) => s.path === "/api/v1/scheduling/branches/b1")?.body).toEqual({ ...BRANCH, id: undefined, open_on_holidays: true });
});
