import { screen, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, renderAs } from "./settings/testkit";
import { ActivitiesScreen } from "./Activities";

const activity = (id: string, lead_id: string, lead_name: string | null, title: string) => ({
  id, lead_id, lead_name, type: "call", title, notes: null, scheduled_at: "2026-05-04T17:30:00Z", responsible_id: "u-admin", state: "scheduled",
  overdue: false, private: false, result: null, completed_by: null, completed_at: null, cancel_reason: null, cancelled_by: null, cancelled_at: null,
  created_by: "u-admin", created_at: "2026-05-01T12:00:00Z", updated_at: "2026-05-01T12:00:00Z",
});

test("each activity names its prospect, a link to the card; one call for the page, none per prospect", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/activities": {
      items: [activity("a1", "l1", "Maria Souza", "Call back"), activity("a2", "l2", "Rita Lopes", "Send the quote"), activity("a3", "l3", null, "Old answer")],
      total: 3, limit: 50, offset: 0,
    },
    "GET /api/v1/leads/staff": { items: [] },
  });
  const { container } = renderAs(api, <ActivitiesScreen />);
  const maria = await screen.findByRole("link", { name: "Maria Souza" });
  expect(maria.getAttribute("href")).toBe("#/prospects/l1");
  expect(within(maria.closest("tr")!).getByText("Call back")).toBeTruthy();
  expect(screen.getByRole("link", { name: "Rita Lopes" }).getAttribute("href")).toBe("#/prospects/l2");
  expect(screen.getByRole("link", { name: "Open the prospect" }).getAttribute("href")).toBe("#/prospects/l3"); // no name: the old link
  expect(sent.filter((s) => s.path.startsWith("/api/v1/leads/l"))).toEqual([]);
  await expectAccessible(container);
});
