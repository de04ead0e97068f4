import { LOCALES } from "./i18n";
import { PRIVACY_DICTIONARIES, privacyTranslator } from "./i18n-privacy";
import { isRecordRead, purposeOfRoute, PURPOSES } from "./purpose";

test("every language has every privacy text, none empty, and a name for every purpose the console sends", () => {
  const keys = Object.keys(PRIVACY_DICTIONARIES.en).sort();
  for (const locale of LOCALES) {
    expect(Object.keys(PRIVACY_DICTIONARIES[locale]).sort()).toEqual(keys);
    for (const key of keys) expect(PRIVACY_DICTIONARIES[locale][key as keyof typeof PRIVACY_DICTIONARIES.en].trim()).not.toBe("");
    for (const purpose of PURPOSES) expect(keys).toContain(`purpose.${purpose}`);
  }
  expect(privacyTranslator("ru")("req.progress", { done: 2, total: 4 })).toBe("Ответили 2 из 4 сервисов");
});

test("the reads the gateway audits carry the screen's purpose; other calls none", () => {
  const id = "0192f0c1-8a6b-7c3d-9e4f-112233445566";
  expect(isRecordRead("GET", `/api/v1/leads/${id}`)).toBe(true);
  expect(isRecordRead("GET", `/api/v1/notifications/conversations/${id}`)).toBe(true);
  expect(isRecordRead("GET", "/api/v1/scheduling/anamnesis")).toBe(true);
  expect(isRecordRead("GET", `/api/v1/leads/${id}/requests`)).toBe(false);
  expect(isRecordRead("PATCH", `/api/v1/leads/${id}`)).toBe(false);
  expect(purposeOfRoute(`/prospects/${id}`)).toBe("sales");
  expect(purposeOfRoute("/agenda")).toBe("care");
  expect(purposeOfRoute("/conversations?lead=x")).toBe("communication");
  expect(purposeOfRoute("/privacy/requests/x")).toBe("privacy");
});
