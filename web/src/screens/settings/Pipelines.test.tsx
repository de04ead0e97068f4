import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, json, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";

const stage = (id: string, name: string, position: number) => ({ id, key: name.toLowerCase(), name, color: "#1d5fa8", outcome: "open", position });
const PIPELINES = [{ id: "pl1", kind: "sales", name: "Sales", automatic: true, stages: [stage("s2", "Booked", 1), stage("s1", "New", 0), stage("s3", "Visited", 2)] }];

test("stages in order; moving one swaps two positions; a refused new stage keeps its key and shows the problem", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/funnel/pipelines": { items: PIPELINES },
    "PATCH /api/v1/funnel/pipelines/stages/s2": json(200, null),
    "PATCH /api/v1/funnel/pipelines/stages/s1": json(200, null),
    "POST /api/v1/funnel/pipelines/pl1/stages": problem("key", "A stage with this key exists."),
  });
  const { container } = renderAs(api, <Settings path="/settings/pipelines" />);
  const region = await screen.findByRole("region", { name: /Sales/ });
  const names = within(region).getAllByRole("form").map((f) => f.getAttribute("aria-label"));
  expect(names.slice(1, 4)).toEqual(["New", "Booked", "Visited"]);
  fireEvent.click(within(region).getByRole("button", { name: "Move Booked up" }));
  await waitFor(() => expect(sent.filter((s) => s.method === "PATCH")).toHaveLength(2));
  expect(sent.filter((s) => s.method === "PATCH").map((s) => [s.path, s.body])).toEqual([
    ["/api/v1/funnel/pipelines/stages/s2", { position: 0 }],
    ["/api/v1/funnel/pipelines/stages/s1", { position: 1 }],
  ]);
  const add = within(region).getByRole("form", { name: "Add a stage · Sales" });
  fireEvent.change(within(add).getByLabelText(/^Key/), { target: { value: "new" } });
  fireEvent.change(within(add).getByLabelText(/^Name/), { target: { value: "Fresh" } });
  fireEvent.click(within(add).getByRole("button", { name: "Add" }));
  await within(add).findByText("A stage with this key exists.");
  expect((within(add).getByLabelText(/^Key/) as HTMLInputElement).value).toBe("new");
  expect(sent.find((s) => s.method === "POST")?.body).toEqual({ key: "new", name: "Fresh", color: "#1d5fa8", outcome: "open" });
  await expectAccessible(container);
});
