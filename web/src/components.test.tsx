import { fireEvent, render, screen } from "@testing-library/react";
import { makeClient, type Me } from "./api/client";
import { useWindow } from "./components";
import { SessionProvider } from "./session";

const ME: Me = { id: "u1", email: "a@b.c", full_name: "Ana", roles: [], permissions: [], tenant: { id: "t1", name: "C", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" } };

function Rows({ items }: { items: number[] }) {
  const { shown, more } = useWindow(items, 100);
  return (
    <>
      <ul>
        {shown.map((i) => (
          <li key={i}>{i}</li>
        ))}
      </ul>
      {more}
    </>
  );
}

test("a long list paints its first window; 'show more' adds the next; a new list starts again at the first", () => {
  const api = makeClient(async () => new Response("{}", { headers: { "content-type": "application/json" } }));
  const many = Array.from({ length: 250 }, (_, i) => i);
  const { rerender } = render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Rows items={many} />
    </SessionProvider>,
  );
  expect(screen.getAllByRole("listitem")).toHaveLength(100);
  fireEvent.click(screen.getByRole("button", { name: "Mostrar mais 100 (100 de 250 exibidos)" }));
  expect(screen.getAllByRole("listitem")).toHaveLength(200);
  fireEvent.click(screen.getByRole("button", { name: "Mostrar mais 50 (200 de 250 exibidos)" }));
  expect(screen.getAllByRole("listitem")).toHaveLength(250);
  expect(screen.queryByRole("button")).toBeNull();
  rerender(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Rows items={[...many, 250]} />
    </SessionProvider>,
  );
  expect(screen.getAllByRole("listitem")).toHaveLength(100);
});

test("a status chip wears the clinic's colour and name, with text that reads on it", async () => {
  const { makeClient } = await import("./api/client");
  const { SessionProvider } = await import("./session");
  const { StatusesProvider, textOn } = await import("./statuses");
  const { StatusBadge } = await import("./components");
  const { render, screen } = await import("@testing-library/react");
  const api = makeClient(async () =>
    new Response(JSON.stringify({ items: [{ status: "RESCHEDULED", label: "Remarcado", color: "#FDE047", position: 0, closed: false }] }), {
      headers: { "content-type": "application/json" },
    }),
  );
  const me = { id: "u1", email: "a@b.c", full_name: "A", roles: [], permissions: ["crm:read"], tenant: { id: "t", name: "C", country: "BR", locale: "en", timezone: "UTC" } };
  render(
    <SessionProvider me={me} api={api} onLogout={() => {}}>
      <StatusesProvider>
        <StatusBadge status="RESCHEDULED" />
      </StatusesProvider>
    </SessionProvider>,
  );
  const chip = await screen.findByText("Remarcado");
  expect(chip.style.background).toMatch(/253, 224, 71|#fde047/i);
  expect(textOn("#FDE047")).toBe("#111");
  expect(textOn("#1D5FA8")).toBe("#fff");
});
