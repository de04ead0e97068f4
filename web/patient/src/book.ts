// Book: branch, procedure, optionally the professional, a free day and time (held while the patient decides),
// their details when the link is clinic-wide (the clinic's public booking page), then the confirmation with an
// "add to calendar" file. A prepaid procedure stays locked, with the reason, until its payment is confirmed.
import { ApiError, call, fieldError, h, langPicker, setError, show, start, t, token, when } from "./common";

interface Branch { id: string; name: string; address: string | null; timezone: string }
interface Procedure { id: string; name: string; duration_minutes: number; prepayment_required: boolean; unlocked?: boolean; branch_ids: string[]; specialty: string | null }
interface Professional { id: string; name: string; specialties: string[]; branch_ids: string[] }
interface Page { person: { name?: string; phone?: string; email?: string } | null; branches: Branch[]; procedures: Procedure[]; professionals: Professional[] }
interface Slot { professional_id: string; professional_name: string; starts_at: string; local: string }
interface Hold { hold_id: string; professional_id: string; starts_at: string; expires_at: string | null }
interface Booked { appointment_id: string; starts_at: string; timezone: string; branch: string; professional: string; procedure: string; ics_url: string; confirm_url: string; reschedule_url: string }

const API = "/public/scheduling/booking";
const tok = token();
const choice: { branch?: Branch; procedure?: Procedure; professional?: string; day?: string; slot?: Slot; hold?: Hold } = {};
let page: Page;
let countdown = 0;

const radios = <T extends { id: string; name: string }>(name: string, legend: string, items: T[], selected: string | undefined, onpick: (item: T) => void, extra: (item: T) => Node | null = () => null, disabled: (item: T) => boolean = () => false) =>
  h(
    "fieldset",
    {},
    h("legend", {}, legend),
    ...items.map((item) =>
      h(
        "label",
        { class: disabled(item) ? "choice locked" : "choice" },
        h("input", { type: "radio", name, value: item.id, checked: item.id === selected, disabled: disabled(item), onchange: () => onpick(item) }),
        h("span", {}, item.name),
        extra(item),
      ),
    ),
  );

function days(zone: string): string[] {
  const out: string[] = [];
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  for (let i = 0; i < 14; i++) out.push(fmt.format(new Date(Date.now() + i * 86_400_000)));
  return out;
}

function render() {
  const p = page;
  const branches = p.branches;
  if (!choice.branch && branches.length === 1) choice.branch = branches[0];
  const parts: (Node | false)[] = [
    langPicker(render),
    h("h1", {}, t("book_title")),
    p.person?.name ? h("p", {}, t("hello", { name: p.person.name })) : false,
    radios("branch", t("branch"), branches, choice.branch?.id, (b) => {
      Object.assign(choice, { branch: b, procedure: undefined, professional: undefined, slot: undefined });
      void release();
      render();
    }, (b) => (b.address ? h("small", {}, b.address) : null)),
  ];
  if (choice.branch) {
    const branch = choice.branch;
    const procedures = p.procedures.filter((x) => x.branch_ids.includes(branch.id));
    const locked = (x: Procedure) => x.prepayment_required && x.unlocked === false;
    parts.push(
      radios("procedure", t("procedure"), procedures, choice.procedure?.id, (x) => {
        Object.assign(choice, { procedure: x, professional: undefined, slot: undefined });
        void release();
        render();
      }, (x) => (locked(x) ? h("small", { class: "warn" }, t("locked_prepay")) : h("small", {}, t("minutes", { n: x.duration_minutes }))), locked),
    );
    if (procedures.some(locked)) parts.push(h("p", { class: "muted", id: "locked-help" }, t("locked_help")));
  }
  if (choice.branch && choice.procedure) {
    const branch = choice.branch;
    const procedure = choice.procedure;
    const pros = p.professionals.filter((x) => x.branch_ids.includes(branch.id) && (!procedure.specialty || x.specialties.includes(procedure.specialty)));
    const select = h(
      "select",
      { id: "professional", onchange: (e: Event) => {
        choice.professional = (e.target as HTMLSelectElement).value || undefined;
        choice.slot = undefined;
        void release();
        void loadSlots();
      } },
      h("option", { value: "" }, t("anyone")),
      ...pros.map((x) => h("option", { value: x.id, selected: x.id === choice.professional }, x.name)),
    );
    const list = days(branch.timezone);
    if (!choice.day) choice.day = list[0];
    const dayButtons = h(
      "div",
      { class: "days", role: "group", "aria-label": t("day") },
      ...list.map((d) =>
        h("button", { type: "button", class: d === choice.day ? "day selected" : "day", "aria-pressed": String(d === choice.day), onclick: () => {
          choice.day = d;
          render();
        } }, when(`${d}T12:00:00Z`, "UTC", { weekday: "short", day: "numeric", month: "short" })),
      ),
    );
    parts.push(
      h("div", { class: "field" }, h("label", { for: "professional" }, t("professional_optional")), select),
      h("h2", {}, t("day_and_time")),
      dayButtons,
      h("div", { id: "slots", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading_times"))),
      fieldError("slot-error", null),
      h("div", { id: "details" }),
    );
  }
  show(...parts.filter(Boolean));
  // the chosen day stays in sight in the row of days (it scrolls sideways on a phone)
  document.querySelector(".day.selected")?.scrollIntoView({ block: "nearest", inline: "center" });
  if (choice.branch && choice.procedure) void loadSlots();
}

async function loadSlots() {
  const box = document.getElementById("slots");
  if (!box || !choice.branch || !choice.procedure || !choice.day) return;
  try {
    const answer = await call<{ slots: Slot[] }>(`${API}/slots`, {
      query: { token: tok, branch_id: choice.branch.id, procedure_id: choice.procedure.id, professional_id: choice.professional, from: choice.day, to: choice.day },
    });
    box.replaceChildren(
      answer.slots.length
        ? h(
            "div",
            { class: "times", role: "group", "aria-label": t("free_times") },
            ...dedupe(answer.slots).map((s) =>
              h("button", { type: "button", class: choice.slot?.starts_at === s.starts_at ? "time selected" : "time", "aria-pressed": String(choice.slot?.starts_at === s.starts_at), onclick: () => void pick(s) }, s.local.slice(11, 16)),
            ),
          )
        : h("p", { class: "muted" }, t("no_times")),
    );
  } catch (error) {
    box.replaceChildren(h("p", { class: "field-error" }, error instanceof ApiError ? error.problem.detail : t("offline")));
  }
}

/** One button per time (when anyone will do, several professionals may be free at once). */
function dedupe(slots: Slot[]): Slot[] {
  const seen = new Set<string>();
  return slots.filter((s) => (seen.has(s.starts_at) ? false : (seen.add(s.starts_at), true)));
}

async function pick(slot: Slot) {
  const error = document.getElementById("slot-error");
  setError(error, null);
  try {
    const hold = await call<Hold>(`${API}/hold`, {
      method: "POST",
      query: { token: tok },
      body: {
        branch_id: choice.branch!.id,
        procedure_id: choice.procedure!.id,
        starts_at: slot.starts_at,
        professional_id: choice.professional ?? slot.professional_id,
        replaces: choice.hold?.hold_id,
      },
    });
    choice.slot = slot;
    choice.hold = hold;
    for (const b of document.querySelectorAll<HTMLButtonElement>("#slots .time")) {
      const on = b.textContent === slot.local.slice(11, 16);
      b.classList.toggle("selected", on);
      b.setAttribute("aria-pressed", String(on));
    }
    details();
  } catch (e) {
    setError(error, sentence(e, "starts_at"));
    if (e instanceof ApiError && e.problem.status === 409) void loadSlots();
  }
}

async function release() {
  choice.hold = undefined;
  window.clearInterval(countdown);
}

function details() {
  const box = document.getElementById("details");
  if (!box || !choice.slot || !choice.hold) return;
  const known = page.person;
  const zone = choice.branch!.timezone;
  const held = h("p", { class: "held", id: "held", role: "status" });
  const tick = () => {
    const until = choice.hold?.expires_at ? new Date(choice.hold.expires_at).getTime() - Date.now() : 0;
    const minutes = Math.max(0, Math.ceil(until / 60_000));
    held.textContent = minutes > 0 ? t("held_for", { minutes }) : t("hold_lapsed");
  };
  tick();
  window.clearInterval(countdown);
  countdown = window.setInterval(tick, 15_000);
  const field = (id: string, label: string, attrs: Record<string, string | boolean>, help?: string) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      h("input", { id, name: id, "aria-describedby": `${id}-error${help ? ` ${id}-help` : ""}`, ...attrs }),
      help ? h("small", { id: `${id}-help` }, help) : null,
      fieldError(`${id}-error`, null),
    );
  const form = h(
    "form",
    { id: "book-form", novalidate: true, onsubmit: (e: Event) => {
      e.preventDefault();
      void book(form);
    } },
    h("h2", {}, t("your_booking")),
    h("p", { id: "summary" }, `${choice.procedure!.name} · ${choice.branch!.name} · ${when(choice.slot.starts_at, zone)}`),
    held,
    known?.name ? false : field("name", t("name"), { autocomplete: "name", required: true }),
    known?.phone || known?.email ? false : field("phone", t("phone"), { type: "tel", autocomplete: "tel", inputmode: "tel", required: true }, t("phone_help")),
    known?.phone || known?.email ? false : field("email", t("email_optional"), { type: "email", autocomplete: "email" }),
    fieldError("book-error", null),
    h("button", { type: "submit", class: "primary", id: "book" }, t("book_confirm")),
  );
  box.replaceChildren(form);
  (form.querySelector("input") ?? form.querySelector("button"))?.focus();
}

/** A phone as typed in Brazil ((11) 98765-4321) becomes +5511987654321; one with a + is sent as it is. */
function e164(raw: string): string {
  const digits = raw.replace(/[^\d+]/g, "");
  if (digits.startsWith("+")) return digits;
  if (digits.startsWith("00")) return `+${digits.slice(2)}`;
  return /^\d{10,11}$/.test(digits) ? `+55${digits}` : digits ? `+${digits}` : "";
}

function sentence(error: unknown, field: string): string {
  if (!(error instanceof ApiError)) return t("offline");
  const p = error.problem;
  if (p.status === 402) return t("locked_prepay_now");
  if (p.status === 409 && (p.field === "starts_at" || p.field === "hold_id")) return t("slot_taken");
  if (p.field === "hold_id") return t("hold_lapsed");
  if (p.field === "phone" || field === "phone") return p.fields.phone ? t("phone_invalid") : p.detail;
  return p.fields[field] ?? p.detail;
}

async function book(form: HTMLFormElement) {
  const get = (id: string) => (form.querySelector<HTMLInputElement>(`#${id}`)?.value ?? "").trim();
  const errors = { name: document.getElementById("name-error"), phone: document.getElementById("phone-error"), email: document.getElementById("email-error"), book: document.getElementById("book-error") };
  Object.values(errors).forEach((e) => setError(e, null));
  const body: Record<string, unknown> = {
    branch_id: choice.branch!.id,
    procedure_id: choice.procedure!.id,
    starts_at: choice.slot!.starts_at,
    professional_id: choice.hold?.professional_id,
    hold_id: choice.hold?.hold_id,
    locale: document.documentElement.lang,
  };
  if (form.querySelector("#name")) {
    if (get("name").length < 2) return setError(errors.name, t("name_required"));
    body.name = get("name");
  }
  if (form.querySelector("#phone")) {
    const phone = e164(get("phone"));
    if (!/^\+[1-9]\d{7,14}$/.test(phone)) return setError(errors.phone, t("phone_invalid"));
    body.phone = phone;
    if (get("email")) body.email = get("email");
  }
  const button = form.querySelector<HTMLButtonElement>("#book")!;
  button.disabled = true;
  try {
    const booked = await call<Booked>(API, { method: "POST", query: { token: tok }, body });
    window.clearInterval(countdown);
    confirmation(booked);
  } catch (e) {
    button.disabled = false;
    const p = e instanceof ApiError ? e.problem : null;
    const target = p?.field === "name" ? errors.name : p?.field === "phone" ? errors.phone : p?.field === "email" ? errors.email : errors.book;
    setError(target, sentence(e, p?.field ?? ""));
  }
}

function confirmation(b: Booked) {
  const again = () => confirmation(b);
  show(
    langPicker(again),
    h("h1", {}, t("booked_title")),
    h("p", { class: "ok", role: "status", id: "booked" }, t("booked")),
    h(
      "section",
      { class: "card" },
      h("h2", {}, b.procedure),
      h("p", { id: "booked-when" }, when(b.starts_at, b.timezone)),
      h("p", {}, `${b.branch} · ${b.professional}`),
    ),
    h("a", { class: "button primary", id: "ics", href: b.ics_url, download: "consulta.ics" }, t("add_calendar")),
    h("p", { class: "muted" }, t("booked_reminder")),
  );
}

void start(
  () => call<Page>(API, { query: { token: tok } }),
  (data) => {
    page = data;
    render();
  },
);
