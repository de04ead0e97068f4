import { render, screen, waitFor } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { BellButton } from "../App";
import { SessionProvider } from "../session";
import { listQuery, NO_FILTERS } from "./Prospects";

const ME: Me = {
  id: "u1",
  email: "ana@clinic.example",
  full_name: "Ana",
  roles: ["sales_agent"],
  permissions: ["crm:read", "crm:write"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

test("the list's filters become the API's query, only what is set", () => {
  expect(listQuery(NO_FILTERS, "u1", 0)).toEqual({ limit: 50, offset: 0 });
  expect(
    listQuery({ created_from: "2026-05-01", created_to: "2026-05-31", status: "RESCHEDULED", source: "instagram", owner: "mine", q: "  maria " }, "u1", 100),
  ).toEqual({ created_from: "2026-05-01", created_to: "2026-05-31", status: ["RESCHEDULED"], source: ["instagram"], owner_id: ["u1"], q: "maria", limit: 50, offset: 100 });
  expect(listQuery({ ...NO_FILTERS, owner: "none" }, "u1", 0).owner_id).toEqual(["none"]);
});

function bell(pending: number) {
  const api = makeClient(async () =>
    new Response(JSON.stringify({ pending, overdue: pending ? 1 : 0, due_today: 0, next: [] }), { headers: { "content-type": "application/json" } }),
  );
  return render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <BellButton tick={0} />
    </SessionProvider>,
  );
}

test("the bell is grey with nothing pending", async () => {
  bell(0);
  const button = await screen.findByRole("button", { name: "Nada pendente" });
  expect(button.className).toBe("bell");
});

test("the bell is red with the count when activities are pending", async () => {
  bell(3);
  const button = await screen.findByRole("button", { name: "Atividades: 3 pendentes" });
  await waitFor(() => expect(button.className).toContain("bell-pending"));
  expect(button.textContent).toContain("3");
});

test("the activities' day range is the clinic's: from its midnight to the midnight after the last day", async () => {
  const { activityQuery } = await import("./Activities");
  const zoned = (wall: string) => `${wall}-03:00`;
  expect(activityQuery({ state: "scheduled", type: "", mine: true, overdue: false, from: "2026-05-01", to: "2026-05-31" }, zoned, 0)).toEqual({
    state: ["scheduled"],
    mine: true,
    scheduled_from: "2026-05-01T00:00-03:00",
    scheduled_to: "2026-06-01T00:00-03:00",
    sort: "scheduled_at",
    limit: 50,
    offset: 0,
  });
});
