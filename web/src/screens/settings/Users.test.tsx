import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { SETTINGS_DICTIONARIES } from "../../i18n-settings";
import { LOCALES } from "../../i18n";
import { visibleMenu } from "../../App";
import { expectAccessible, fakeGateway, problem, renderAs, ADMIN } from "./testkit";
import { Settings, visibleSections } from "./Settings";

const ROLES = [
  { id: "r1", name: "admin", description: "configures", permissions: ["crm:admin"], builtin: true, updated_at: "2026-01-01T00:00:00Z" },
  { id: "r2", name: "night_desk", description: "nights", permissions: ["crm:read"], builtin: false, updated_at: "2026-01-01T00:00:00Z" },
];
const PERMISSIONS = [
  { name: "crm:read", description: "see leads" },
  { name: "crm:admin", description: "configure" },
];
const STAFF = [
  { id: "s1", email: "ana@clinic.example", full_name: "Ana Admin", roles: ["admin"], active: true, created_at: "2026-01-01T00:00:00Z", department_ids: [], section_ids: [] },
];

const SECTIONS = [
  { id: "sec1", name: "Recepção", active: true, updated_at: "2026-01-01T00:00:00Z" },
  { id: "sec2", name: "Call center", active: false, updated_at: "2026-01-01T00:00:00Z" },
];

function gateway(onCreate: (body: unknown) => unknown) {
  return fakeGateway({
    "GET /api/v1/staff": { items: STAFF },
    "GET /api/v1/identity/roles": { items: ROLES },
    "GET /api/v1/identity/permissions": { items: PERMISSIONS },
    "GET /api/v1/identity/sections": { items: SECTIONS },
    "GET /api/v1/identity/departments": { items: [] },
    "POST /api/v1/staff": onCreate,
    "PATCH /api/v1/staff/s1": (body: unknown) => ({ ...STAFF[0], ...(body as object) }),
    "PATCH /api/v1/identity/roles/r2": (body: unknown) => ({ ...ROLES[1], ...(body as object) }),
  });
}

test("every language has every Settings text, none empty", () => {
  const keys = Object.keys(SETTINGS_DICTIONARIES.en).sort();
  for (const locale of LOCALES) {
    expect(Object.keys(SETTINGS_DICTIONARIES[locale]).sort()).toEqual(keys);
    for (const key of keys) expect(SETTINGS_DICTIONARIES[locale][key as keyof typeof SETTINGS_DICTIONARIES.en].trim()).not.toBe("");
  }
});

test("the menu shows Settings to admins only, and each section needs its API's permission", () => {
  expect(visibleMenu(["crm:read", "crm:write"]).map((m) => m.path)).not.toContain("/settings");
  expect(visibleMenu(ADMIN.permissions).map((m) => m.path)).toContain("/settings");
  expect(visibleSections(["crm:admin"]).map((s) => s.key)).toContain("users");
  expect(visibleSections(["crm:read"])).toEqual([]);
});

test("a refused new user shows the problem under the e-mail and keeps everything typed; then it is added", async () => {
  let refuse = true;
  const { api, sent } = gateway((body) => {
    if (refuse) return problem("email", "This e-mail is already in use.");
    return { ...STAFF[0], id: "s2", ...(body as object), active: true };
  });
  const { container } = renderAs(api, <Settings path="/settings/users" />);
  await screen.findByText("Ana Admin");
  const form = screen.getByRole("form", { name: "Add a user" });
  const box = within(form);
  fireEvent.change(box.getByLabelText(/E-mail/), { target: { value: "ana@clinic.example" } });
  fireEvent.change(box.getByLabelText(/Full name/), { target: { value: "Bia Souza" } });
  fireEvent.change(box.getByLabelText(/Initial password/), { target: { value: "a-long-password" } });
  fireEvent.click(box.getByLabelText("night_desk"));
  fireEvent.click(box.getByRole("button", { name: "Add" }));
  const error = await box.findByText("This e-mail is already in use.");
  expect(box.getByLabelText(/E-mail/).getAttribute("aria-describedby")).toBe(error.id);
  expect((box.getByLabelText(/Full name/) as HTMLInputElement).value).toBe("Bia Souza");
  expect((box.getByLabelText(/Initial password/) as HTMLInputElement).value).toBe("a-long-password");
  expect((box.getByLabelText("night_desk") as HTMLInputElement).checked).toBe(true);
  expect(sent.find((s) => s.method === "POST")?.body).toEqual({ email: "ana@clinic.example", full_name: "Bia Souza", password: "a-long-password", roles: ["night_desk"], section_ids: [], department_ids: [] });
  await expectAccessible(container);
  refuse = false;
  fireEvent.change(box.getByLabelText(/E-mail/), { target: { value: "bia@clinic.example" } });
  fireEvent.click(box.getByRole("button", { name: "Add" }));
  await waitFor(() => expect((box.getByLabelText(/E-mail/) as HTMLInputElement).value).toBe(""));
  // The list is read again once the form is cleared (the reload's request follows that render).
  await waitFor(() => expect(sent.filter((s) => s.method === "GET" && s.path === "/api/v1/staff")).toHaveLength(2));
});

test("a role's permissions are changed with one PATCH", async () => {
  const { api, sent } = gateway(() => ({}));
  renderAs(api, <Settings path="/settings/users" />);
  const role = await screen.findByRole("form", { name: "night_desk" });
  fireEvent.click(within(role).getByLabelText("crm:admin"));
  fireEvent.click(within(role).getByRole("button", { name: "Save" }));
  await within(role).findByText("Saved.");
  expect(sent.find((s) => s.method === "PATCH")).toMatchObject({ path: "/api/v1/identity/roles/r2", body: { description: "nights", permissions: ["crm:read", "crm:admin"] } });
});

test("a user is placed in a section with the other changes; a switched-off section is not offered", async () => {
  const { api, sent } = gateway(() => ({}));
  renderAs(api, <Settings path="/settings/users" />);
  const member = await screen.findByRole("form", { name: "ana@clinic.example" });
  const box = within(member);
  expect(box.queryByLabelText("Call center")).toBeNull(); // switched off, and Ana is not in it
  expect(within(screen.getByRole("form", { name: "Add a user" })).getByLabelText("Recepção")).toBeTruthy();
  fireEvent.click(box.getByLabelText("Recepção"));
  fireEvent.click(box.getByRole("button", { name: "Save" }));
  await box.findByText("Saved.");
  expect(sent.find((s) => s.method === "PATCH")).toMatchObject({
    path: "/api/v1/staff/s1",
    body: { full_name: "Ana Admin", roles: ["admin"], active: true, section_ids: ["sec1"], department_ids: [] },
  });
});
