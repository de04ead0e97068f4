// The clinic's embeddable lead form (its website, an Instagram profile link, or an <iframe>): the fields the
// web-form intake describes, posted to it form-urlencoded; the UTM parameters of the page travel along.
import { call, fieldError, h, langPicker, setError, show, start, t } from "./common";

interface Field { name: string; type: string; required: boolean; label: string }
interface FormInfo { name: string; locale: string; submit_url: string; fields: Field[]; consent_text: string; honeypot: string; utm_fields: string[] }

const path = location.pathname;
let info: FormInfo;
const typed: Record<string, string> = {};

function render() {
  const query = new URLSearchParams(location.search);
  const control = (f: Field) => {
    const id = `f-${f.name}`;
    const err = `${id}-error`;
    if (f.type === "checkbox")
      return h("div", { class: "field" }, h("label", { class: "choice consent" }, h("input", { type: "checkbox", id, name: f.name, value: "yes", required: f.required, "aria-describedby": err }), h("span", {}, f.label)), fieldError(err, null));
    const attrs = { id, name: f.name, required: f.required, "aria-describedby": err, autocomplete: f.name === "name" ? "name" : f.name === "phone" ? "tel" : f.name === "email" ? "email" : null, oninput: (e: Event) => (typed[f.name] = (e.target as HTMLInputElement).value) };
    const input = f.type === "textarea" ? h("textarea", { ...attrs, rows: 3 }, typed[f.name] ?? "") : h("input", { ...attrs, type: f.type, value: typed[f.name] ?? "", inputmode: f.type === "tel" ? "tel" : null });
    return h("div", { class: "field" }, h("label", { for: id }, f.label, f.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null), input, fieldError(err, null));
  };
  const button = h("button", { type: "submit", class: "primary", id: "send" }, t("lead_send"));
  const form = h(
    "form",
    { id: "lead-form", novalidate: true, onsubmit: (e: Event) => {
      e.preventDefault();
      void submit(form, button);
    } },
    ...info.fields.map(control),
    // People never see it (CSS); bots fill it and their submission is dropped.
    h("div", { class: "hp", "aria-hidden": "true" }, h("label", { for: "hp" }, "Website"), h("input", { id: "hp", name: info.honeypot, tabindex: -1, autocomplete: "off" })),
    ...info.utm_fields.filter((u) => query.get(u)).map((u) => h("input", { type: "hidden", name: u, value: query.get(u) ?? "" })),
    fieldError("send-error", null),
    button,
  );
  show(langPicker(render), h("h1", {}, info.name), h("p", {}, t("lead_intro")), form);
}

async function submit(form: HTMLFormElement, button: HTMLButtonElement) {
  for (const f of info.fields) setError(document.getElementById(`f-${f.name}-error`), null);
  let first: HTMLElement | null = null;
  for (const f of info.fields) {
    const el = form.querySelector<HTMLInputElement>(`#f-${f.name}`)!;
    const empty = f.type === "checkbox" ? !el.checked : !el.value.trim();
    if (f.required && empty) {
      setError(document.getElementById(`f-${f.name}-error`), f.type === "checkbox" ? t("consent_missing") : t("answer_required"));
      first ??= el;
    }
  }
  if (first) return first.focus();
  button.disabled = true;
  try {
    const answer = await fetch(info.submit_url, { method: "POST", body: new URLSearchParams(new FormData(form) as unknown as Record<string, string>) });
    if (!answer.ok) {
      const body = await answer.json().catch(() => null);
      const field: string | undefined = body?.errors?.[0]?.field;
      const target = field ? document.getElementById(`f-${field}-error`) : null;
      const text = answer.status === 429 ? t("lead_too_many") : field === "phone" ? t("phone_invalid") : body?.detail ?? t("error_generic");
      setError(target ?? document.getElementById("send-error"), text);
      button.disabled = false;
      return;
    }
    show(langPicker(() => render()), h("h1", {}, info.name), h("p", { class: "ok", role: "status", id: "sent" }, t("lead_sent")));
  } catch {
    button.disabled = false;
    setError(document.getElementById("send-error"), t("offline"));
  }
}

void start(
  () => call<FormInfo>(path),
  (data) => {
    info = data;
    render();
  },
  (data) => data.locale,
);
