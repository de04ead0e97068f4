// Anamnesis: the clinic's questionnaire, checked per question, kept on the phone as the patient goes (a dropped
// connection or a closed tab loses nothing), signed with a finger/mouse or a typed name with an explicit
// consent box, then sent. A signed form cannot be changed, and the page says so.
import { ApiError, call, claims, fieldError, h, langPicker, setError, show, start, t, token } from "./common";

interface Question { id: string; label: string; type: string; required?: boolean; options?: string[] }
interface Form {
  questionnaire_id: string;
  name: string;
  sections: { title: string; questions: Question[] }[];
  consent_text: string;
  already_signed: boolean;
  /** The answers so far kept on the server (from this phone or another), or null. */
  draft?: { answers: Answers; saved_at: string } | null;
}
type Answers = Record<string, unknown>;

const URL_ = "/public/scheduling/anamnesis";
const tok = token();
let form: Form;
let answers: Answers = {};
let signature: { kind: "drawn" | "typed"; typed_name: string; consent: boolean; image: string | null } = { kind: "drawn", typed_name: "", consent: false, image: null };
let signed: { sha256: string; signed_at: string } | null = null;

const key = () => `cf-anamnesis:${claims(tok).sub ?? "x"}:${form.questionnaire_id}`;

let pending = 0;

/** Kept on the phone at once, and on the server a moment later (another phone then opens the link where the
 *  patient stopped); without a connection the phone's copy is enough, and the next answer tries again. */
function save() {
  localStorage.setItem(key(), JSON.stringify({ answers, typed_name: signature.typed_name, saved_at: Date.now() }));
  const badge = document.getElementById("saved");
  if (badge) badge.textContent = t("saved_here");
  window.clearTimeout(pending);
  pending = window.setTimeout(async () => {
    try {
      await call(`${URL_}/draft`, { method: "PUT", query: { token: tok }, body: { answers } });
      const now = document.getElementById("saved");
      if (now) now.textContent = t("saved_clinic");
    } catch {
      // offline, or an answer the server refuses (it says so next to the question on sending): the phone has it
    }
  }, 800);
}

/** This phone's answers, or the server's draft when that is newer (the patient went on from another phone). */
function restore() {
  let kept: { answers?: Answers; typed_name?: string; saved_at?: number } | null = null;
  try {
    kept = JSON.parse(localStorage.getItem(key()) ?? "null");
  } catch {
    kept = null;
  }
  const server = form.draft;
  if (server && (!kept || !kept.saved_at || Date.parse(server.saved_at) > kept.saved_at)) {
    answers = { ...server.answers };
    signature.typed_name = kept?.typed_name ?? "";
  } else if (kept) {
    answers = kept.answers ?? {};
    signature.typed_name = kept.typed_name ?? "";
  }
}

function empty(v: unknown) {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

function check(q: Question): string | null {
  const v = answers[q.id];
  if (empty(v)) return q.required ? t("answer_required") : null;
  if (q.type === "number" && typeof v !== "number") return t("answer_number");
  if (q.type === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(String(v))) return t("answer_date");
  return null;
}

function setAnswer(q: Question, value: unknown) {
  if (empty(value)) delete answers[q.id];
  else answers[q.id] = value;
  save();
}

function input(q: Question): Node {
  const id = `q-${q.id}`;
  const err = `${id}-error`;
  const v = answers[q.id];
  const validate = () => setError(document.getElementById(err), check(q));
  const common = { "aria-describedby": err, "aria-required": q.required ? "true" : null };
  const radio = (value: string, label: string, checked: boolean, onpick: () => void) =>
    h("label", { class: "choice" }, h("input", { type: "radio", name: id, value, checked, onchange: () => { onpick(); validate(); } }), h("span", {}, label));
  let control: Node;
  if (q.type === "yes_no" || q.type === "single_choice" || q.type === "multi_choice") {
    const items =
      q.type === "yes_no"
        ? [radio("yes", t("yes"), v === true, () => setAnswer(q, true)), radio("no", t("no"), v === false, () => setAnswer(q, false))]
        : q.type === "single_choice"
          ? (q.options ?? []).map((o) => radio(o, o, v === o, () => setAnswer(q, o)))
          : (q.options ?? []).map((o) =>
              h("label", { class: "choice" }, h("input", { type: "checkbox", name: id, value: o, checked: Array.isArray(v) && v.includes(o), onchange: (e: Event) => {
                const on = (e.target as HTMLInputElement).checked;
                const now = new Set(Array.isArray(answers[q.id]) ? (answers[q.id] as string[]) : []);
                if (on) now.add(o);
                else now.delete(o);
                setAnswer(q, (q.options ?? []).filter((x) => now.has(x)));
                validate();
              } }), h("span", {}, o)),
            );
    return h("fieldset", { class: "question", id, "aria-describedby": err }, h("legend", {}, q.label, q.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null), ...items, fieldError(err, null));
  }
  const onchange = (e: Event) => {
    const raw = (e.target as HTMLInputElement).value;
    setAnswer(q, q.type === "number" ? (raw === "" ? null : Number(raw)) : raw);
  };
  if (q.type === "textarea") control = h("textarea", { id, rows: 3, maxlength: 10000, oninput: onchange, onblur: validate, ...common }, String(v ?? ""));
  else
    control = h("input", {
      id,
      type: q.type === "number" ? "number" : q.type === "date" ? "date" : "text",
      inputmode: q.type === "number" ? "decimal" : null,
      maxlength: q.type === "text" ? 500 : null,
      value: v === undefined ? "" : String(v),
      oninput: onchange,
      onblur: validate,
      ...common,
    });
  return h("div", { class: "question field" }, h("label", { for: id }, q.label, q.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null), control, fieldError(err, null));
}

function pad(): HTMLElement {
  const canvas = h("canvas", { id: "signature-pad", width: 600, height: 200, role: "img", "aria-label": t("sign_here") });
  const ctx = canvas.getContext("2d")!;
  let drawing = false;
  let inked = false;
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = at(e);
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#111";
    ctx.lineTo(x, y);
    ctx.stroke();
    inked = true;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    signature.image = inked ? canvas.toDataURL("image/png") : null;
    setError(document.getElementById("signature-error"), null);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  const clear = h("button", { type: "button", onclick: () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    inked = false;
    signature.image = null;
  } }, t("clear"));
  return h("div", { class: "pad" }, canvas, clear);
}

function render() {
  if (signed || form.already_signed) {
    show(
      langPicker(render),
      h("h1", {}, form.name),
      h("p", { class: "ok", role: "status", id: "signed" }, signed ? t("signed_now") : t("signed_already")),
      h("p", {}, t("signed_locked")),
      signed ? h("p", { class: "muted mono" }, `SHA-256 ${signed.sha256}`) : null,
    );
    return;
  }
  const sections = form.sections.map((s) => h("section", { class: "card" }, h("h2", {}, s.title), ...s.questions.map(input)));
  const kind = (value: "drawn" | "typed", label: string) =>
    h("label", { class: "choice" }, h("input", { type: "radio", name: "sign-kind", value, checked: signature.kind === value, onchange: () => {
      signature.kind = value;
      render();
      document.querySelector<HTMLInputElement>(`input[name=sign-kind][value=${value}]`)?.focus();
    } }), h("span", {}, label));
  const typed = h("div", { class: "field" }, h("label", { for: "typed-name" }, t("typed_name")), h("input", { id: "typed-name", autocomplete: "name", value: signature.typed_name, "aria-describedby": "signature-error", oninput: (e: Event) => {
    signature.typed_name = (e.target as HTMLInputElement).value;
    save();
  } }));
  const consent = h(
    "label",
    { class: "choice consent" },
    h("input", { type: "checkbox", id: "consent", checked: signature.consent, "aria-describedby": "consent-error", onchange: (e: Event) => {
      signature.consent = (e.target as HTMLInputElement).checked;
      setError(document.getElementById("consent-error"), null);
    } }),
    h("span", {}, t("consent")),
  );
  const send = h("button", { type: "submit", class: "primary", id: "send" }, t("send"));
  const el = h(
    "form",
    { novalidate: true, onsubmit: (e: Event) => {
      e.preventDefault();
      void submit(send);
    } },
    ...sections,
    h(
      "section",
      { class: "card" },
      h("h2", {}, t("signature")),
      h("fieldset", {}, h("legend", {}, t("sign_how")), kind("drawn", t("sign_draw")), kind("typed", t("sign_type"))),
      signature.kind === "drawn" ? pad() : typed,
      fieldError("signature-error", null),
      consent,
      fieldError("consent-error", null),
    ),
    fieldError("send-error", null),
    send,
  );
  show(
    langPicker(render),
    h("h1", {}, form.name),
    h("p", {}, t("anamnesis_intro")),
    h("p", { class: "muted", id: "saved", role: "status" }, Object.keys(answers).length ? t("saved_here") : ""),
    el,
  );
}

async function submit(button: HTMLButtonElement) {
  let first: HTMLElement | null = null;
  for (const s of form.sections)
    for (const q of s.questions) {
      const problem = check(q);
      setError(document.getElementById(`q-${q.id}-error`), problem);
      if (problem && !first) first = document.getElementById(`q-${q.id}`);
    }
  const sigError = document.getElementById("signature-error");
  if (signature.kind === "drawn" && !signature.image) {
    setError(sigError, t("sign_missing"));
    first ??= document.getElementById("signature-pad");
  }
  if (signature.kind === "typed" && signature.typed_name.trim().length < 3) {
    setError(sigError, t("typed_missing"));
    first ??= document.getElementById("typed-name");
  }
  if (!signature.consent) {
    setError(document.getElementById("consent-error"), t("consent_missing"));
    first ??= document.getElementById("consent");
  }
  if (first) {
    first.focus();
    first.scrollIntoView({ block: "center" });
    return;
  }
  button.disabled = true;
  try {
    const answer = await call<{ sha256: string; signed_at: string }>(URL_, {
      method: "POST",
      query: { token: tok },
      body: {
        answers,
        signature: {
          kind: signature.kind,
          consent: true,
          typed_name: signature.kind === "typed" ? signature.typed_name.trim() : null,
          image: signature.kind === "drawn" ? signature.image : null,
        },
      },
    });
    localStorage.removeItem(key());
    signed = answer;
    render();
  } catch (e) {
    button.disabled = false;
    if (!(e instanceof ApiError)) return setError(document.getElementById("send-error"), t("offline_kept"));
    const p = e.problem;
    if (p.status === 409) {
      form.already_signed = true;
      return render();
    }
    const field = p.field ?? "";
    const where = field.startsWith("answers.")
      ? document.getElementById(`q-${field.slice(8)}-error`)
      : field === "signature.consent"
        ? document.getElementById("consent-error")
        : field.startsWith("signature.")
          ? sigError
          : document.getElementById("send-error");
    setError(where ?? document.getElementById("send-error"), field.startsWith("answers.") ? `${t("answer_check")} ${p.detail}` : p.detail);
  }
}

void start(
  () => call<Form>(URL_, { query: { token: tok } }),
  (data) => {
    form = data;
    restore();
    render();
  },
);
