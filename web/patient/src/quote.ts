// Quote: the valuation's quote items with their prices, then accept, decline, or ask to talk to the clinic.
// The answer is the server's: a double tap or a retried request never answers twice (docs/quotes.md).
import { ApiError, call, currentLang, fieldError, h, langPicker, money, setError, show, start, t, token } from "./common";

interface Line {
  description: string;
  quantity: number;
  unit_price: string;
  discount_percent: string;
  total: string;
}

interface QuoteView {
  name: string | null;
  currency: string;
  subtotal: string;
  total: string;
  items: Line[];
  note: string | null;
  status: string;
  answer: string | null;
  state: string;
  locale: string | null;
  valuation: string | null;
  grafts: number | null;
}

const URL_ = "/public/funnel/quotes";
const tok = token();
/** Which follow-up form is open: none, the question or the reason for declining. */
let open: "" | "question" | "reject" = "";

function percent(value: string): string {
  return new Intl.NumberFormat(currentLang(), { maximumFractionDigits: 2 }).format(Number(value));
}

function lines(q: QuoteView): HTMLElement {
  return h(
    "ul",
    { class: "lines", "aria-label": t("quote_title") },
    ...q.items.map((line) =>
      h(
        "li",
        {},
        h("span", { class: "what" }, line.description),
        h(
          "span",
          { class: "muted" },
          t("quote_item", { qty: line.quantity, price: money(line.unit_price, q.currency) }),
          Number(line.discount_percent) > 0 ? ` · ${t("quote_discount", { pct: percent(line.discount_percent) })}` : "",
        ),
        h("strong", { class: "sum" }, money(line.total, q.currency)),
      ),
    ),
  );
}

function outcome(q: QuoteView): HTMLElement | null {
  if (q.status === "superseded") return h("p", { class: "warn", role: "status", id: "outcome" }, t("quote_superseded"));
  if (q.answer === "accept") return h("p", { class: "ok", role: "status", id: "outcome" }, t("quote_accepted"));
  if (q.answer === "reject") return h("p", { class: "warn", role: "status", id: "outcome" }, t("quote_rejected"));
  if (q.state === "closed" || q.state === "cancelled") return h("p", { class: "warn", role: "status", id: "outcome" }, t("quote_closed"));
  if (q.answer === "question") return h("p", { class: "muted", role: "status", id: "outcome" }, t("quote_question"));
  return null;
}

function answerable(q: QuoteView): boolean {
  return q.status !== "superseded" && (q.state === "quote_sent" || q.state === "question");
}

async function send(action: string, button: HTMLButtonElement, message?: string) {
  button.disabled = true;
  try {
    render(await call<QuoteView>(`${URL_}/${action}`, { method: "POST", query: { token: tok }, body: message ? { message } : {} }));
  } catch (e) {
    button.disabled = false;
    setError(document.getElementById("answer-error"), e instanceof ApiError ? e.problem.detail : t("offline"));
  }
}

/** The question or the reason: a short text, kept if sending fails. */
function followUp(action: "question" | "reject"): HTMLElement {
  const id = `${action}-message`;
  const area = h("textarea", { id, rows: 3, maxlength: 2000 });
  const button = h(
    "button",
    { type: "button", class: action === "question" ? "primary" : "", id: `${action}-send`, onclick: () => void send(action, button, area.value.trim() || undefined) },
    action === "question" ? t("quote_ask_send") : t("quote_reject_send"),
  );
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, action === "question" ? t("quote_ask_label") : t("quote_reject_label")),
    area,
    button,
  );
}

function render(q: QuoteView) {
  const again = () => render(q);
  const accept = h("button", { type: "button", class: "primary", id: "accept", onclick: () => void send("accept", accept) }, t("quote_accept"));
  const toggle = (which: "question" | "reject") => () => {
    open = open === which ? "" : which;
    render(q);
  };
  const actions = answerable(q)
    ? [
        accept,
        q.answer !== "question" && h("button", { type: "button", id: "ask", "aria-expanded": String(open === "question"), onclick: toggle("question") }, t("quote_ask")),
        h("button", { type: "button", id: "reject", "aria-expanded": String(open === "reject"), onclick: toggle("reject") }, t("quote_reject")),
        open && followUp(open),
      ]
    : [];
  const discounted = q.subtotal !== q.total;
  show(
    langPicker(again),
    h("h1", {}, t("quote_title")),
    q.name ? h("p", {}, t("hello", { name: q.name })) : null,
    q.valuation || q.grafts
      ? h(
          "section",
          { class: "card", "aria-labelledby": "valuation-title" },
          h("h2", { id: "valuation-title" }, t("quote_valuation")),
          q.valuation ? h("p", { id: "valuation" }, q.valuation) : null,
          q.grafts ? h("p", { class: "muted" }, t("quote_grafts", { n: q.grafts })) : null,
        )
      : null,
    h(
      "section",
      { class: "card" },
      lines(q),
      h(
        "div",
        { class: "price" },
        discounted && h("p", { class: "before" }, t("quote_subtotal"), " ", h("s", {}, money(q.subtotal, q.currency))),
        h("p", { class: "after" }, t("quote_total"), " ", h("strong", { id: "total" }, money(q.total, q.currency))),
      ),
      q.note ? h("p", { class: "muted" }, `${t("quote_note")}: ${q.note}`) : null,
    ),
    outcome(q),
    ...actions,
    fieldError("answer-error", null),
  );
}

void start(() => call<QuoteView>(URL_, { query: { token: tok } }), render, (q) => q.locale);
