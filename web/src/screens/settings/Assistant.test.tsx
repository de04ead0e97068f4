import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { LOCALES } from "../../i18n";
import { SETTINGS_FUNNEL_DICTIONARIES } from "../../i18n-settings-funnel";
import { expectAccessible, fakeGateway, json, problem, renderAs } from "./testkit";
import { Settings } from "./Settings";
import { exactErrors, renderText } from "./Assistant";

const DEFAULTS = {
  en: { greeting: "Hello!", ask_name: "What is your name?", ask_cpf: "Thanks, {first_name}! Your CPF?", list_button: "See options", ask_procedure: "Which procedure?", ask_region: "Where for {procedure}?" },
  "pt-BR": { greeting: "Olá!", ask_name: "Qual é o seu nome?", ask_cpf: "Obrigada, {first_name}! Seu CPF?", list_button: "Ver opções", ask_procedure: "Qual procedimento?", ask_region: "Onde para {procedure}?" },
  es: { greeting: "¡Hola!", ask_name: "¿Tu nombre?", ask_cpf: "¡Gracias, {first_name}! ¿Tu CPF?", list_button: "Ver opciones", ask_procedure: "¿Qué procedimiento?", ask_region: "¿Dónde para {procedure}?" },
  ru: { greeting: "Здравствуйте!", ask_name: "Как вас зовут?", ask_cpf: "Спасибо, {first_name}! Ваш CPF?", list_button: "Варианты", ask_procedure: "Какая процедура?", ask_region: "Где для {procedure}?" },
};
const SETTINGS = {
  enabled: false,
  procedures: [{ id: "p1", title: "Botox", amount: "150.00" }],
  regions: [],
  messages: { "pt-BR": { greeting: "Oi! Aqui é a Clínica Sol." } },
  default_locale: "pt-BR",
  currency: "BRL",
  reply_minutes: 60,
  handoff_minutes: 120,
  defaults: DEFAULTS,
  variables: { greeting: [], ask_name: [], ask_cpf: ["first_name"], ask_procedure: ["first_name"], ask_region: ["first_name", "procedure"], list_button: [] },
  updated_at: null,
};
const PROCEDURES = { items: [{ id: "p1", name: "Toxina botulínica", active: true }, { id: "p2", name: "Peeling químico facial", active: true }] };
const BRANCHES = { items: [{ id: "b1", name: "Moema", active: true }, { id: "b2", name: "Paulista", active: false }] };

test("the assistant: read, refusals under the field they name (a region's title, a text in another language) with everything kept, the preview of the draft, one PUT", async () => {
  const puts: unknown[] = [];
  const { api } = fakeGateway({
    "GET /api/v1/funnel/assistant/settings": SETTINGS,
    "GET /api/v1/scheduling/procedures": PROCEDURES,
    "GET /api/v1/scheduling/branches": BRANCHES,
    "PUT /api/v1/funnel/assistant/settings": (body: unknown) => {
      puts.push(body);
      const b = body as { regions: { title: string }[]; messages: Record<string, Record<string, string>> };
      if (b.regions[0]!.title.length > 24) return problem("regions.0.title", "A title has 1 to 24 characters.");
      if (b.messages.es?.ask_cpf?.includes("{cpf}")) return problem("messages.es.ask_cpf", "Unknown variable {cpf}; this message may use {first_name}.");
      return json(204, null);
    },
  });
  const { container } = renderAs(api, <Settings path="/settings/assistant" />);
  const form = await screen.findByRole("form", { name: "Pre-qualification assistant" });
  // The saved procedure with its deposit; the clinic's own greeting in pt-BR, the default language.
  const proc = within(form).getByRole("group", { name: "Procedure 1" });
  expect((within(proc).getByLabelText(/^Title shown/) as HTMLInputElement).value).toBe("Botox");
  expect((within(proc).getByLabelText(/^Deposit/) as HTMLInputElement).value).toBe("150.00");
  expect((within(form).getByLabelText("Greeting") as HTMLTextAreaElement).value).toBe("Oi! Aqui é a Clínica Sol.");
  expect(within(form).getByText(/^Built-in: Olá!/)).toBeTruthy();
  fireEvent.click(within(form).getByLabelText("The assistant is on"));
  // A region: the active branch is offered (not the inactive one), its title follows the choice.
  fireEvent.click(within(form).getByRole("button", { name: "+ Add: Branch" }));
  const region = within(form).getByRole("group", { name: "Region 1" });
  expect((within(region).getByLabelText(/^Title shown/) as HTMLInputElement).value).toBe("Moema");
  expect(within(region).queryByRole("option", { name: "Paulista" })).toBeNull();
  fireEvent.change(within(region).getByLabelText(/^Title shown/), { target: { value: "Unidade Moema — Av. Ibirapuera" } });
  // A second procedure, moved above the first.
  fireEvent.click(within(form).getByRole("button", { name: "+ Add: Procedure" }));
  const second = within(form).getByRole("group", { name: "Procedure 2" });
  expect((within(second).getByLabelText(/^Title shown/) as HTMLInputElement).value).toBe("Peeling químico facial");
  fireEvent.click(within(second).getByRole("button", { name: "Move Peeling químico facial up" }));
  // A Spanish text with a variable it may not use, then the English one the form shows next.
  fireEvent.change(within(form).getByLabelText("Language of the texts"), { target: { value: "es" } });
  fireEvent.change(within(form).getByLabelText("Asking the CPF"), { target: { value: "Gracias {first_name}, tu {cpf}?" } });
  fireEvent.change(within(form).getByLabelText("Language of the texts"), { target: { value: "en" } });
  fireEvent.change(within(form).getByLabelText("Asking the CPF"), { target: { value: "Nice to meet you, {first_name}. Your CPF, please?" } });
  // The preview renders the draft as typed, with the sample answers and the choices in their order.
  const preview = within(form).getByRole("region", { name: "Preview: the conversation as the patient sees it" });
  expect(within(preview).getByText("Nice to meet you, Maria. Your CPF, please?")).toBeTruthy();
  expect(within(preview).getByText("Where for Peeling químico facial?")).toBeTruthy();
  expect(within(preview).getByText(/Choices: Peeling químico facial · Botox/)).toBeTruthy();

  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("A title has 1 to 24 characters.");
  expect((within(within(form).getByRole("group", { name: "Region 1" })).getByLabelText(/^Title shown/) as HTMLInputElement).value).toBe("Unidade Moema — Av. Ibirapuera");
  expect((within(form).getByLabelText("The assistant is on") as HTMLInputElement).checked).toBe(true);
  await expectAccessible(container);

  fireEvent.change(within(within(form).getByRole("group", { name: "Region 1" })).getByLabelText(/^Title shown/), { target: { value: "Moema" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  // The Spanish text's problem: the texts switch to Spanish, the problem under that text, the text kept.
  await within(form).findByText("Unknown variable {cpf}; this message may use {first_name}.");
  expect((within(form).getByLabelText("Language of the texts") as HTMLSelectElement).value).toBe("es");
  expect((within(form).getByLabelText("Asking the CPF") as HTMLTextAreaElement).value).toBe("Gracias {first_name}, tu {cpf}?");

  fireEvent.click(within(form).getByRole("button", { name: "Use the built-in text for “Asking the CPF”" }));
  fireEvent.change(within(form).getByLabelText(/^Remind after/), { target: { value: "30" } });
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByText("Saved.");
  expect(puts.at(-1)).toEqual({
    enabled: true,
    procedures: [
      { id: "p2", title: "Peeling químico facial", amount: null },
      { id: "p1", title: "Botox", amount: "150.00" },
    ],
    regions: [{ id: "b1", title: "Moema" }],
    messages: { "pt-BR": { greeting: "Oi! Aqui é a Clínica Sol." }, en: { ask_cpf: "Nice to meet you, {first_name}. Your CPF, please?" } },
    default_locale: "pt-BR",
    currency: "BRL",
    reply_minutes: 30,
    handoff_minutes: 120,
  });
});

test("a procedure no longer in scheduling stays listed and can be removed; a refusal naming no shown field goes above the form", async () => {
  const { api, sent } = fakeGateway({
    "GET /api/v1/funnel/assistant/settings": { ...SETTINGS, procedures: [{ id: "gone", title: "Laser", amount: null }] },
    "GET /api/v1/scheduling/procedures": PROCEDURES,
    "GET /api/v1/scheduling/branches": BRANCHES,
    "PUT /api/v1/funnel/assistant/settings": () => json(403, { status: 403, title: "Forbidden", detail: "funnel:admin needed" }),
  });
  renderAs(api, <Settings path="/settings/assistant" />);
  const form = await screen.findByRole("form", { name: "Pre-qualification assistant" });
  const proc = within(form).getByRole("group", { name: "Procedure 1" });
  expect((within(proc).getByLabelText("Procedure") as HTMLSelectElement).value).toBe("gone");
  expect(within(proc).getByRole("option", { name: "gone (no longer in scheduling)" })).toBeTruthy();
  fireEvent.click(within(proc).getByRole("button", { name: "Remove Laser" }));
  expect(within(form).queryByRole("group", { name: "Procedure 1" })).toBeNull();
  fireEvent.click(within(form).getByRole("button", { name: "Save" }));
  await within(form).findByRole("alert");
  await waitFor(() => expect((sent.find((s) => s.method === "PUT")!.body as { procedures: unknown[] }).procedures).toEqual([]));
});

test("the service's rendering and field paths; every language has every text of the funnel's settings", () => {
  expect(renderText("Oi {first_name}, {unknown}!", { first_name: "Maria" })).toBe("Oi Maria, {unknown}!");
  expect(exactErrors({ status: 400, errors: [{ field: "procedures[1].title", message: "a" }, { field: "body.reply_minutes", message: "b" }] })).toEqual({ "procedures.1.title": "a", reply_minutes: "b" });
  const keys = Object.keys(SETTINGS_FUNNEL_DICTIONARIES.en).sort();
  for (const locale of LOCALES) {
    expect(Object.keys(SETTINGS_FUNNEL_DICTIONARIES[locale]).sort()).toEqual(keys);
    for (const key of keys) expect(SETTINGS_FUNNEL_DICTIONARIES[locale][key as keyof typeof SETTINGS_FUNNEL_DICTIONARIES.en].trim()).not.toBe("");
  }
  // A name for every text the service lets a clinic edit (funnel.domain.assistant.MESSAGE_VARS).
  for (const key of ["greeting", "ask_name", "bad_name", "ask_cpf", "bad_cpf", "cpf_length", "cpf_check", "ask_procedure", "bad_procedure", "ask_region", "bad_region", "list_button", "payment_link", "booking_link", "completed", "reminder", "handoff", "handback"])
    expect(keys).toContain(`msg.${key}`);
});
