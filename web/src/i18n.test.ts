import { DICTIONARIES, Formats, formatPhone, LOCALES, statusName, STATUSES, translator } from "./i18n";

test("every language has every text, none empty", () => {
  const keys = Object.keys(DICTIONARIES.en).sort();
  for (const locale of LOCALES) {
    expect(Object.keys(DICTIONARIES[locale]).sort()).toEqual(keys);
    for (const key of keys) expect(DICTIONARIES[locale][key as keyof typeof DICTIONARIES.en].trim()).not.toBe("");
  }
  for (const locale of LOCALES) for (const s of STATUSES) expect(statusName(locale, s)).not.toBe(s);
});

test("placeholders are filled", () => {
  expect(translator("pt-BR")("list.range", { from: 1, to: 50, total: "1.000+" })).toBe("1–50 de 1.000+");
  expect(translator("ru")("bell.label", { n: 3 })).toBe("Дела: 3 ожидают");
});

test("phones are written as at the clinic: national at home, international abroad", () => {
  expect(formatPhone("+5511987654321", "BR")).toBe("(11) 98765-4321");
  expect(formatPhone("+551133334444", "BR")).toBe("(11) 3333-4444");
  expect(formatPhone("+5511987654321", "ES")).toBe("+55 (11) 98765-4321");
  expect(formatPhone("+79123456789", "RU")).toBe("8 (912) 345-67-89");
  expect(formatPhone("+34612345678", "ES")).toBe("612 34 56 78");
  expect(formatPhone("+4915112345678", "BR")).toBe("+4915112345678");
});

test("dates in the clinic's numeric format and time zone", () => {
  const br = new Formats("pt-BR", "America/Sao_Paulo", "BR");
  expect(br.date("2026-05-04")).toBe("04/05/2026");
  expect(br.dateTime("2026-05-04T17:30:00Z")).toMatch(/04\/05\/2026,? 14:30/);
  expect(br.number(12345)).toBe("12.345");
  const ru = new Formats("ru", "Europe/Moscow", "RU");
  expect(ru.date("2026-05-04")).toBe("04.05.2026");
  expect(ru.dateTime("2026-05-04T17:30:00Z")).toMatch(/04\.05\.2026,? 20:30/);
  expect(new Formats("en", "UTC", "US").date("2026-05-04")).toBe("05/04/2026");
});

test("a wall-clock time in the clinic's zone becomes the instant the API stores, and back", () => {
  const br = new Formats("pt-BR", "America/Sao_Paulo", "BR");
  expect(br.zonedToIso("2026-05-04T14:30")).toBe("2026-05-04T17:30:00.000Z");
  expect(br.isoToZoned("2026-05-04T17:30:00Z")).toBe("2026-05-04T14:30");
  const madrid = new Formats("es", "Europe/Madrid", "ES");
  expect(madrid.zonedToIso("2026-07-01T09:00")).toBe("2026-07-01T07:00:00.000Z"); // summer time
  expect(madrid.zonedToIso("2026-01-15T09:00")).toBe("2026-01-15T08:00:00.000Z");
  expect(br.today(new Date("2026-05-05T02:00:00Z"))).toBe("2026-05-04");
});
