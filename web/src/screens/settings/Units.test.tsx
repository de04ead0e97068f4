import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, json, problem, renderAs } from "./testkit";
import { Settings, visibleSections } from "./Settings";

const unit = (id: string, name: string, active = true) => ({ id, name, active, updated_at: "2026-05-04T17:30:00Z" });

test("sections and departments: a refused new one keeps its name, a rename with switching off sends both, a delete refused while staff belong", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/identity/sections": { items: [unit("s1", "Recepção"), unit("s2", "Call center", false)] },
    "GET /api/v1/identity/departments": { items: [] },
    "POST /api/v1/identity/sections": problem("name", "The clinic already has a section named 'Recepção'."),
    "POST /api/v1/identity/departments": (body: unknown) => unit("d1", (body as { name: string }).name),
    "PATCH /api/v1/identity/sections/s1": (body: unknown) => ({ ...unit("s1", "Recepção"), ...(body as object) }),
    "DELETE /api/v1/identity/sections/s2": json(409, { status: 409, title: "Conflict", detail: "2 staff member(s) belong to it; move them first, or deactivate it." }),
  });
  const { container } = renderAs(api, <Settings path="/settings/units" />);
  const sections = await screen.findByRole("region", { name: "Sections" });
  await within(sections).findByText("Recepção");
  expect(within(sections).getByText("inactive")).toBeTruthy();
  expect(within(screen.getByRole("region", { name: "Departments" })).getByText("None yet.")).toBeTruthy();

  const addSection = within(sections).getByRole("form", { name: "Add a section" });
  fireEvent.change(within(addSection).getByLabelText(/^Name/), { target: { value: "Recepção" } });
  fireEvent.click(within(addSection).getByRole("button", { name: "Add" }));
  await within(addSection).findByText("The clinic already has a section named 'Recepção'.");
  expect((within(addSection).getByLabelText(/^Name/) as HTMLInputElement).value).toBe("Recepção");
  await expectAccessible(container);

  const reception = within(sections).getByRole("form", { name: "Recepção" });
  fireEvent.change(within(reception).getByLabelText(/^Name/), { target: { value: "Front desk" } });
  fireEvent.click(within(reception).getByLabelText("Active"));
  fireEvent.click(within(reception).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(sent.find((s) => s.method === "PATCH")?.body).toEqual({ name: "Front desk", active: false }));

  const callCenter = within(sections).getByRole("form", { name: "Call center" });
  fireEvent.click(within(callCenter).getByRole("button", { name: "Delete Call center" }));
  await within(callCenter).findByText(/belong to it/);

  const addDepartment = screen.getByRole("form", { name: "Add a department" });
  fireEvent.change(within(addDepartment).getByLabelText(/^Name/), { target: { value: "Implantes" } });
  fireEvent.click(within(addDepartment).getByRole("button", { name: "Add" }));
  await waitFor(() => expect((within(addDepartment).getByLabelText(/^Name/) as HTMLInputElement).value).toBe(""));
  expect(sent.find((s) => s.path === "/api/v1/identity/departments" && s.method === "POST")?.body).toEqual({ name: "Implantes" });
});

test("the duplicates window: a refused value stays under the field, a good one is saved; both sections are the admin's only", async () => {
  let tries = 0;
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/settings": { dedupe_window_days: 30 },
    "PUT /api/v1/leads/settings": (body: unknown) =>
      ++tries === 1 ? problem("dedupe_window_days", "The window is 0 to 365 days (0 turns matching on intake off).") : body,
  });
  const { container } = renderAs(api, <Settings path="/settings/dedupe" />);
  const days = await screen.findByLabelText(/^Window in days/);
  await waitFor(() => expect((days as HTMLInputElement).value).toBe("30"));
  fireEvent.change(days, { target: { value: "400" } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  await screen.findByText("The window is 0 to 365 days (0 turns matching on intake off).");
  expect((screen.getByLabelText(/^Window in days/) as HTMLInputElement).value).toBe("400");
  expect(screen.getByLabelText(/^Window in days/).getAttribute("aria-invalid")).toBe("true");
  await expectAccessible(container);
  fireEvent.change(screen.getByLabelText(/^Window in days/), { target: { value: "60" } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  await screen.findByText("Saved.");
  expect(sent.filter((s) => s.method === "PUT").map((s) => s.body)).toEqual([{ dedupe_window_days: 400 }, { dedupe_window_days: 60 }]);
  const keys = visibleSections(["crm:admin"]).map((s) => s.key);
  expect(keys).toEqual(expect.arrayContaining(["units", "dedupe"]));
  expect(visibleSections(["crm:read", "crm:write"]).map((s) => s.key)).not.toContain("dedupe");
});
