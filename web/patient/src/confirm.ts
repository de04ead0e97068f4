// Confirm from a reminder: one tap.
import { type Appointment, card, closed, closedText } from "./appointment";
import { ApiError, call, fieldError, h, langPicker, setError, show, start, t, token } from "./common";

const URL_ = "/public/scheduling/confirm";
const tok = token();

function render(a: Appointment) {
  const again = () => render(a);
  const confirmed = a.status === "confirmed";
  const button = h("button", { type: "button", class: "primary", id: "confirm", onclick: async () => {
    button.disabled = true;
    try {
      render(await call<Appointment>(URL_, { method: "POST", query: { token: tok } }));
    } catch (e) {
      button.disabled = false;
      setError(document.getElementById("confirm-error"), e instanceof ApiError ? e.problem.detail : t("offline"));
    }
  } }, t("confirm_button"));
  show(
    langPicker(again),
    h("h1", {}, confirmed ? t("confirmed_title") : t("confirm_title")),
    card(a),
    confirmed
      ? h("p", { class: "ok", role: "status", id: "confirmed" }, t("confirmed"))
      : closed(a)
        ? h("p", { class: "warn", role: "status" }, closedText(a))
        : button,
    fieldError("confirm-error", null),
  );
}

void start(() => call<Appointment>(URL_, { query: { token: tok } }), render);
