import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, json, problem, renderAs } from "./settings/testkit";
import { LeadCard } from "./LeadCard";
import { requestFormOf, requestPatch } from "./RequestDialog";

const item = (kind: string, slug: string, label: string) => ({ id: `${kind}-${slug}`, kind, slug, label, color: null, position: 0, active: true });
const REQUEST = {
  id: "r1",
  lead_id: "l1",
  treatment: "evaluation",
  group: null,
  channel: "video",
  reason: "Quer saber o preço",
  handled: false,
  status: "new",
  intake: "manual",
  created_by: "u-admin",
  created_at: "2026-05-04T17:30:00Z",
  updated_at: "2026-05-04T17:30:00Z",
};
const LEAD = {
  id: "l1", name: "Maria Souza", phones: ["+5511987654321"], phone: "+5511987654321", email: null, cpf: null, birth_date: null, city: null, locale: null,
  source: "instagram", status: "PENDING_CONTACT", urgency: "normal", owner_id: null, next_follow_up: null, notes: null, channel: "manual", patient_id: null,
  merged_into: null, created_at: "2026-05-04T17:30:00Z", updated_at: "2026-05-04T17:30:00Z",
};

function gateway(onPatch: (body: unknown) => Response | unknown) {
  let current = { ...REQUEST };
  return fakeGateway({
    "GET /api/v1/leads/l1": LEAD,
    "GET /api/v1/leads/l1/status-history": { items: [] },
    "GET /api/v1/leads/l1/requests": () => ({ items: [current] }),
    "GET /api/v1/leads/l1/activities": { items: [], total: 0, limit: 200, offset: 0 },
    "GET /api/v1/notifications/messages": { items: [] },
    "GET /api/v1/leads/lists/treatment": { items: [item("treatment", "evaluation", "Evaluation"), item("treatment", "implants", "Implants")] },
    "GET /api/v1/leads/lists/channel": { items: [item("channel", "video", "Video call"), item("channel", "in_person", "In person")] },
    "GET /api/v1/leads/lists/group": { items: [item("group", "aesthetics", "Aesthetics")] },
    "GET /api/v1/leads/lists/request_status": { items: [item("request_status", "new", "New"), item("request_status", "answered", "Answered")] },
    "GET /api/v1/leads/lists/source": { items: [item("source", "instagram", "Instagram")] },
    "PATCH /api/v1/leads/l1/requests/r1": (body: unknown) => {
      const answer = onPatch(body);
      if (answer instanceof Response) return answer;
      current = { ...current, ...(body as object) };
      return current;
    },
  });
}

test("only what changed is sent; an emptied choice or text is null", () => {
  const before = requestFormOf(REQUEST);
  expect(requestPatch(before, before)).toEqual({});
  expect(requestPatch(before, { ...before, reason: " Implante ", channel: "", handled: true })).toEqual({ reason: "Implante", channel: null, handled: true });
});

test("a request is corrected from the lead card: a refusal under the field keeps the dialog and everything typed", async () => {
  let tries = 0;
  const { api, sent } = gateway(() => (++tries === 1 ? problem("body.reason", "The reason holds at most 2000 characters.") : undefined));
  const { container } = renderAs(api, <LeadCard id="l1" onActivitiesChanged={() => {}} />);
  const edit = await screen.findByRole("button", { name: /^Edit the request of / });
  fireEvent.click(edit);
  const dialog = await screen.findByRole("dialog", { name: "Edit the request" });
  await waitFor(() => expect(within(dialog).getByLabelText("Treatment of interest")).toHaveProperty("value", "evaluation"));
  fireEvent.change(within(dialog).getByLabelText("Treatment of interest"), { target: { value: "implants" } });
  fireEvent.change(within(dialog).getByLabelText("What they asked about"), { target: { value: "Quer saber o preço do implante" } });
  fireEvent.click(within(dialog).getByLabelText("Handled"));
  fireEvent.click(within(dialog).getByRole("button", { name: "Save" }));
  const reason = within(dialog).getByLabelText("What they asked about");
  await waitFor(() => expect(reason.getAttribute("aria-invalid")).toBe("true"));
  expect(document.getElementById(reason.getAttribute("aria-describedby")!)?.textContent).toBe("The reason holds at most 2000 characters.");
  expect((reason as HTMLTextAreaElement).value).toBe("Quer saber o preço do implante");
  expect((within(dialog).getByLabelText("Treatment of interest") as HTMLSelectElement).value).toBe("implants");
  expect((within(dialog).getByLabelText("Handled") as HTMLInputElement).checked).toBe(true);
  await expectAccessible(container);

  fireEvent.click(within(dialog).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(screen.queryByRole("dialog", { name: "Edit the request" })).toBeNull());
  const patches = sent.filter((s) => s.method === "PATCH");
  expect(patches.map((s) => s.body)).toEqual([
    { treatment: "implants", reason: "Quer saber o preço do implante", handled: true },
    { treatment: "implants", reason: "Quer saber o preço do implante", handled: true },
  ]);
  const shown = await screen.findByText("Quer saber o preço do implante");
  expect(shown.closest("li")?.textContent).toContain("Implants");
  expect(shown.closest("li")?.textContent).toContain("handled");
});

test("without crm:write there is no edit button", async () => {
  const { api } = gateway(() => json(403, { status: 403, title: "Forbidden" }));
  renderAs(api, <LeadCard id="l1" onActivitiesChanged={() => {}} />, {
    id: "u2", email: "doc@clinic.example", full_name: "Doc", roles: ["professional"], permissions: ["crm:read"],
    tenant: { id: "t1", name: "Clínica", country: "BR", locale: "en", timezone: "America/Sao_Paulo" },
  });
  await screen.findByText("Quer saber o preço");
  expect(screen.queryByRole("button", { name: /^Edit the request/ })).toBeNull();
});
