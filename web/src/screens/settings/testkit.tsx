// For the Settings component tests: an admin session over a fake gateway that answers from a route table and
// records what was sent, and axe-core on the rendered section.
import { configure, render } from "@testing-library/react";
import axe from "axe-core";
import type { ReactNode } from "react";
import { makeClient, type Me } from "../../api/client";
import { SessionProvider } from "../../session";

// The machine running the tests is shared: give each awaited answer more than the default second.
configure({ asyncUtilTimeout: 15_000 });
vi.setConfig({ testTimeout: 60_000 });

export const ADMIN: Me = {
  id: "u-admin",
  email: "admin@clinic.example",
  full_name: "Ana Admin",
  roles: ["admin"],
  permissions: ["crm:read", "crm:write", "crm:admin", "scheduling:read", "scheduling:admin", "funnel:read", "funnel:admin", "finance:read"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "en", timezone: "America/Sao_Paulo" },
};

export const json = (status: number, body: unknown) =>
  status === 204
    ? new Response(null, { status })
    : new Response(JSON.stringify(body), { status, headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" } });

export interface Sent {
  method: string;
  path: string;
  search: string;
  body: unknown;
}

/** `routes["POST /api/v1/staff"]` answers that call; a function gets the parsed body. Unknown calls are 404s. */
export function fakeGateway(routes: Record<string, unknown | ((body: unknown, sent: Sent) => Response | unknown)>) {
  const sent: Sent[] = [];
  const fetcher = async (request: Request) => {
    const url = new URL(request.url);
    const text = request.method === "GET" ? "" : await request.text();
    const call: Sent = { method: request.method, path: url.pathname, search: url.search, body: text ? JSON.parse(text) : null };
    sent.push(call);
    const route = routes[`${request.method} ${url.pathname}`];
    if (route === undefined) return json(404, { status: 404, title: "Not found", detail: `${request.method} ${url.pathname}` });
    const answer = typeof route === "function" ? (route as (b: unknown, s: Sent) => unknown)(call.body, call) : route;
    return answer instanceof Response ? answer : json(request.method === "POST" ? 201 : 200, answer);
  };
  return { api: makeClient(fetcher), sent };
}

export function renderAs(api: ReturnType<typeof makeClient>, ui: ReactNode, me: Me = ADMIN) {
  localStorage.clear();
  return render(
    <SessionProvider me={me} api={api} onLogout={() => {}}>
      {ui}
    </SessionProvider>,
  );
}

export const problem = (field: string, message: string) =>
  json(422, { status: 422, title: "Unprocessable content", detail: message, errors: [{ field, message }] });

/** axe-core on the rendered markup: no serious or critical violation (colour contrast needs a real layout: the
 * browser test checks it). */
export async function expectAccessible(container: HTMLElement) {
  const result = await axe.run(container, { resultTypes: ["violations"], rules: { "color-contrast": { enabled: false } } });
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}
