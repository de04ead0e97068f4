// Pay: the amount before and after the discount, the procedure, the methods the clinic allows (PIX code and
// QR, credit, debit), then the provider's checkout; back from it (/public/payments/<id>/done) the outcome.
// Only an open charge offers the checkout, so a paid link says so and can never charge twice.
import { call, h, langPicker, money, show, start, t, token, when } from "./common";

interface PayView {
  payment_id: string;
  status: string;
  payable: boolean;
  description: string;
  amount: string;
  amount_before_discount: string;
  currency: string;
  methods: string[];
  expires_at: string;
  paid_at: string | null;
  method: string | null;
  failure_reason: string | null;
  merchant_name: string;
  locale: string | null;
  checkout_url: string | null;
  pix: { code: string; svg: string } | null;
}

const PAY = "/public/payments/pay";
const kept = (id: string) => `cf-pay:${id}`;
const done = location.pathname.match(/^\/public\/payments\/([0-9a-fA-F-]{36})\/done$/);
let polling = 0;

function load(tok: string) {
  return call<PayView>(PAY, { query: { token: tok } });
}

function methodName(m: string) {
  return m === "pix" ? t("pix") : m === "credit" ? t("credit") : t("debit");
}

function render(view: PayView, tok: string, returned: boolean) {
  const again = () => render(view, tok, returned);
  const discounted = view.amount !== view.amount_before_discount;
  const price = h(
    "div",
    { class: "price" },
    discounted && h("p", { class: "before" }, t("price_before"), " ", h("s", {}, money(view.amount_before_discount, view.currency))),
    h("p", { class: "after" }, discounted ? t("price_now") : t("price_total"), " ", h("strong", { id: "amount" }, money(view.amount, view.currency))),
  );
  const summary = h("section", { class: "card" }, h("p", { class: "muted" }, view.merchant_name), h("h2", { id: "procedure" }, view.description), price);
  const status = view.status;
  let body: (Node | false)[];
  if (status === "paid" || status === "partially_refunded" || status === "refunded") {
    body = [
      h("p", { class: "ok", id: "outcome", role: "status" }, status === "paid" ? t("paid") : t("refunded")),
      !!view.paid_at && h("p", {}, t("paid_on", { when: when(view.paid_at) }), view.method ? ` · ${methodName(view.method)}` : ""),
      h("p", {}, t("paid_nothing_more")),
    ];
  } else if (!view.payable) {
    body = [h("p", { class: "warn", id: "outcome", role: "status" }, status === "cancelled" ? t("pay_cancelled") : t("pay_expired")), h("p", {}, t("ask_clinic"))];
  } else {
    const methods = h("ul", { class: "methods", "aria-label": t("methods") }, ...view.methods.map((m) => h("li", {}, methodName(m))));
    const pix = view.pix
      ? h(
          "section",
          { class: "card", "aria-labelledby": "pix-title" },
          h("h2", { id: "pix-title" }, t("pix_title")),
          h("p", {}, t("pix_help")),
          h("label", { for: "pix-code" }, t("pix_code")),
          h("textarea", { id: "pix-code", readonly: true, rows: 4 }, view.pix.code),
          h(
            "button",
            {
              type: "button",
              onclick: async (e: Event) => {
                const button = e.currentTarget as HTMLButtonElement;
                try {
                  await navigator.clipboard.writeText(view.pix!.code);
                } catch {
                  (document.getElementById("pix-code") as HTMLTextAreaElement).select();
                  document.execCommand("copy");
                }
                button.textContent = t("copied");
              },
            },
            t("copy"),
          ),
          qr(view.pix.svg),
          h("p", { class: "muted" }, t("pix_waiting")),
        )
      : null;
    body = [
      returned && h("p", { class: "muted", id: "outcome", role: "status" }, status === "failed" ? t("pay_failed") : t("pay_waiting")),
      !returned && status === "failed" && h("p", { class: "warn", role: "status" }, t("pay_failed")),
      h("p", {}, t("methods_allowed")),
      methods,
      pix ?? false,
      view.checkout_url
        ? h(
            "a",
            {
              class: "button primary",
              id: "checkout",
              href: view.checkout_url,
              rel: "noreferrer",
              // Coming back from the checkout lands on /public/payments/<id>/done, which has no token: keep it here.
              onclick: () => localStorage.setItem(kept(view.payment_id), tok),
            },
            t("pay_checkout"),
          )
        : false,
      h("p", { class: "muted" }, t("pay_until", { when: when(view.expires_at) })),
    ];
    watch(tok, view.status, returned);
  }
  show(langPicker(again), h("h1", {}, t("pay_title")), summary, ...body.filter(Boolean));
}

function qr(svg: string): HTMLElement {
  const figure = h("figure", { class: "qr", role: "img", "aria-label": t("pix_qr") });
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  const el = doc.documentElement;
  if (el.nodeName.toLowerCase() === "svg") {
    el.setAttribute("aria-hidden", "true");
    figure.append(document.importNode(el, true));
  }
  return figure;
}

/** While the link is open, look again now and then: a PIX paid in the bank's app, or the webhook that follows
 *  the checkout, turns the page to "paid" by itself. */
function watch(tok: string, status: string, returned: boolean) {
  window.clearTimeout(polling);
  polling = window.setTimeout(async () => {
    try {
      const view = await load(tok);
      if (view.status !== status || !view.payable) render(view, tok, returned);
      else watch(tok, status, returned);
    } catch {
      watch(tok, status, returned);
    }
  }, returned ? 2000 : 5000);
}

if (done) {
  const tok = localStorage.getItem(kept(done[1]));
  if (tok) void start(() => load(tok), (v) => render(v, tok, true), (v) => v.locale);
  else
    void start(
      async () => null,
      function thanks() {
        show(langPicker(() => thanks()), h("h1", {}, t("thanks_title")), h("p", { id: "outcome" }, t("thanks")));
      },
    );
} else {
  const tok = token();
  void start(() => load(tok), (v) => render(v, tok, false), (v) => v.locale);
}
