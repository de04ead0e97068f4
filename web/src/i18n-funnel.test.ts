import { LOCALES } from "./i18n";
import { FUNNEL_DICTIONARIES, funnelTranslator } from "./i18n-funnel";
import { STATUSES } from "./screens/funnel/Assistant";
import { STATES } from "./screens/funnel/Valuations";

test("every language has every valuation and assistant text, none empty, and a name for every state the API sends", () => {
  const keys = Object.keys(FUNNEL_DICTIONARIES.en).sort();
  for (const locale of LOCALES) {
    expect(Object.keys(FUNNEL_DICTIONARIES[locale]).sort()).toEqual(keys);
    for (const key of keys) expect(FUNNEL_DICTIONARIES[locale][key as keyof typeof FUNNEL_DICTIONARIES.en].trim()).not.toBe("");
  }
  for (const state of STATES) expect(keys).toContain(`val.state.${state}`);
  for (const status of STATUSES) expect(keys).toContain(`asst.status.${status}`);
  for (const step of ["name", "cpf", "procedure", "region", "payment_link", "payment", "booking_link", "booking", "done"]) expect(keys).toContain(`asst.step.${step}`);
  expect(funnelTranslator("ru")("val.photosOf", { n: 3, total: 5 })).toBe("3 из 5");
  expect(funnelTranslator("pt-BR")("asst.action.took over")).toBe("assumiu");
});
