import { authFetch, fieldErrors, makeClient, TokenStore } from "./client";

function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => void data.delete(k),
    setItem: (k, v) => void data.set(k, v),
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" } });

test("a 401 refreshes once for every call that failed together, then repeats each call", async () => {
  const tokens = new TokenStore(memoryStorage());
  tokens.set({ access_token: "old", refresh_token: "r1", token_type: "bearer", expires_in: 900 });
  const seen: string[] = [];
  let refreshes = 0;
  const server = async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/v1/auth/refresh") {
      refreshes += 1;
      expect(await request.json()).toEqual({ refresh_token: "r1" });
      await new Promise((r) => setTimeout(r, 10));
      return json(200, { access_token: "new", refresh_token: "r2", token_type: "bearer", expires_in: 900 });
    }
    seen.push(`${path} ${request.headers.get("authorization")}`);
    return request.headers.get("authorization") === "Bearer new" ? json(200, { ok: path }) : json(401, { status: 401, title: "Unauthorized" });
  };
  let expired = 0;
  const api = makeClient(authFetch(tokens, () => (expired += 1), server));
  const [a, b] = await Promise.all([api.GET("/api/v1/me"), api.GET("/api/v1/leads/metrics")]);
  expect(a.response.status).toBe(200);
  expect(b.response.status).toBe(200);
  expect(refreshes).toBe(1);
  expect(expired).toBe(0);
  expect(tokens.accessToken).toBe("new");
  expect(tokens.refreshToken).toBe("r2");
  expect(seen.filter((s) => s.endsWith("Bearer new")).sort()).toEqual(["/api/v1/leads/metrics Bearer new", "/api/v1/me Bearer new"]);
});

test("when the refresh is refused too, the session ends", async () => {
  const tokens = new TokenStore(memoryStorage());
  tokens.set({ access_token: "old", refresh_token: "used", token_type: "bearer", expires_in: 900 });
  let expired = 0;
  const api = makeClient(authFetch(tokens, () => (expired += 1), async () => json(401, { status: 401, title: "Unauthorized" })));
  const answer = await api.GET("/api/v1/me");
  expect(answer.response.status).toBe(401);
  expect(expired).toBe(1);
});

test("the access token lives in memory only; the refresh token in the tab's storage", () => {
  const storage = memoryStorage();
  const tokens = new TokenStore(storage);
  tokens.set({ access_token: "a", refresh_token: "r", token_type: "bearer", expires_in: 900 });
  expect(storage.getItem("clinicflow.refresh")).toBe("r");
  expect([...Array(storage.length).keys()].map((i) => storage.getItem(storage.key(i)!))).not.toContain("a");
  tokens.clear();
  expect(tokens.refreshToken).toBeNull();
  expect(tokens.accessToken).toBeNull();
});

test("problem details become messages per field", () => {
  expect(
    fieldErrors({ status: 422, detail: "x", errors: [{ field: "phone", message: "bad phone" }, { field: "phones[1]", message: "bad second" }] }),
  ).toEqual({ fields: { phone: "bad phone", phones: "bad second" }, general: null });
  expect(fieldErrors({ status: 409, detail: "Already there" })).toEqual({ fields: {}, general: "Already there" });
});

test("a read of a personal record says why (X-Purpose, the screen's purpose); other calls do not", async () => {
  const { setPurpose } = await import("../purpose");
  const tokens = new TokenStore(memoryStorage());
  tokens.set({ access_token: "t", refresh_token: "r", token_type: "bearer", expires_in: 900 });
  const seen: Record<string, string | null> = {};
  const api = makeClient(
    authFetch(tokens, () => {}, async (request) => {
      seen[new URL(request.url).pathname] = request.headers.get("x-purpose");
      return json(200, {});
    }),
  );
  const id = "0192f0c1-8a6b-7c3d-9e4f-112233445566";
  setPurpose("/agenda");
  await api.GET("/api/v1/scheduling/appointments/{appointment_id}", { params: { path: { appointment_id: id } } });
  setPurpose(`/prospects/${id}`);
  await api.GET("/api/v1/leads/{lead_id}", { params: { path: { lead_id: id } } });
  await api.GET("/api/v1/leads/metrics", { params: { query: { from: "2026-01-01", to: "2026-01-31" } } });
  expect(seen[`/api/v1/scheduling/appointments/${id}`]).toBe("care");
  expect(seen[`/api/v1/leads/${id}`]).toBe("sales");
  expect(seen["/api/v1/leads/metrics"]).toBeNull();
});
