import { fireEvent, screen, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, json, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";

const PROC = { id: "pr1", name: "Botox", duration_minutes: 30, specialty: "aesthetics", prepayment_required: false, branch_ids: ["b1"], currency: "BRL", price_reference: null, active: true };

test("a procedure's price: a refused amount stays typed with the problem under it; costs and discounts of quotes", async () => {
  let refuse = true;
  const { api, sent } = fakeGateway({
    "GET /api/v1/scheduling/procedures": { items: [PROC] },
    "GET /api/v1/scheduling/branches": { items: [{ id: "b1", name: "Moema", timezone: "America/Sao_Paulo", address: null, subdivision: null, open_on_holidays: false, active: true }] },
    "GET /api/v1/payments/prices": { items: [] },
    "GET /api/v1/payments/discounts": { items: [] },
    "GET /api/v1/funnel/quote-costs": { items: [] },
    "GET /api/v1/funnel/quote-discounts": { items: [{ id: "q1", name: "Family", percent: "10", active: true }] },
    "PUT /api/v1/payments/prices/pr1": (body: unknown) => (refuse ? problem("amount", "An amount is a positive number like 350.00.") : { procedure_id: "pr1", ...(body as object) }),
    "POST /api/v1/funnel/quote-costs": () => json(201, { id: "c1" }),
    "PATCH /api/v1/funnel/quote-discounts/q1": (body: unknown) => json(200, { id: "q1", ...(body as object) }),
  });
  const { container } = renderAs(api, <Settings path="/settings/procedures" />);
  const price = await screen.findByRole("form", { name: "Price · Botox" });
  fireEvent.change(within(price).getByLabelText(/^Price/), { target: { value: "35O" } });
  fireEvent.click(within(price).getByRole("button", { name: "Save price" }));
  await within(price).findByText("An amount is a positive number like 350.00.");
  expect((within(price).getByLabelText(/^Price/) as HTMLInputElement).value).toBe("35O");
  refuse = false;
  fireEvent.change(within(price).getByLabelText(/^Price/), { target: { value: "350.00" } });
  fireEvent.click(within(price).getByRole("button", { name: "Save price" }));
  await within(price).findByText("Saved.");
  expect(sent.filter((s) => s.method === "PUT").at(-1)?.body).toEqual({ amount: "350.00", currency: "BRL", name: "Botox" });

  const cost = screen.getByRole("form", { name: "Add a cost" });
  fireEvent.change(within(cost).getByLabelText(/^Name/), { target: { value: "Anaesthesia" } });
  fireEvent.change(within(cost).getByLabelText(/^Price/), { target: { value: "120.00" } });
  fireEvent.click(within(cost).getByRole("button", { name: "Add" }));
  await within(cost).findByText("Saved.");
  expect(sent.find((s) => s.path === "/api/v1/funnel/quote-costs" && s.method === "POST")?.body).toEqual({ name: "Anaesthesia", price: "120.00", currency: "BRL" });

  const family = screen.getByRole("form", { name: "Family" });
  fireEvent.click(within(family).getByLabelText("Active"));
  fireEvent.click(within(family).getByRole("button", { name: "Save" }));
  await within(family).findByText("Saved.");
  expect(sent.find((s) => s.method === "PATCH")?.body).toEqual({ name: "Family", percent: "10", active: false });
  await expectAccessible(container);
});
