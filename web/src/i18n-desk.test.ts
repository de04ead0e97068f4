import { clinicCurrency, DESK, deskTranslator, formatMoney } from "./i18n-desk";
import { LOCALES } from "./i18n";

test("every language has every desk text, none empty", () => {
  const keys = Object.keys(DESK.en).sort();
  for (const locale of LOCALES) {
    expect(Object.keys(DESK[locale]).sort()).toEqual(keys);
    for (const key of keys) expect(DESK[locale][key as keyof typeof DESK.en].trim()).not.toBe("");
  }
  expect(deskTranslator("pt-BR")("pipe.moveTitle", { name: "Ana" })).toBe("Mover “Ana”");
  expect(deskTranslator("ru")("nav.pipelines")).toBe("Воронки");
});

test("money in the clinic's format and currency", () => {
  expect(clinicCurrency("BR")).toBe("BRL");
  expect(clinicCurrency("es")).toBe("EUR");
  expect(formatMoney("1234.5", "pt-BR", "BRL").replace(/\s/g, " ")).toBe("R$ 1.234,50");
  expect(formatMoney("1234.5", "ru", "RUB").replace(/\s/g, " ")).toBe("1 234,50 ₽");
  expect(formatMoney(null, "pt-BR", "BRL")).toBe("—");
  expect(formatMoney("abc", "pt-BR", "BRL")).toBe("abc");
});
