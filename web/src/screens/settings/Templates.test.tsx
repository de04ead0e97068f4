import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, json, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";

const TEMPLATES = {
  variables: ["name", "clinic"],
  items: [
    { name: "appointment_reminder", locale: "pt-BR", channel: "whatsapp", body: "Olá {{ name }}", customised: false, subject: null, wa_template: null, event_type: "reminder.due", variables: ["name"] },
    { name: "appointment_reminder", locale: "en", channel: "email", body: "Hello {{ name }}", customised: true, subject: "Reminder", wa_template: null, event_type: "reminder.due", variables: ["name"] },
  ],
};
const RULES = {
  event_types: ["reminder.due", "lead.created"],
  items: [
    { key: "reminder", event_type: "reminder.due", template: "appointment_reminder", channels: ["whatsapp", "sms"], delay_seconds: 0, recipient: "person", quiet_hours: true, enabled: true, builtin: true, conditions: { kind: "24h" }, cancel_on: ["appointment.cancelled"] },
  ],
};

test("a template's draft is previewed as typed; a draft that does not render shows the problem under the text and stays", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/notifications/templates": TEMPLATES,
    "GET /api/v1/notifications/rules": RULES,
    "POST /api/v1/notifications/templates/appointment_reminder/pt-BR/preview": (body: unknown) => {
      const draft = (body as { body: string }).body;
      if (draft.includes("{{ name ")) return draft.includes("}}") ? json(200, { body: draft.replace("{{ name }}", "Maria"), channel: "whatsapp", locale: "pt-BR", subject: null, buttons: [], variables: {} }) : problem("body", "The template does not render: unexpected end of template.");
      return json(200, { body: draft, channel: "whatsapp", locale: "pt-BR", subject: null, buttons: [], variables: {} });
    },
    "PUT /api/v1/notifications/templates/appointment_reminder/pt-BR": (body: unknown) => ({ ...TEMPLATES.items[0], ...(body as object), customised: true }),
  });
  const { container } = renderAs(api, <Settings path="/settings/templates" />);
  const editor = await screen.findByRole("form", { name: "appointment_reminder · pt-BR · whatsapp" });
  const text = within(editor).getByLabelText(/^Text/);
  fireEvent.change(text, { target: { value: "Oi {{ name }}, até amanhã!" } });
  fireEvent.click(within(editor).getByRole("button", { name: "Preview" }));
  const preview = await within(editor).findByRole("region", { name: "Preview with sample data" });
  expect(preview.textContent).toContain("Oi Maria, até amanhã!");
  fireEvent.change(text, { target: { value: "Oi {{ name " } });
  fireEvent.click(within(editor).getByRole("button", { name: "Preview" }));
  const error = await within(editor).findByText("The template does not render: unexpected end of template.");
  expect(text.getAttribute("aria-describedby")).toBe(error.id);
  expect((text as HTMLTextAreaElement).value).toBe("Oi {{ name ");
  await expectAccessible(container);
  fireEvent.change(text, { target: { value: "Oi {{ name }}" } });
  fireEvent.click(within(editor).getByRole("button", { name: "Save" }));
  await within(editor).findByText("Saved.");
  const put = sent.find((s) => s.method === "PUT")!;
  expect(put.search).toBe("?channel=whatsapp");
  expect(put.body).toEqual({ body: "Oi {{ name }}", subject: null, wa_template: null });

  fireEvent.change(within(screen.getByRole("region", { name: "Message templates" })).getByLabelText("Template"), { target: { value: "appointment_reminder|en|email" } });
  const email = await screen.findByRole("form", { name: "appointment_reminder · en · email" });
  expect((within(email).getByLabelText("Subject") as HTMLInputElement).value).toBe("Reminder");
});

test("a rule is switched off in one call, and edited keeping its conditions and cancellations", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/notifications/templates": TEMPLATES,
    "GET /api/v1/notifications/rules": RULES,
    "PUT /api/v1/notifications/rules/reminder/enabled": (body: unknown) => ({ ...RULES.items[0], ...(body as object) }),
    "PUT /api/v1/notifications/rules/reminder": (body: unknown) => ({ ...RULES.items[0], ...(body as object) }),
  });
  renderAs(api, <Settings path="/settings/templates" />);
  const rule = await screen.findByRole("form", { name: "reminder" });
  fireEvent.click(within(rule).getByLabelText("On"));
  await waitFor(() => expect(sent.find((s) => s.path.endsWith("/enabled"))?.body).toEqual({ enabled: false }));
  fireEvent.change(within(rule).getByLabelText(/^Channels/), { target: { value: "sms, whatsapp" } });
  fireEvent.click(within(rule).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(sent.find((s) => s.method === "PUT" && s.path.endsWith("/reminder"))?.body).toMatchObject({ channels: ["sms", "whatsapp"], conditions: { kind: "24h" }, cancel_on: ["appointment.cancelled"] }));
});
