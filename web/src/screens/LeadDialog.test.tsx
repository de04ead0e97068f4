import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { LeadDialog, patchBody, formOf } from "./LeadDialog";
import { visibleMenu } from "../App";

const ME: Me = {
  id: "u1",
  email: "ana@clinic.example",
  full_name: "Ana",
  roles: ["sales_agent"],
  permissions: ["crm:read", "crm:write"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" } });

/** The API as the dialog sees it: the lists, then whatever `onCreate` answers to POST /api/v1/leads. */
function server(onCreate: (body: Record<string, unknown>) => Response) {
  const posted: Record<string, unknown>[] = [];
  const fetcher = async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/api/v1/leads/lists/"))
      return json(200, { items: [{ id: "s1", kind: "source", slug: "instagram", label: "Instagram", color: null, position: 0, active: true }], limit: 1 });
    if (url.pathname === "/api/v1/leads" && request.method === "POST") {
      const body = (await request.json()) as Record<string, unknown>;
      posted.push(body);
      return onCreate(body);
    }
    return json(404, { status: 404, title: "Not found" });
  };
  return { api: makeClient(fetcher), posted };
}

test("a refused save shows the problem under the field it names and keeps everything typed", async () => {
  const { api, posted } = server(() =>
    json(422, { status: 422, title: "Unprocessable content", detail: "bad", errors: [{ field: "phone", message: "'12345' is not a valid phone number for region BR." }] }),
  );
  const saved = vi.fn();
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <LeadDialog onClose={() => {}} onSaved={saved} />
    </SessionProvider>,
  );
  fireEvent.change(screen.getByLabelText(/Nome completo/), { target: { value: "Maria Souza" } });
  fireEvent.change(screen.getByLabelText(/^Telefone/), { target: { value: "12345" } });
  fireEvent.change(screen.getByLabelText(/O que perguntou/), { target: { value: "Clareamento" } });
  await waitFor(() => expect(screen.getByLabelText(/Origem/)).toHaveProperty("value", "instagram"));
  await act(async () => fireEvent.click(screen.getByRole("button", { name: "Salvar" })));
  const phone = screen.getByLabelText(/^Telefone/);
  await waitFor(() => expect(phone.getAttribute("aria-invalid")).toBe("true"));
  const error = document.getElementById(phone.getAttribute("aria-describedby")!);
  expect(error?.textContent).toContain("not a valid phone number");
  expect((screen.getByLabelText(/Nome completo/) as HTMLInputElement).value).toBe("Maria Souza");
  expect((screen.getByLabelText(/O que perguntou/) as HTMLTextAreaElement).value).toBe("Clareamento");
  expect(posted[0]).toMatchObject({ name: "Maria Souza", phone: "12345", source: "instagram", reason: "Clareamento", owner_id: "u1" });
  expect(saved).not.toHaveBeenCalled();
});

test("a possible duplicate offers the candidates and the two ways on", async () => {
  const { api, posted } = server((body) =>
    posted.length === 1
      ? json(409, { status: 409, title: "Conflict", detail: "dup", candidates: [{ kind: "lead", id: "l9", name: "Maria S.", status: "PENDING_CONTACT", score: 80, reasons: ["same phone"] }] })
      : json(201, { id: "l10", name: body.name, status: "PENDING_CONTACT", phones: ["+5511987654321"] }),
  );
  const saved = vi.fn();
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <LeadDialog onClose={() => {}} onSaved={saved} />
    </SessionProvider>,
  );
  fireEvent.change(screen.getByLabelText(/Nome completo/), { target: { value: "Maria Souza" } });
  fireEvent.change(screen.getByLabelText(/^Telefone/), { target: { value: "11987654321" } });
  await waitFor(() => expect(screen.getByLabelText(/Origem/)).toHaveProperty("value", "instagram"));
  await act(async () => fireEvent.click(screen.getByRole("button", { name: "Salvar" })));
  await screen.findByRole("link", { name: "Maria S." });
  await act(async () => fireEvent.click(screen.getByRole("button", { name: "Criar um novo prospect mesmo assim" })));
  await waitFor(() => expect(saved).toHaveBeenCalled());
  expect(posted).toHaveLength(2);
});

test("an edit sends only what changed; an emptied field clears it", () => {
  const before = formOf(
    { name: "Ana", phones: ["+5511987654321"], email: "a@x.com", city: "Santos", urgency: "normal", source: "instagram", status: "PENDING_CONTACT" } as never,
    "u1",
  );
  expect(patchBody(before, { ...before, city: "", urgency: "high" })).toEqual({ city: null, urgency: "high" });
  expect(patchBody(before, { ...before, other_phones: "+5511912345678" })).toEqual({ phones: ["+5511987654321", "+5511912345678"] });
});

test("the menu lists only what the permissions allow", () => {
  expect(visibleMenu(["crm:read", "crm:write"]).map((m) => m.path)).toEqual(["/prospects", "/activities", "/conversations"]);
  expect(visibleMenu(["crm:read", "crm:write", "crm:admin"]).map((m) => m.path)).toEqual(["/prospects", "/activities", "/templates", "/conversations", "/settings"]);
  expect(visibleMenu([])).toEqual([]);
});
