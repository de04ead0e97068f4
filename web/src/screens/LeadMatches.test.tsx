import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Lead, Me } from "../api/client";
import { ADMIN, expectAccessible, fakeGateway, json, renderAs } from "./settings/testkit";
import { LeadMatches } from "./LeadMatches";

const AGENT: Me = { ...ADMIN, roles: ["sales_agent"], permissions: ["crm:read", "crm:write"], tenant: { ...ADMIN.tenant, locale: "pt-BR" } };
const LEAD = { id: "l1", name: "Maria Souza", phone: "+5511987654321", email: "maria@example.com", cpf: null, patient_id: null, merged_into: null, status: "PENDING_CONTACT" } as unknown as Lead;

test("matches from the card: the lead's details sent, a patient linked, a duplicate merged after a confirmation (a refusal kept in the dialog)", async () => {
  let refuse = true;
  const changed = vi.fn();
  const { api, sent } = fakeGateway({
    "POST /api/v1/leads/match": {
      candidates: [
        { kind: "lead", id: "l1", name: "Maria Souza", status: "PENDING_CONTACT", score: 100, reasons: ["same phone"] },
        { kind: "patient", id: "p7", name: "Maria S. Souza", status: null, score: 80, reasons: ["same e-mail", "similar name"] },
        { kind: "lead", id: "l2", name: "Maria Souza", status: "CONTACTED_CALL_LATER", score: 80, reasons: ["same phone", "same name"] },
      ],
    },
    "POST /api/v1/leads/l1/link": json(200, { ...LEAD, patient_id: "p7" }),
    "POST /api/v1/leads/l1/merge": () => (refuse ? json(409, { status: 409, title: "Conflict", detail: "The two leads have different CPFs.", errors: [{ field: "cpf", message: "The two leads have different CPFs." }] }) : json(200, LEAD)),
  });
  const { container } = renderAs(api, <LeadMatches lead={LEAD} onChanged={changed} />, AGENT);
  fireEvent.click(screen.getByRole("button", { name: "Procurar correspondências" }));
  await screen.findByText("Maria S. Souza");
  expect(sent[0]!.body).toEqual({ phone: "+5511987654321", email: "maria@example.com", cpf: null, name: "Maria Souza" });
  // The lead itself is not its own match.
  expect(document.querySelectorAll("[data-candidate=l1]").length).toBe(0);
  expect(screen.getByText(/mesmo e-mail, nome parecido/)).toBeTruthy();
  await expectAccessible(container);
  fireEvent.click(screen.getByRole("button", { name: "Vincular a este paciente: Maria S. Souza" }));
  await screen.findByText("Vinculado ao paciente Maria S. Souza.");
  expect(sent.at(-1)!.body).toEqual({ patient_id: "p7" });
  expect(changed).toHaveBeenCalledTimes(1);

  fireEvent.click(screen.getByRole("button", { name: "Procurar correspondências" }));
  fireEvent.click(await screen.findByRole("button", { name: "Mesclar neste prospect: Maria Souza" }));
  const dialog = await screen.findByRole("dialog", { name: "Mesclar “Maria Souza” em “Maria Souza”" });
  fireEvent.click(within(dialog).getByRole("button", { name: "Mesclar neste prospect" }));
  expect(await within(dialog).findByText(/different CPFs/)).toBeTruthy();
  await expectAccessible(dialog);
  refuse = false;
  fireEvent.click(within(dialog).getByRole("button", { name: "Mesclar neste prospect" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  expect(sent.filter((s) => s.path.endsWith("/merge")).at(-1)!.body).toEqual({ other_id: "l2" });
  expect(await screen.findByText("Maria Souza foi mesclado neste prospect.")).toBeTruthy();
  expect(changed).toHaveBeenCalledTimes(2);
});
