import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";

const ACCOUNT = {
  provider: "mercadopago", own_account: false, access_token_set: false, webhook_secret_set: false, merchant_name: "Clínica",
  merchant_city: "São Paulo", pix_key: null, currency: "BRL", webhook_url: "https://gw/webhooks/payments/mercadopago?clinic=t1",
};
const conn = (provider: string, connected = false) => ({ provider, connected, secret_set: connected, api_key_set: false, timezone: null, webhook_url: `https://gw/webhooks/telephony/${provider}?clinic=t1` });

test("a payments secret is sent once, emptied after the save and never shown back: only 'set'", async () => {
  let account = ACCOUNT;
  const { api, sent } = fakeGateway({
    "GET /api/v1/payments/settings": () => account,
    "PUT /api/v1/payments/settings": (body: unknown) => {
      const b = body as { provider: string };
      account = { ...ACCOUNT, provider: b.provider, own_account: true, access_token_set: true, webhook_secret_set: true };
      return account;
    },
    "GET /api/v1/telephony/providers": { items: [conn("zadarma"), conn("twilio"), conn("mango")] },
    "GET /api/v1/notifications/channels": { items: [{ channel: "whatsapp", account_id: "1029384756" }] },
  });
  const { container } = renderAs(api, <Settings path="/settings/providers" />);
  const form = await screen.findByRole("form", { name: "Payments" });
  const box = within(form);
  expect(box.getByLabelText(/Access token \/ API key \(not set\)/)).toBeTruthy();
  fireEvent.change(box.getByLabelText("Provider"), { target: { value: "stripe" } });
  fireEvent.change(box.getByLabelText(/^Access token/), { target: { value: "sk_test_abcdef1234" } });
  fireEvent.change(box.getByLabelText(/^Webhook secret/), { target: { value: "whsec_9876" } });
  await expectAccessible(container);
  fireEvent.click(box.getByRole("button", { name: "Connect" }));
  await waitFor(() => expect(sent.filter((s) => s.method === "GET" && s.path === "/api/v1/payments/settings")).toHaveLength(2));
  const fresh = await screen.findByRole("form", { name: "Payments" });
  await within(fresh).findByLabelText(/Access token \/ API key \(set\)/);
  expect((within(fresh).getByLabelText(/^Access token/) as HTMLInputElement).value).toBe("");
  expect((within(fresh).getByLabelText(/^Access token/) as HTMLInputElement).type).toBe("password");
  expect(container.textContent).not.toContain("sk_test_abcdef1234");
  expect(container.textContent).not.toContain("whsec_9876");
  expect(sent.find((s) => s.method === "PUT")?.body).toMatchObject({ provider: "stripe", access_token: "sk_test_abcdef1234", webhook_secret: "whsec_9876" });
  expect(screen.getByRole("form", { name: "Messaging channels · whatsapp" }).textContent).toContain("1029384756");
});

test("a refused telephony secret keeps what was typed and names the field; Mango asks for its API key too", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/payments/settings": ACCOUNT,
    "GET /api/v1/telephony/providers": { items: [conn("zadarma", true), conn("mango")] },
    "GET /api/v1/notifications/channels": { items: [] },
    "PUT /api/v1/telephony/providers/mango": problem("api_key", "Mango Office needs the vpbx_api_key."),
  });
  renderAs(api, <Settings path="/settings/providers" />);
  const zadarma = await screen.findByRole("form", { name: "Telephony · zadarma" });
  expect(within(zadarma).getByLabelText(/^Secret \(set\)/)).toBeTruthy();
  expect(within(zadarma).queryByLabelText(/API key/)).toBeNull();
  const mango = screen.getByRole("form", { name: "Telephony · mango" });
  fireEvent.change(within(mango).getByLabelText(/^Secret/), { target: { value: "salt-1" } });
  fireEvent.click(within(mango).getByRole("button", { name: "Connect" }));
  const error = await within(mango).findByText("Mango Office needs the vpbx_api_key.");
  expect(within(mango).getByLabelText(/^API key/).getAttribute("aria-describedby")).toBe(error.id);
  expect((within(mango).getByLabelText(/^Secret/) as HTMLInputElement).value).toBe("salt-1");
  await waitFor(() => expect(sent.find((s) => s.method === "PUT")?.body).toEqual({ secret: "salt-1", api_key: "", api_url: "", timezone: null }));
});
