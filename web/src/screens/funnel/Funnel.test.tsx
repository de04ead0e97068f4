import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Lead, Me } from "../../api/client";
import { visibleMenu } from "../../App";
import { ADMIN, expectAccessible, fakeGateway, json, problem, renderAs } from "../settings/testkit";
import { Assistant } from "./Assistant";
import { reachableOn, StartAssistant } from "./StartAssistant";
import { Valuations } from "./Valuations";

const AGENT: Me = { ...ADMIN, id: "u-agent", full_name: "Ana Agente", roles: ["sales_agent"], permissions: ["crm:read", "crm:write", "funnel:read", "funnel:write"] };
const DOCTOR: Me = { ...ADMIN, id: "u-doc", full_name: "Dr. Diniz", roles: ["diagnostic_doctor"], permissions: ["crm:read", "scheduling:read"] };
const STAFF = { items: [
  { user_id: "u-agent", full_name: "Ana Agente", email: "a@x", roles: ["sales_agent"] },
  { user_id: "u-agent2", full_name: "Beto Vendas", email: "b@x", roles: ["sales_agent"] },
  { user_id: "u-doc", full_name: "Dr. Diniz", email: "d@x", roles: ["diagnostic_doctor"] },
] };
const VAL = {
  id: "v1", name: "Rafael Gomes", phone: "+5511987654321", email: null, locale: null, lead_id: "l1", agent_id: "u-agent", doctor_id: "u-doc",
  state: "quoting", photos_received: 5, photos_required: 5, quote_id: null, waiting_for: null, answer_due_at: null,
  created_at: "2026-12-01T12:00:00Z", updated_at: "2026-12-02T12:00:00Z",
};
const card = (state = "quoting") => ({
  valuation: { ...VAL, state }, summary: state === "valuing" ? null : "Norwood 4", grafts: state === "valuing" ? null : 2500, notes: null, missing: [],
  photos: [{ slot: "front", url: "https://objects.example/front.jpg", content_type: "image/jpeg", size: 1000, source: "link", received_at: "2026-12-01T13:00:00Z" }],
  quotes: [], history: [{ at: "2026-12-01T12:00:00Z", by: "u-agent", kind: "opened", text: "process opened" }, { at: "2026-12-01T14:00:00Z", by: "funnel", kind: "complete", text: "all photos in" }],
});

test("the menu: valuations and the assistant for funnel:read; valuations also for a diagnostic doctor", () => {
  expect(visibleMenu(AGENT.permissions, AGENT.roles).map((m) => m.path)).toEqual(expect.arrayContaining(["/valuations", "/assistant"]));
  const doctor = visibleMenu(DOCTOR.permissions, DOCTOR.roles).map((m) => m.path);
  expect(doctor).toContain("/valuations");
  expect(doctor).not.toContain("/assistant");
  expect(visibleMenu(["crm:read", "scheduling:read"], ["reception"]).map((m) => m.path)).not.toContain("/valuations");
});

test("valuations: filters on the server; the card's quote refused under the field, then saved and sent; cancel with a reason", async () => {
  let refuse = true;
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/staff": STAFF,
    "GET /api/v1/funnel/valuations": { items: [VAL], limit: 50, total: 1 },
    "GET /api/v1/funnel/valuations/v1": card(),
    "GET /api/v1/funnel/quote-costs": { items: [{ id: "c1", name: "FUE session", price: "9000.00", currency: "BRL", active: true }, { id: "c2", name: "Old", price: "1", currency: "BRL", active: false }], limit: 50 },
    "GET /api/v1/funnel/quote-discounts": { items: [{ id: "k1", name: "Pix", percent: "5", active: true }], limit: 50 },
    "PUT /api/v1/funnel/valuations/v1/quote": () => (refuse ? problem("items[0].quantity", "Quantity is 1 to 1000.") : json(200, { id: "q1" })),
    "POST /api/v1/funnel/valuations/v1/cancel": json(200, {}),
  });
  const { container, unmount } = renderAs(api, <Valuations path="/valuations" />, AGENT);
  await screen.findByRole("link", { name: "Rafael Gomes" });
  expect(screen.getByText("(11) 98765-4321")).toBeTruthy();
  fireEvent.change(screen.getByLabelText("State"), { target: { value: "quote_sent" } });
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/funnel/valuations" && s.search.includes("state=quote_sent"))).toBe(true));
  await screen.findByRole("option", { name: "Beto Vendas" });
  fireEvent.change(screen.getByLabelText("Sales agent"), { target: { value: "u-agent2" } });
  await waitFor(() => expect(sent.some((s) => s.search.includes("agent_id=u-agent2") && s.search.includes("state=quote_sent"))).toBe(true));
  // Only diagnostic doctors are offered as doctors.
  expect(within(screen.getByLabelText("Diagnostic doctor")).getAllByRole("option").map((o) => o.textContent)).toEqual(["Any", "Dr. Diniz"]);
  await expectAccessible(container);

  unmount();
  renderAs(api, <Valuations path="/valuations/v1" />, AGENT);
  const dialog = await screen.findByRole("dialog", { name: "Valuation of Rafael Gomes" });
  await within(dialog).findByText("Norwood 4");
  expect(within(dialog).getByRole("img", { name: /Photo: front/ })).toBeTruthy();
  expect(within(dialog).getByText("photos complete")).toBeTruthy();
  // A sales agent does not record valuations (a doctor does).
  expect(within(dialog).queryByRole("form", { name: "Record the valuation" })).toBeNull();
  const form = await within(dialog).findByRole("form", { name: "Write the quote" });
  await within(form).findByRole("option", { name: /FUE session/ });
  expect(within(form).queryByRole("option", { name: /Old/ })).toBeNull();
  fireEvent.change(within(form).getByLabelText("Quantity"), { target: { value: "0" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save and send" }));
  expect(await within(form).findByText("Quantity is 1 to 1000.")).toBeTruthy();
  expect(within(form).getByLabelText("Quantity").closest(".field-error")!.textContent).toContain("Quantity is 1 to 1000.");
  expect((within(form).getByLabelText("Quantity") as HTMLInputElement).value).toBe("0");
  expect(sent.filter((s) => s.method === "PUT").at(-1)!.body).toEqual({ items: [{ cost_id: "c1", quantity: 0, discount_id: null }], discount_id: null, note: null, send: true });
  refuse = false;
  fireEvent.change(within(form).getByLabelText("Quantity"), { target: { value: "2" } });
  fireEvent.change(within(form).getByLabelText("Discount on the whole quote"), { target: { value: "k1" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save, send later" }));
  await waitFor(() => expect(sent.filter((s) => s.method === "PUT").at(-1)!.body).toEqual({ items: [{ cost_id: "c1", quantity: 2, discount_id: null }], discount_id: "k1", note: null, send: false }));
  await expectAccessible(dialog);

  fireEvent.click(within(dialog).getByRole("button", { name: "Cancel the process" }));
  const cancel = within(dialog).getByRole("form", { name: "Cancel the process" });
  fireEvent.change(within(cancel).getByLabelText("Reason"), { target: { value: "Gave up" } });
  fireEvent.click(within(cancel).getByRole("button", { name: "Cancel the process" }));
  await waitFor(() => expect(sent.some((s) => s.path === "/api/v1/funnel/valuations/v1/cancel")).toBe(true));
  expect(sent.find((s) => s.path.endsWith("/cancel"))!.body).toEqual({ reason: "Gave up" });
});

test("the diagnostic doctor records the valuation: a refusal under the summary, then the body the API wants", async () => {
  let refuse = true;
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/staff": STAFF,
    "GET /api/v1/funnel/valuations": { items: [{ ...VAL, state: "valuing" }], limit: 50, total: 1 },
    "GET /api/v1/funnel/valuations/v1": card("valuing"),
    "POST /api/v1/funnel/valuations/v1/valuation": () => (refuse ? problem("summary", "Say what you see.") : json(200, {})),
  });
  renderAs(api, <Valuations path="/valuations/v1" />, DOCTOR);
  const dialog = await screen.findByRole("dialog", { name: "Valuation of Rafael Gomes" });
  const form = await within(dialog).findByRole("form", { name: "Record the valuation" });
  fireEvent.click(within(form).getByRole("button", { name: "Record the valuation" }));
  expect(await within(form).findByText("Say what you see.")).toBeTruthy();
  refuse = false;
  fireEvent.change(within(form).getByLabelText(/Summary/), { target: { value: "Norwood 5, dense donor area" } });
  fireEvent.change(within(form).getByLabelText("Grafts"), { target: { value: "3000" } });
  fireEvent.click(within(form).getByRole("button", { name: "Record the valuation" }));
  await waitFor(() => expect(sent.filter((s) => s.path.endsWith("/valuation")).length).toBe(2));
  expect(sent.filter((s) => s.path.endsWith("/valuation")).at(-1)!.body).toEqual({ summary: "Norwood 5, dense donor area", grafts: 3000, notes: null });
  // Not funnel:write: none of the staff actions.
  expect(within(dialog).queryByRole("button", { name: "Cancel the process" })).toBeNull();
});

const PROCESS = {
  id: "a1", lead_id: "l9", name: "Júlia Prates", channel: "whatsapp", address: "+5511912345678", locale: "pt-BR", status: "active", step: "cpf",
  cpf: null, procedure: null, procedure_id: null, region: null, branch_id: null, paid: false, payment_id: null, appointment_id: null, nudges: 1,
  due_at: "2026-12-02T15:00:00Z", last_reply_at: "2026-12-02T13:00:00Z", created_at: "2026-12-02T12:50:00Z", updated_at: "2026-12-02T13:00:00Z",
};

test("the assistant: status filter on the server, a process's history, take over and hand back", async () => {
  let status = "active";
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/staff": STAFF,
    "GET /api/v1/funnel/assistant/processes": () => ({ items: [{ ...PROCESS, status }], limit: 50, total: 1 }),
    "GET /api/v1/funnel/assistant/processes/a1": () => ({
      ...PROCESS, status,
      history: [
        { at: "2026-12-02T12:50:00Z", actor: "assistant", action: "first contact", step: "name", detail: "" },
        { at: "2026-12-02T13:00:00Z", actor: "patient", action: "answered", step: "name", detail: "name" },
        ...(status === "agent" ? [{ at: "2026-12-02T13:05:00Z", actor: "agent:u-agent", action: "took over", step: "cpf", detail: "at cpf" }] : []),
      ],
    }),
    "POST /api/v1/funnel/assistant/processes/a1/take-over": () => ((status = "agent"), json(201, null)),
    "POST /api/v1/funnel/assistant/processes/a1/hand-back": () => ((status = "active"), json(201, null)),
  });
  const { container, unmount } = renderAs(api, <Assistant path="/assistant" />, AGENT);
  await screen.findByRole("link", { name: "Júlia Prates" });
  expect(screen.getByText("Asking the CPF")).toBeTruthy();
  fireEvent.change(screen.getByLabelText("Who is talking"), { target: { value: "agent" } });
  await waitFor(() => expect(sent.some((s) => s.search.includes("status=agent"))).toBe(true));
  await expectAccessible(container);
  unmount();
  renderAs(api, <Assistant path="/assistant/a1" />, AGENT);
  const dialog = await screen.findByRole("dialog", { name: "Assistant: Júlia Prates" });
  await within(dialog).findByText("first contact");
  expect(within(dialog).getByRole("link", { name: "Open the conversation" }).getAttribute("href")).toBe("#/conversations?lead=l9");
  fireEvent.click(within(dialog).getByRole("button", { name: "Take over the conversation" }));
  await within(dialog).findByRole("button", { name: "Hand back to the assistant" });
  expect(within(dialog).getByText("took over")).toBeTruthy();
  expect(within(dialog).getAllByText("Ana Agente").length).toBeGreaterThan(0);
  await expectAccessible(dialog);
  fireEvent.click(within(dialog).getByRole("button", { name: "Hand back to the assistant" }));
  await within(dialog).findByRole("button", { name: "Take over the conversation" });
  expect(sent.filter((s) => s.method === "POST").map((s) => s.path)).toEqual(["/api/v1/funnel/assistant/processes/a1/take-over", "/api/v1/funnel/assistant/processes/a1/hand-back"]);
});

test("the lead card starts the assistant on WhatsApp: a refusal shown, then the process linked; not without funnel:write", async () => {
  let refuse = true;
  const lead = { id: "l5", name: "Caio Lima", phone: "+5511955554444", locale: "pt-BR", merged_into: null } as unknown as Lead;
  const { api, sent } = fakeGateway({
    "POST /api/v1/funnel/assistant/processes": () =>
      refuse ? json(409, { status: 409, title: "Conflict", detail: "The clinic's assistant is switched off (PUT /assistant/settings)." }) : json(201, { id: "a9" }),
  });
  const { unmount } = renderAs(api, <StartAssistant lead={lead} />, AGENT);
  fireEvent.click(screen.getByRole("button", { name: "Start the assistant on WhatsApp" }));
  expect(await screen.findByText(/switched off/)).toBeTruthy();
  expect(sent[0]!.body).toEqual({ lead_id: "l5", channel: "whatsapp", address: "+5511955554444", name: "Caio Lima", locale: "pt-BR" });
  refuse = false;
  fireEvent.click(screen.getByRole("button", { name: "Start the assistant on WhatsApp" }));
  expect((await screen.findByRole("link", { name: "Open the process" })).getAttribute("href")).toBe("#/assistant/a9");
  unmount();
  renderAs(api, <StartAssistant lead={lead} />, DOCTOR);
  expect(screen.queryByRole("button", { name: "Start the assistant on WhatsApp" })).toBeNull();
});

test("a lead who wrote on Telegram (no phone) starts it there, at the chat; one with a phone and an Instagram address has both", async () => {
  const telegram = { id: "l6", name: "Lucas Prado", phone: "", locale: null, merged_into: null, contacts: { telegram: "900123456" } } as unknown as Lead;
  const { api, sent } = fakeGateway({ "POST /api/v1/funnel/assistant/processes": () => json(201, { id: "a10" }) });
  const { unmount } = renderAs(api, <StartAssistant lead={telegram} />, AGENT);
  expect(screen.queryByRole("button", { name: "Start the assistant on WhatsApp" })).toBeNull();
  fireEvent.click(screen.getByRole("button", { name: "Start the assistant on Telegram" }));
  expect((await screen.findByRole("link", { name: "Open the process" })).getAttribute("href")).toBe("#/assistant/a10");
  expect(sent[0]!.body).toEqual({ lead_id: "l6", channel: "telegram", address: "900123456", name: "Lucas Prado", locale: null });
  unmount();
  const both = { id: "l7", name: "Rita Melo", phone: "+5511944443333", locale: "es", merged_into: null, contacts: { instagram: "17841400555" } } as unknown as Lead;
  const { container } = renderAs(api, <StartAssistant lead={both} />, AGENT);
  expect(screen.getByRole("button", { name: "Start the assistant on WhatsApp" })).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Start the assistant on Instagram" }));
  await screen.findByRole("link", { name: "Open the process" });
  expect(sent[1]!.body).toEqual({ lead_id: "l7", channel: "instagram", address: "17841400555", name: "Rita Melo", locale: "es" });
  await expectAccessible(container);
  expect(reachableOn({ phone: "", contacts: {} } as unknown as Lead)).toEqual([]);
});
