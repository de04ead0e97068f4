import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";

const item = (id: string, label: string, position: number, color: string | null = null, active = true) => ({ id, kind: "source", slug: label.toLowerCase(), label, color, position, active });

test("a list in its order: move an item, recolour one, a refused new item keeps its label; another list on switching", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/lists/source": { items: [item("i1", "Instagram", 0, "#c13584"), item("i2", "Google", 1), item("i3", "Old flyer", 2, null, false)] },
    "GET /api/v1/leads/lists/treatment": { items: [item("t1", "Implants", 0)] },
    "PUT /api/v1/leads/lists/source/order": (body: unknown) => ({ items: (body as { ids: string[] }).ids.map((id, i) => item(id, id, i)) }),
    "PATCH /api/v1/leads/lists/source/i2": (body: unknown) => ({ ...item("i2", "Google", 1), ...(body as object) }),
    "POST /api/v1/leads/lists/source": problem("label", "An item with this label exists."),
  });
  const { container } = renderAs(api, <Settings path="/settings/lists" />);
  const list = await screen.findByRole("list", { name: "Lead sources" });
  expect(within(list).getAllByRole("form").map((f) => f.getAttribute("aria-label"))).toEqual(["Instagram", "Google", "Old flyer"]);
  expect(within(list).getByRole("button", { name: "Move Instagram up" })).toHaveProperty("disabled", true);
  fireEvent.click(within(list).getByRole("button", { name: "Move Google up" }));
  await waitFor(() => expect(sent.find((s) => s.method === "PUT")?.body).toEqual({ ids: ["i2", "i1", "i3"] }));

  const add = screen.getByRole("form", { name: "Add an item" });
  fireEvent.change(within(add).getByLabelText(/^Label/), { target: { value: "Instagram" } });
  fireEvent.click(within(add).getByLabelText("Has a colour"));
  fireEvent.click(within(add).getByRole("button", { name: "Add" }));
  await within(add).findByText("An item with this label exists.");
  expect((within(add).getByLabelText(/^Label/) as HTMLInputElement).value).toBe("Instagram");
  expect(sent.find((s) => s.method === "POST")?.body).toEqual({ label: "Instagram", slug: null, color: "#1d5fa8" });
  await expectAccessible(container);

  fireEvent.change(screen.getByLabelText("List"), { target: { value: "treatment" } });
  const treatments = await screen.findByRole("list", { name: "Treatments" });
  expect(within(treatments).getAllByRole("form").map((f) => f.getAttribute("aria-label"))).toEqual(["Implants"]);
});

test("an item's colour is cleared with clear_color, and an inactive one can be switched back on", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/lists/source": { items: [item("i1", "Instagram", 0, "#c13584"), item("i3", "Old flyer", 1, null, false)] },
    "PATCH /api/v1/leads/lists/source/i1": (body: unknown) => ({ ...item("i1", "Instagram", 0), ...(body as object) }),
    "PATCH /api/v1/leads/lists/source/i3": (body: unknown) => ({ ...item("i3", "Old flyer", 1), ...(body as object) }),
  });
  renderAs(api, <Settings path="/settings/lists" />);
  const insta = await screen.findByRole("form", { name: "Instagram" });
  fireEvent.click(within(insta).getByLabelText("Has a colour"));
  fireEvent.click(within(insta).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(sent.find((s) => s.path.endsWith("/i1"))?.body).toEqual({ label: "Instagram", clear_color: true }));
  fireEvent.click(within(screen.getByRole("form", { name: "Old flyer" })).getByRole("button", { name: "Activate" }));
  await waitFor(() => expect(sent.find((s) => s.path.endsWith("/i3"))?.body).toEqual({ active: true, clear_color: false }));
});

const style = (status: string, position: number, color: string, label: string | null = null) => ({ status, label, color, position, closed: status === "NOT_INTERESTED" || status === "VISIT_COMPLETED" });

test("lead statuses: recolour and rename one (a refused colour under the field, kept), move one (the whole order in one PUT)", async () => {
  const three = [style("PENDING_CONTACT", 0, "#8A5A00"), style("RESCHEDULED", 1, "#0B7285"), style("NOT_INTERESTED", 2, "#5C6670")];
  let colourTries = 0;
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/lists/source": { items: [] },
    "GET /api/v1/leads/statuses": { items: three },
    "PATCH /api/v1/leads/statuses/RESCHEDULED": (body: unknown) =>
      ++colourTries === 1 ? problem("color", "A colour is written #RRGGBB.") : { ...three[1], ...(body as object), clear_label: undefined },
    "PUT /api/v1/leads/statuses/order": (body: unknown) => ({ items: (body as { statuses: string[] }).statuses.map((s, i) => style(s, i, "#000000")) }),
  });
  const { container } = renderAs(api, <Settings path="/settings/lists" />);
  await screen.findByRole("list", { name: "Lead sources" });
  fireEvent.change(screen.getByLabelText("List"), { target: { value: "lead_status" } });
  const list = await screen.findByRole("list", { name: "Lead statuses" });
  expect(within(list).getAllByRole("form").map((f) => f.getAttribute("data-status"))).toEqual(["PENDING_CONTACT", "RESCHEDULED", "NOT_INTERESTED"]);
  const form = within(list).getAllByRole("form")[1]!;
  fireEvent.change(within(form).getByLabelText(/^Own name/), { target: { value: "Remarcado" } });
  fireEvent.change(within(form).getByLabelText("Colour"), { target: { value: "#a855f7" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("A colour is written #RRGGBB.");
  expect((within(form).getByLabelText(/^Own name/) as HTMLInputElement).value).toBe("Remarcado");
  expect(sent.find((s) => s.method === "PATCH")?.body).toEqual({ label: "Remarcado", color: "#a855f7", clear_label: false, reset_color: false });
  await expectAccessible(container);
  fireEvent.click(within(list).getAllByRole("button", { name: /^Move .* down$/ })[0]!);
  await waitFor(() => expect(sent.find((s) => s.method === "PUT")?.body).toEqual({ statuses: ["RESCHEDULED", "PENDING_CONTACT", "NOT_INTERESTED"] }));
});
