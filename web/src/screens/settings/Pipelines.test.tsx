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

test("a new pipeline with its stages in order; a refusal shows under the stage's field and keeps what was typed; a clinic's own pipeline is removed", async () => {
  let pipelines = [...PIPELINES];
  const { api, sent } = fakeGateway({
    "GET /api/v1/funnel/pipelines": () => ({ items: pipelines }),
    "POST /api/v1/funnel/pipelines": (body: unknown) => {
      const b = body as { name: string; stages: { key: string; name: string; outcome: string }[] };
      if (b.stages.filter((s) => s.outcome === "won").length > 1) return problem("stages.2.outcome", "A pipeline has at most one won stage.");
      pipelines = [...pipelines, { id: "pl2", kind: "custom", name: b.name, automatic: false, stages: b.stages.map((s, i) => ({ ...s, id: `c${i}`, color: "#1d5fa8", position: i })) }];
      return json(201, { id: "pl2" });
    },
    "DELETE /api/v1/funnel/pipelines/pl2": json(200, { removed: "deleted" }),
  });
  const { container } = renderAs(api, <Settings path="/settings/pipelines" />);
  const form = await screen.findByRole("form", { name: "New pipeline" });
  fireEvent.change(within(form).getAllByLabelText(/^Name/)[0]!, { target: { value: "Implants" } });
  const stages = within(form).getAllByRole("group");
  expect(stages.map((g) => g.querySelector("legend")?.textContent)).toEqual(["Stage 1", "Stage 2", "Stage 3"]);
  fireEvent.change(within(stages[0]!).getByLabelText(/^Name/), { target: { value: "Consultation" } });
  fireEvent.change(within(stages[1]!).getByLabelText(/^Name/), { target: { value: "Signed" } });
  fireEvent.change(within(stages[2]!).getByLabelText(/^Name/), { target: { value: "Paid" } });
  fireEvent.change(within(stages[2]!).getByLabelText("Outcome"), { target: { value: "won" } });
  fireEvent.click(within(form).getByRole("button", { name: "Create pipeline" }));
  await within(stages[2]!).findByText("A pipeline has at most one won stage.");
  expect((within(stages[2]!).getByLabelText(/^Name/) as HTMLInputElement).value).toBe("Paid");
  await expectAccessible(container);
  fireEvent.change(within(stages[2]!).getByLabelText("Outcome"), { target: { value: "lost" } });
  fireEvent.click(within(stages[2]!).getByRole("button", { name: "Move Paid up" }));
  fireEvent.click(within(form).getByRole("button", { name: "Create pipeline" }));
  const mine = await screen.findByRole("region", { name: /Implants/ });
  expect(sent.filter((s) => s.method === "POST").at(-1)!.body).toEqual({
    name: "Implants",
    stages: [
      { key: "new", name: "Consultation", color: "#1d5fa8", outcome: "open" },
      { key: "lost", name: "Paid", color: "#6b7280", outcome: "lost" },
      { key: "won", name: "Signed", color: "#16a34a", outcome: "won" },
    ],
  });
  expect(within(mine).queryByLabelText(/^Automatic/)).toBeNull(); // moved by hand only
  expect(within(screen.getByRole("region", { name: /Sales/ })).queryByRole("button", { name: /Remove pipeline/ })).toBeNull();
  fireEvent.click(within(mine).getByRole("button", { name: "Remove pipeline Implants" }));
  await waitFor(() => expect(sent.some((s) => s.method === "DELETE" && s.path === "/api/v1/funnel/pipelines/pl2")).toBe(true));
});
