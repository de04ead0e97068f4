import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { expectAccessible, fakeGateway, json, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";
import { offsetsOf } from "./Policies";
import { questionId } from "./Intake";

const POLICY = { hold_minutes: 15, min_lead_minutes: 60, slot_step_minutes: 30, refund_cutoff_hours: 24, reminder_offsets: [1440, 120], country: "BR", anamnesis_questionnaire_id: null };

test("quiet hours: read, a refused save keeps what was typed with the problem under the field, switched off sends nulls", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/notifications/settings": { timezone: "America/Sao_Paulo", locale: "pt-BR", quiet_start: "21:00", quiet_end: "08:00" },
    "PUT /api/v1/notifications/settings": (body: unknown) =>
      (body as { timezone: string }).timezone === "Mars/Olympus" ? problem("timezone", "Unknown time zone 'Mars/Olympus'.") : body,
  });
  const { container } = renderAs(api, <Settings path="/settings/quiet" />);
  const form = await screen.findByRole("form", { name: "Notifications and quiet hours" });
  expect((within(form).getByLabelText(/^From/) as HTMLInputElement).value).toBe("21:00");
  fireEvent.change(within(form).getByLabelText(/^Time zone/), { target: { value: "Mars/Olympus" } });
  fireEvent.change(within(form).getByLabelText(/^Until/), { target: { value: "07:30" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("Unknown time zone 'Mars/Olympus'.");
  expect((within(form).getByLabelText(/^Time zone/) as HTMLInputElement).value).toBe("Mars/Olympus");
  expect((within(form).getByLabelText(/^Until/) as HTMLInputElement).value).toBe("07:30");
  await expectAccessible(container);
  fireEvent.change(within(form).getByLabelText(/^Time zone/), { target: { value: "America/Sao_Paulo" } });
  fireEvent.click(within(form).getByLabelText("Quiet hours"));
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("Saved.");
  expect(sent.filter((s) => s.method === "PUT").map((s) => s.body)).toEqual([
    { timezone: "Mars/Olympus", locale: "pt-BR", quiet_start: "21:00", quiet_end: "07:30" },
    { timezone: "America/Sao_Paulo", locale: "pt-BR", quiet_start: null, quiet_end: null },
  ]);
});

test("the booking policy: every number, the reminders as a list, the questionnaire from the clinic's; a refusal under its field", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/scheduling/policy": POLICY,
    "GET /api/v1/scheduling/questionnaires": { items: [{ id: "q1", name: "Anamnese geral", sections: [] }] },
    "PUT /api/v1/scheduling/policy": (body: unknown) =>
      (body as { reminder_offsets: unknown[] }).reminder_offsets.includes("soon") ? problem("reminder_offsets[1]", "Expected `int`, got `str`") : { ...POLICY, ...(body as object) },
  });
  const { container } = renderAs(api, <Settings path="/settings/policy" />);
  const form = await screen.findByRole("form", { name: "Booking policy" });
  expect((within(form).getByLabelText(/^Reminders/) as HTMLInputElement).value).toBe("1440, 120");
  fireEvent.change(within(form).getByLabelText(/^Hold a slot/), { target: { value: "20" } });
  fireEvent.change(within(form).getByLabelText(/^Reminders/), { target: { value: "1440, soon" } });
  fireEvent.change(within(form).getByLabelText(/^Anamnesis questionnaire/), { target: { value: "q1" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("Expected `int`, got `str`");
  expect((within(form).getByLabelText(/^Hold a slot/) as HTMLInputElement).value).toBe("20");
  await expectAccessible(container);
  fireEvent.change(within(form).getByLabelText(/^Reminders/), { target: { value: "1440, 60" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("Saved.");
  expect(sent.filter((s) => s.method === "PUT").at(-1)!.body).toEqual({
    hold_minutes: 20, min_lead_minutes: 60, slot_step_minutes: 30, refund_cutoff_hours: 24, reminder_offsets: [1440, 60], country: "BR", anamnesis_questionnaire_id: "q1",
  });
  expect(offsetsOf("1440; 60 30")).toEqual([1440, 60, 30]);
});

const FORM = { id: "f1", name: "Site: avaliação", kind: "web", source: "website_form", treatment: null, active: true, key: "k1", locale: "pt-BR", created_at: "2026-12-01T12:00:00Z", created_by: "u", url: "https://clinic.example/f/k1", secret: null, webhook_url: null };

test("web forms: listed with their page, a Tilda form's secret shown once after creation, renamed and switched off", async () => {
  let forms = [FORM];
  const { api, sent } = fakeGateway({
    "GET /api/v1/leads/forms": () => ({ items: forms, limit: forms.length }),
    "GET /api/v1/leads/lists/source": { items: [{ id: "s1", kind: "source", slug: "website_form", label: "Site", color: null, position: 0, active: true }] },
    "GET /api/v1/leads/lists/treatment": { items: [{ id: "t1", kind: "treatment", slug: "implants", label: "Implants", color: null, position: 0, active: true }] },
    "POST /api/v1/leads/forms": (body: unknown) => {
      const b = body as { name: string; kind: string };
      if (!b.name) return problem("name", "A form's name is 1-120 characters.");
      const made = { ...FORM, id: "f2", name: b.name, kind: b.kind, url: "https://api.example/public/leads/tilda/k2", secret: "s3cr3t", webhook_url: "https://api.example/public/leads/tilda/k2?secret=s3cr3t" };
      forms = [...forms, { ...made, secret: null, webhook_url: null }];
      return made;
    },
    "PATCH /api/v1/leads/forms/f1": (body: unknown) => ({ ...FORM, ...(body as object) }),
  });
  const { container } = renderAs(api, <Settings path="/settings/forms" />);
  const item = await screen.findByRole("form", { name: "Site: avaliação" });
  expect(within(item).getByRole("link", { name: "https://clinic.example/f/k1" })).toBeTruthy();
  const add = screen.getByRole("form", { name: "Add a form" });
  fireEvent.change(within(add).getByLabelText("Kind"), { target: { value: "tilda" } });
  fireEvent.change(within(add).getByLabelText(/^Treatment/), { target: { value: "implants" } });
  fireEvent.click(within(add).getByRole("button", { name: "Add" }));
  await within(add).findByText("A form's name is 1-120 characters.");
  expect((within(add).getByLabelText("Kind") as HTMLSelectElement).value).toBe("tilda");
  fireEvent.change(within(add).getByLabelText(/^Name/), { target: { value: "Tilda: landing" } });
  fireEvent.click(within(add).getByRole("button", { name: "Add" }));
  const tilda = await screen.findByRole("form", { name: "Tilda: landing" });
  expect(within(tilda).getByText("https://api.example/public/leads/tilda/k2?secret=s3cr3t")).toBeTruthy();
  expect(sent.filter((s) => s.method === "POST").at(-1)!.body).toEqual({ name: "Tilda: landing", kind: "tilda", source: "website_form", treatment: "implants" });
  await expectAccessible(container);
  fireEvent.change(within(item).getByLabelText(/^Name/), { target: { value: "Site: agende" } });
  fireEvent.click(within(item).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(sent.some((s) => s.method === "PATCH" && (s.body as { name?: string }).name === "Site: agende")).toBe(true));
  fireEvent.click(within(item).getByRole("button", { name: "Deactivate" }));
  await waitFor(() => expect(sent.filter((s) => s.method === "PATCH").at(-1)!.body).toEqual({ active: false }));
});

test("questionnaires: listed with their questions; a new one with sections and questions, a refusal keeps every question typed", async () => {
  const list = [{ id: "q1", name: "Anamnese geral", sections: [{ title: "Saúde", questions: [{ id: "alergias", label: "Alergias?", type: "yes_no", required: true, options: [] }] }] }];
  const { api, sent } = fakeGateway({
    "GET /api/v1/scheduling/questionnaires": { items: list },
    "POST /api/v1/scheduling/questionnaires": (body: unknown) =>
      (body as { sections: { questions: { options: string[]; type: string }[] }[] }).sections[0]!.questions.some((q) => q.type === "single_choice" && q.options.length < 2)
        ? problem("sections", "Question fuma: a choice needs at least two options.")
        : { id: "q2", ...(body as object) },
  });
  const { container } = renderAs(api, <Settings path="/settings/questionnaires" />);
  await screen.findByText("Anamnese geral");
  expect(screen.getByText("1 questions")).toBeTruthy();
  const add = screen.getByRole("form", { name: "Add a questionnaire" });
  fireEvent.change(within(add).getByLabelText(/^Name/), { target: { value: "Pré-operatório" } });
  const section = within(add).getByRole("group", { name: "Section 1" });
  fireEvent.change(within(section).getByLabelText(/^Section title/), { target: { value: "Hábitos" } });
  const q1 = within(section).getByRole("group", { name: "Question 1" });
  fireEvent.change(within(q1).getByLabelText(/^Question/), { target: { value: "Você fuma?" } });
  fireEvent.change(within(q1).getByLabelText(/^Id/), { target: { value: "fuma" } });
  fireEvent.change(within(q1).getByLabelText("Answer"), { target: { value: "single_choice" } });
  fireEvent.change(within(q1).getByLabelText(/^Options/), { target: { value: "Sim" } });
  fireEvent.click(within(section).getByRole("button", { name: "+ Add a question" }));
  const q2 = within(section).getByRole("group", { name: "Question 2" });
  fireEvent.change(within(q2).getByLabelText(/^Question/), { target: { value: "Medicações em uso" } });
  fireEvent.change(within(q2).getByLabelText("Answer"), { target: { value: "textarea" } });
  fireEvent.click(within(q2).getByLabelText("Required"));
  fireEvent.click(within(add).getByRole("button", { name: "Add" }));
  await within(add).findByText("Question fuma: a choice needs at least two options.");
  expect((within(q2).getByLabelText(/^Question/) as HTMLInputElement).value).toBe("Medicações em uso");
  await expectAccessible(container);
  fireEvent.change(within(q1).getByLabelText(/^Options/), { target: { value: "Sim, Não, Parei" } });
  fireEvent.click(within(add).getByRole("button", { name: "Add" }));
  await waitFor(() => expect(sent.filter((s) => s.method === "POST")).toHaveLength(2));
  expect(sent.filter((s) => s.method === "POST").at(-1)!.body).toEqual({
    name: "Pré-operatório",
    sections: [
      {
        title: "Hábitos",
        questions: [
          { id: "fuma", label: "Você fuma?", type: "single_choice", required: false, options: ["Sim", "Não", "Parei"] },
          { id: "medicacoes_em_uso", label: "Medicações em uso", type: "textarea", required: true, options: [] },
        ],
      },
    ],
  });
  expect(questionId("Alergias? Quais")).toBe("alergias_quais");
});

test("a questionnaire is changed as a whole and removed; the policy's own refusal is shown", async () => {
  const Q = { id: "q1", name: "Anamnese", sections: [{ title: "Saúde", questions: [{ id: "allergies", label: "Alergias?", type: "yes_no", required: true }] }] };
  const { api, sent } = fakeGateway({
    "GET /api/v1/scheduling/questionnaires": { items: [Q] },
    "PUT /api/v1/scheduling/questionnaires/q1": (body: unknown) => ({ id: "q1", ...(body as object) }),
    "DELETE /api/v1/scheduling/questionnaires/q1": json(409, { status: 409, title: "Conflict", detail: "The booking policy sends this questionnaire before visits; choose another there first." }),
  });
  const { container } = renderAs(api, <Settings path="/settings/questionnaires" />);
  fireEvent.click(await screen.findByRole("button", { name: "Change Anamnese" }));
  const form = await screen.findByRole("form", { name: "Change “Anamnese”" });
  expect((within(form).getByLabelText(/^Question \*/) as HTMLInputElement).value).toBe("Alergias?");
  fireEvent.change(within(form).getByLabelText(/^Name/), { target: { value: "Anamnese estética" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(sent.some((s) => s.method === "PUT")).toBe(true));
  expect(sent.find((s) => s.method === "PUT")!.body).toEqual({
    name: "Anamnese estética",
    sections: [{ title: "Saúde", questions: [{ id: "allergies", label: "Alergias?", type: "yes_no", required: true, options: [] }] }],
  });
  fireEvent.click(screen.getByRole("button", { name: "Remove Anamnese" }));
  await screen.findByText("The booking policy sends this questionnaire before visits; choose another there first.");
  await expectAccessible(container);
});
