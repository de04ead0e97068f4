import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { makeClient, type Me } from "../api/client";
import { SessionProvider } from "../session";
import { parseSse, Reception, type Board } from "./Reception";

const ME: Me = {
  id: "u1",
  email: "rita@clinic.example",
  full_name: "Rita",
  roles: ["reception"],
  permissions: ["scheduling:read", "scheduling:checkin"],
  tenant: { id: "t1", name: "Clínica", country: "BR", locale: "pt-BR", timezone: "America/Sao_Paulo" },
};

test("server-sent events: complete blocks are events, comments are skipped, a partial block is kept", () => {
  const { events, rest } = parseSse(': keep-alive\n\nevent: board\ndata: {"a":\ndata: 1}\n\nevent: board\ndata: {"b"');
  expect(events).toEqual([{ event: "board", data: '{"a":\n1}' }]);
  expect(rest).toBe('event: board\ndata: {"b"');
  expect(parseSse("data: x\r\n\r\n").events).toEqual([{ event: "message", data: "x" }]);
});

function board(waiting: string[]): Board {
  const item = (name: string) => ({
    appointment_id: `a-${name}`,
    patient_name: name,
    procedure_name: "Botox",
    professional_name: "Dra. Lima",
    arrived_at: "2026-12-01T12:00:00Z",
    started_at: null,
    completed_at: null,
    starts_at: "2026-12-01T12:30:00Z",
    waiting_minutes: 7,
  });
  return { branch_id: "b1", date: "2026-12-01", waiting: waiting.map(item), in_service: [], done: [] };
}

test("the board follows the stream and check-in is one click", async () => {
  const sent: string[] = [];
  let push: (chunk: string) => void = () => {};
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    sent.push(`${request.method} ${url.pathname}`);
    const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
    if (url.pathname.endsWith("/branches"))
      return json({ items: [{ id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true, address: null, open_on_holidays: false, subdivision: "SP" }] });
    if (url.pathname.endsWith("/agenda"))
      return json({
        start: "2026-12-01",
        end: "2026-12-01",
        timezone: "America/Sao_Paulo",
        items: [
          {
            id: "a-1", status: "confirmed", patient_name: "Paula Reis", procedure_name: "Botox", professional_name: "Dra. Lima",
            local_start: "2026-12-01T09:30:00-03:00", starts_at: "2026-12-01T12:30:00Z", ends_at: "2026-12-01T13:00:00Z",
            branch_id: "b1", branch_name: "Moema", confirmed_at: null, confirmed_via: null, lead_id: null, patient_id: null,
            phone: null, procedure_id: "p1", professional_id: "d1", source: "staff", specialty: "aesthetics",
          },
        ],
      });
    if (url.pathname.endsWith("/check-in")) return json({});
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  render(
    <SessionProvider me={ME} api={api} onLogout={() => {}}>
      <Reception />
    </SessionProvider>,
  );
  const checkIn = await screen.findByRole("button", { name: "Registrar chegada: Paula Reis" });
  await waitFor(() => expect(sent).toContain("GET /api/v1/scheduling/waiting-room/stream"));
  push(`event: board\ndata: ${JSON.stringify(board([]))}\n\n`);
  const waiting = await screen.findByRole("region", { name: /Aguardando/ });
  expect(within(waiting).getByText("Ninguém")).toBeTruthy();
  fireEvent.click(checkIn);
  await waitFor(() => expect(sent).toContain("POST /api/v1/scheduling/appointments/a-1/check-in"));
  // The server's next board (whoever checked in, on whichever replica) replaces the shown one.
  push(`: keep-alive\n\nevent: board\ndata: ${JSON.stringify(board(["Paula Reis"]))}\n\n`);
  await waitFor(() => expect(within(waiting).getByText("Paula Reis")).toBeTruthy());
  expect(within(waiting).getByText("7 min de espera")).toBeTruthy();
  expect(screen.getByText("Ao vivo")).toBeTruthy();
});

test("finish visit asks whether a return is needed and in how many days; a refusal is shown under the days, kept", async () => {
  const sent: { method: string; path: string; body: unknown }[] = [];
  let push: (chunk: string) => void = () => {};
  let refuse = true;
  const api = makeClient(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json() : null;
    sent.push({ method: request.method, path: url.pathname, body });
    const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
    if (url.pathname.endsWith("/branches"))
      return json({ items: [{ id: "b1", name: "Moema", timezone: "America/Sao_Paulo", active: true, address: null, open_on_holidays: false, subdivision: "SP" }] });
    if (url.pathname.endsWith("/agenda")) return json({ start: "2026-12-01", end: "2026-12-01", timezone: "America/Sao_Paulo", items: [] });
    if (url.pathname.endsWith("/returns")) return json({ items: [] });
    if (url.pathname.endsWith("/complete")) {
      if (refuse) {
        refuse = false;
        return json({ status: 400, title: "Bad request", detail: "Invalid", errors: [{ field: "return_in_days", message: "Expected `int` >= 1" }] }, 400);
      }
      return json({});
    }
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  });
  render(
    <SessionProvider me={{ ...ME, permissions: ["scheduling:read", "scheduling:visit"] }} api={api} onLogout={() => {}}>
      <Reception />
    </SessionProvider>,
  );
  await waitFor(() => expect(sent.some((s) => s.path.endsWith("/waiting-room/stream"))).toBe(true));
  const b = board(["Paula Reis"]);
  push(`event: board\ndata: ${JSON.stringify({ ...b, waiting: [], in_service: b.waiting })}\n\n`);
  fireEvent.click(await screen.findByRole("button", { name: "Finalizar atendimento" }));
  const dialog = await screen.findByRole("dialog", { name: "Finalizar o atendimento de Paula Reis" });
  fireEvent.click(within(dialog).getByLabelText("Precisa de retorno"));
  const days = within(dialog).getByLabelText(/Retorno em quantos dias/) as HTMLInputElement;
  expect(days.value).toBe("30");
  fireEvent.change(days, { target: { value: "0" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Finalizar atendimento" }));
  expect(await within(dialog).findByText("Expected `int` >= 1")).toBeTruthy();
  expect((within(dialog).getByLabelText(/Retorno em quantos dias/) as HTMLInputElement).value).toBe("0"); // kept
  const returnsRead = sent.filter((s) => s.path.endsWith("/returns")).length;
  fireEvent.change(days, { target: { value: "45" } });
  fireEvent.click(within(dialog).getByRole("button", { name: "Finalizar atendimento" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  const completes = sent.filter((s) => s.path.endsWith("/complete"));
  expect(completes.map((c) => c.body)).toEqual([
    { return_needed: true, return_in_days: 0 },
    { return_needed: true, return_in_days: 45 },
  ]);
  await waitFor(() => expect(sent.filter((s) => s.path.endsWith("/returns")).length).toBe(returnsRead + 1)); // the return to book shows
});
