import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { DealCard } from "./DealCard";
import { decimalOf, problemFields } from "./DealForms";

const ME: Me = {
  id: "u1",
  email: "ana@clinic.example",
  full_name: "Ana",
  roles: ["curator"],
  permissions: ["crm:read", "funnel:read", "funnel:write"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status < 300 ? "application/json" : "application/problem+json" } });

const deal = (curator: string | null) => ({
  id: "d1", name: "Joana Prado", phone: "+5511987654321", amount: "0", paid: "0", curator_id: curator, kind: "arrived",
  lead_id: "l1", patient_id: "pt1", next_booking_at: null, pipeline_id: "p2", source: "instagram", stage_id: "s1",
  stage_key: "arrived", stage_since: "2026-12-01T12:00:00Z", tasks_green: 0, tasks_red: 0,
});

function gateway() {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  let curator: string | null = null;
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method !== "GET" ? await request.json().catch(() => undefined) : undefined;
    sent.push({ method: request.method, path: url.pathname, body });
    if (url.pathname === "/api/v1/funnel/deals/d1") return json({ deal: deal(curator), plans: [], tasks: [], visits: [], bookings: [], feed: [] });
    if (url.pathname === "/api/v1/funnel/curators") return json({ items: [{ user_id: "c1", general_percent: "10", per_service: {} }, { user_id: "c2", general_percent: "5", per_service: {} }], limit: 2 });
    if (url.pathname === "/api/v1/leads/staff") return json({ items: [{ user_id: "c1", full_name: "Dra. Lima" }, { user_id: "c2", full_name: "Dr. Souza" }] });
    if (url.pathname === "/api/v1/notifications/messages") return json({ items: [] });
    if (url.pathname === "/api/v1/funnel/deals/d1/curator") {
      const id = (body as { curator_id: string }).curator_id;
      if (id === "c2") return json({ status: 404, title: "Not found", errors: [{ field: "curator_id", message: "No such curator in this clinic." }] }, 404);
      curator = id;
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/api/v1/funnel/deals/d1/plans") {
      const plan = body as { items: { price: string }[] };
      if (plan.items[1]?.price === "0") return json({ status: 422, title: "Invalid", errors: [{ field: "items[1].price", message: "The price is between 0 and 1000000." }] }, 422);
      return json({ id: "pl9" }, 201);
    }
    return json({ status: 404, title: "Not found" }, 404);
  });
  return { api, sent };
}

test("the API's field paths and the clinic's decimals", () => {
  expect(problemFields({ status: 422, errors: [{ field: "body.items[2].price", message: "bad" }, { field: "title", message: "x" }] })).toEqual({ "items.2.price": "bad", title: "x" });
  expect(decimalOf("1.234,50")).toBe("1234.50");
  expect(decimalOf(" 750.5 ")).toBe("750.5");
  expect(decimalOf("")).toBe("");
});

test("a curator is put on the deal from the card; a refusal shows under the curator and keeps the choice", async () => {
  const { api, sent } = gateway();
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <DealCard id="d1" onClose={() => {}} onChanged={() => {}} />
    </SessionProvider>,
  );
  const dialog = await screen.findByRole("dialog", { name: "Joana Prado" });
  const form = within(dialog).getByRole("form", { name: "Curador" });
  await within(form).findByRole("option", { name: "Dr. Souza" });
  const select = within(form).getByRole("combobox", { name: "Curador" }) as HTMLSelectElement;
  fireEvent.change(select, { target: { value: "c2" } });
  fireEvent.click(within(form).getByRole("button", { name: "Atribuir" }));
  expect(await within(form).findByText("No such curator in this clinic.")).toBeTruthy();
  expect(select.value).toBe("c2");
  expect(select.getAttribute("aria-invalid")).toBe("true");
  fireEvent.change(select, { target: { value: "c1" } });
  fireEvent.click(within(form).getByRole("button", { name: "Atribuir" }));
  await waitFor(() => expect(dialog.querySelector("[data-curator]")!.getAttribute("data-curator")).toBe("c1"));
  expect(sent.filter((s) => s.path.endsWith("/curator")).map((s) => [s.method, s.body])).toEqual([
    ["PUT", { curator_id: "c2" }],
    ["PUT", { curator_id: "c1" }],
  ]);
});

test("a treatment plan is created from the card; an item's refused price shows under that item and nothing typed is lost", async () => {
  const { api, sent } = gateway();
  const changed: number[] = [];
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <DealCard id="d1" onClose={() => {}} onChanged={() => changed.push(1)} />
    </SessionProvider>,
  );
  const dialog = await screen.findByRole("dialog", { name: "Joana Prado" });
  fireEvent.click(await within(dialog).findByRole("button", { name: "+ Novo plano de tratamento" }));
  const form = within(dialog).getByRole("form", { name: "Novo plano de tratamento" });
  fireEvent.change(within(form).getByLabelText(/^Título do plano/), { target: { value: "Implantes" } });
  const first = within(form).getByRole("group", { name: "Item 1" });
  fireEvent.change(within(first).getByLabelText(/^Procedimento/), { target: { value: "Implante" } });
  fireEvent.change(within(first).getByLabelText(/^Qtd/), { target: { value: "2" } });
  fireEvent.change(within(first).getByLabelText(/^Preço/), { target: { value: "1.500,00" } });
  fireEvent.change(within(first).getByLabelText(/^Desconto/), { target: { value: "10" } });
  fireEvent.click(within(form).getByRole("button", { name: "+ Adicionar item" }));
  const second = within(form).getByRole("group", { name: "Item 2" });
  fireEvent.change(within(second).getByLabelText(/^Procedimento/), { target: { value: "Coroa" } });
  fireEvent.change(within(second).getByLabelText(/^Etapa/), { target: { value: "2" } });
  fireEvent.click(within(form).getByRole("button", { name: "Criar o plano" }));
  expect(await within(second).findByText("The price is between 0 and 1000000.")).toBeTruthy();
  expect(within(first).queryByRole("alert")).toBeNull();
  expect((within(form).getByLabelText(/^Título do plano/) as HTMLInputElement).value).toBe("Implantes");
  expect((within(first).getByLabelText(/^Preço/) as HTMLInputElement).value).toBe("1.500,00");
  expect((within(second).getByLabelText(/^Procedimento/) as HTMLInputElement).value).toBe("Coroa");
  fireEvent.change(within(second).getByLabelText(/^Preço/), { target: { value: "800" } });
  fireEvent.click(within(form).getByRole("button", { name: "Criar o plano" }));
  await waitFor(() => expect(changed.length).toBe(1));
  expect(within(dialog).queryByRole("form", { name: "Novo plano de tratamento" })).toBeNull();
  expect(sent.filter((s) => s.path.endsWith("/plans")).at(-1)!.body).toEqual({
    title: "Implantes",
    currency: "BRL",
    items: [
      { procedure: "Implante", quantity: 2, price: "1500.00", discount: "10", stage: 1 },
      { procedure: "Coroa", quantity: 1, price: "800", discount: null, stage: 2 },
    ],
  });
});

test("without funnel:write the card names the curator and offers no plan form", async () => {
  const { api } = gateway();
  render(
    <SessionProvider me={{ ...ME, permissions: ["crm:read", "funnel:read"] }} api={api} onLogout={() => {}}>
      <DealCard id="d1" onClose={() => {}} onChanged={() => {}} />
    </SessionProvider>,
  );
  const dialog = await screen.findByRole("dialog", { name: "Joana Prado" });
  await within(dialog).findByText("Curador: Sem curador");
  expect(within(dialog).queryByRole("button", { name: /Novo plano/ })).toBeNull();
  expect(within(dialog).queryByRole("form", { name: "Curador" })).toBeNull();
});
