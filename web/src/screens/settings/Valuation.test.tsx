import { fireEvent, screen, within } from "@testing-library/react";
import { ADMIN, expectAccessible, fakeGateway, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";

const TREATMENTS = {
  items: [
    { id: "t1", kind: "treatment", slug: "hair_transplant", label: "Transplante capilar", color: null, position: 0, active: true },
    { id: "t2", kind: "treatment", slug: "implants", label: "Implantes", color: null, position: 1, active: true },
    { id: "t3", kind: "treatment", slug: "old", label: "Antigo", color: null, position: 2, active: false },
  ],
};
const STAFF = { items: [{ user_id: "u1", full_name: "Ana Agente", email: "ana@x", roles: ["sales_agent"] }, { user_id: "u2", full_name: "Bruno Vendas", email: "b@x", roles: ["sales_agent"] }] };

test("valuations: the treatments that open one and the agent; a refusal under the field it names with everything kept; the exact body", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/funnel/valuation-settings": { treatments: ["hair_transplant", "gone_slug"], agent_id: null, updated_at: null },
    "GET /api/v1/leads/lists/treatment": TREATMENTS,
    "GET /api/v1/leads/staff": STAFF,
    "PUT /api/v1/funnel/valuation-settings": (body: unknown) => {
      const b = body as { treatments: string[]; agent_id: string | null };
      if (b.agent_id === "u2") return problem("agent_id", "Not an active staff member of the clinic.");
      if (b.treatments.includes("gone_slug")) return problem("treatments.1", "A treatment slug of the leads' treatment list, e.g. hair_transplant.");
      return { ...b, updated_at: "2026-12-02T18:00:00Z" };
    },
  });
  const { container } = renderAs(api, <Settings path="/settings/valuation" />);
  const form = await screen.findByRole("form", { name: "Valuations and quotes" });
  const group = within(form).getByRole("group", { name: "Treatments that open a valuation" });
  expect((within(group).getByLabelText("Transplante capilar") as HTMLInputElement).checked).toBe(true);
  // An inactive item not chosen is not offered; a saved slug no longer in the list is, and can be unticked.
  expect(within(group).queryByLabelText("Antigo")).toBeNull();
  expect((within(group).getByLabelText("gone_slug (not in the list)") as HTMLInputElement).checked).toBe(true);
  expect(within(form).getByRole("link", { name: "Procedures, prices and costs" }).getAttribute("href")).toBe("#/settings/procedures");
  fireEvent.click(within(group).getByLabelText("Implantes"));
  fireEvent.change(within(form).getByLabelText(/^Sales agent/), { target: { value: "u2" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("Not an active staff member of the clinic.");
  expect((within(form).getByLabelText(/^Sales agent/) as HTMLSelectElement).value).toBe("u2");
  expect((within(group).getByLabelText("Implantes") as HTMLInputElement).checked).toBe(true);
  fireEvent.change(within(form).getByLabelText(/^Sales agent/), { target: { value: "u1" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("gone_slug (not in the list): A treatment slug of the leads' treatment list, e.g. hair_transplant.");
  await expectAccessible(container);
  fireEvent.click(within(group).getByLabelText("gone_slug (not in the list)"));
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("Saved.");
  expect(sent.filter((s) => s.method === "PUT").map((s) => s.body)).toEqual([
    { treatments: ["hair_transplant", "gone_slug", "implants"], agent_id: "u2" },
    { treatments: ["hair_transplant", "gone_slug", "implants"], agent_id: "u1" },
    { treatments: ["hair_transplant", "implants"], agent_id: "u1" },
  ]);
});

test("the menu lists both funnel sections for funnel:admin only", async () => {
  const { api } = fakeGateway({ "GET /api/v1/staff": { items: [] }, "GET /api/v1/identity/roles": { items: [] }, "GET /api/v1/identity/permissions": { items: [] } });
  const { unmount } = renderAs(api, <Settings path="/settings/users" />);
  const menu = await screen.findByRole("navigation", { name: "Settings sections" });
  expect(within(menu).getByRole("link", { name: "Pre-qualification assistant" }).getAttribute("href")).toBe("#/settings/assistant");
  expect(within(menu).getByRole("link", { name: "Valuations and quotes" }).getAttribute("href")).toBe("#/settings/valuation");
  unmount();
  renderAs(api, <Settings path="/settings/users" />, { ...ADMIN, permissions: ADMIN.permissions.filter((p) => p !== "funnel:admin") });
  const nav = await screen.findByRole("navigation", { name: "Settings sections" });
  expect(within(nav).queryByRole("link", { name: "Pre-qualification assistant" })).toBeNull();
  expect(within(nav).queryByRole("link", { name: "Valuations and quotes" })).toBeNull();
});
