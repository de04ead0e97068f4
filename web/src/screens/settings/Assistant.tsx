// The pre-qualification assistant's settings (funnel:admin, the funnel service: `GET/PUT
// /api/v1/funnel/assistant/settings`, docs/funnel.md "How a clinic edits the questions"): on or off, the
// procedures and regions the patient chooses from (scheduling's procedures and branches, each with the title
// the patient sees and a procedure's deposit), the language, currency and timers, and the texts per language
// (empty: the built-in text). One PUT sends everything; a refusal names the field (`procedures.1.title`,
// `messages.es.ask_cpf`, `reply_minutes`), shown under it, and the form stays as typed. The preview renders the
// texts as typed, as the service does (`{variable}` filled, an unknown one left as written for the API to
// refuse), along the conversation a patient has.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { unwrap, type Problem, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { LOCALES, LOCALE_NAMES, type Locale } from "../../i18n";
import { SETTINGS_FUNNEL_DICTIONARIES, settingsFunnelTranslator, type SettingsFunnelKey, type SFT } from "../../i18n-settings-funnel";
import { useSession } from "../../session";
import { Check, SaveBar, useSaver, useST } from "./kit";

type Settings = Schemas["SettingsOut"];
type Named = { id: string; name: string };

export function useSFT(): SFT {
  const { locale } = useSession();
  return useMemo(() => settingsFunnelTranslator(locale), [locale]);
}

/** A problem's fields as the API wrote them, `body.` dropped and `[n]` written `.n` (msgspec says
 * `procedures[0].title`, the service `procedures.0.title`): field path → message. */
export function exactErrors(problem: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) {
    const field = e.field.replace(/^(body|query|path)\./, "").replace(/\[(\d+)\]/g, ".$1");
    out[field] = out[field] ? `${out[field]} ${e.message}` : e.message;
  }
  return out;
}

/** The service's rendering (funnel.domain.assistant.render): `{name}` filled, an unknown one left as written. */
export function renderText(text: string, values: Record<string, string>): string {
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

export function AssistantSection() {
  const { api } = useSession();
  const sf = useSFT();
  const current = useLoad(() => unwrap(api.GET("/api/v1/funnel/assistant/settings")), []);
  const procedures = useLoad(async () => ((await unwrap(api.GET("/api/v1/scheduling/procedures"))).items as { id: string; name: string; active: boolean }[]).filter((p) => p.active), []);
  const branches = useLoad(async () => ((await unwrap(api.GET("/api/v1/scheduling/branches"))).items as { id: string; name: string; active: boolean }[]).filter((b) => b.active), []);
  return (
    <section aria-labelledby="assistant-title">
      <h2 id="assistant-title">{sf("asst.title")}</h2>
      <p className="muted">{sf("asst.help")}</p>
      <ProblemBanner problem={current.problem ?? procedures.problem ?? branches.problem} shown={[]} />
      {current.data && procedures.data && branches.data ? <AssistantForm initial={current.data} procedures={procedures.data} branches={branches.data} /> : <Loading />}
    </section>
  );
}

interface Row {
  id: string;
  title: string;
  amount: string;
}

const SHOWN = ["enabled", "procedures", "regions", "messages", "default_locale", "currency", "reply_minutes", "handoff_minutes"];

function AssistantForm({ initial, procedures, branches }: { initial: Settings; procedures: Named[]; branches: Named[] }) {
  const { api, locale: userLocale } = useSession();
  const st = useST();
  const sf = useSFT();
  const saver = useSaver();
  const [enabled, setEnabled] = useState(initial.enabled);
  const [procs, setProcs] = useState<Row[]>(initial.procedures.map((o) => ({ id: o.id, title: o.title, amount: o.amount ?? "" })));
  const [regions, setRegions] = useState<Row[]>(initial.regions.map((o) => ({ id: o.id, title: o.title, amount: "" })));
  const [messages, setMessages] = useState<Record<string, Record<string, string>>>(() => Object.fromEntries(LOCALES.map((l) => [l, { ...(initial.messages[l] ?? {}) }])));
  const [defaultLocale, setDefaultLocale] = useState(initial.default_locale);
  const [currency, setCurrency] = useState(initial.currency);
  const [reply, setReply] = useState(String(initial.reply_minutes));
  const [handoff, setHandoff] = useState(String(initial.handoff_minutes));
  const [textsLocale, setTextsLocale] = useState<Locale>(LOCALES.includes(initial.default_locale as Locale) ? (initial.default_locale as Locale) : userLocale);
  const errors = useMemo(() => exactErrors(saver.problem), [saver.problem]);
  // A refused text in another language than the one shown: show that language, so the problem is next to it.
  useEffect(() => {
    const named = Object.keys(errors).map((f) => /^messages\.([^.]+)\./.exec(f)?.[1]).find((l) => l && LOCALES.includes(l as Locale));
    if (named) setTextsLocale(named as Locale);
  }, [errors]);
  const whole = (text: string) => (/^\s*\d+\s*$/.test(text) ? Number(text) : (text as unknown as number));

  async function submit(e: FormEvent) {
    e.preventDefault();
    const cleaned: Record<string, Record<string, string>> = {};
    for (const [loc, texts] of Object.entries(messages)) {
      for (const [key, text] of Object.entries(texts)) if (text.trim()) (cleaned[loc] ??= {})[key] = text;
    }
    const body = {
      enabled,
      procedures: procs.map((p) => ({ id: p.id, title: p.title, amount: p.amount.trim() || null })),
      regions: regions.map((r) => ({ id: r.id, title: r.title })),
      messages: cleaned,
      default_locale: defaultLocale,
      currency: currency.trim(),
      reply_minutes: whole(reply),
      handoff_minutes: whole(handoff),
    };
    await saver.run(() => unwrap(api.PUT("/api/v1/funnel/assistant/settings", { body })));
  }

  const keys = Object.keys(initial.variables);
  const textOf = (loc: string, key: string) => messages[loc]?.[key]?.trim() || initial.defaults[loc]?.[key] || initial.defaults["pt-BR"]?.[key] || "";
  const edited = Object.values(messages[textsLocale] ?? {}).filter((t) => t.trim()).length;
  return (
    <form onSubmit={submit} noValidate aria-label={sf("asst.title")} className="stack">
      <ProblemBanner problem={saver.problem} shown={SHOWN} />
      <Check name="enabled" label={sf("asst.enabled")} checked={enabled} onChange={setEnabled} error={errors.enabled} />
      <Options
        kind="procedures"
        legend={sf("asst.procedures")}
        help={sf("asst.proceduresHelp")}
        itemLabel={(n) => sf("asst.procedureN", { n })}
        choiceLabel={sf("asst.procedure")}
        choices={procedures}
        empty={sf("asst.noProcedures")}
        rows={procs}
        onRows={setProcs}
        errors={errors}
        withAmount
      />
      <Options
        kind="regions"
        legend={sf("asst.regions")}
        help={sf("asst.regionsHelp")}
        itemLabel={(n) => sf("asst.regionN", { n })}
        choiceLabel={sf("asst.region")}
        choices={branches}
        empty={sf("asst.noBranches")}
        rows={regions}
        onRows={setRegions}
        errors={errors}
      />
      <fieldset className="stack">
        <legend>{sf("asst.timing")}</legend>
        <div className="row-fields">
          <Field name="default_locale" label={sf("asst.defaultLocale")} value={defaultLocale} onChange={setDefaultLocale} error={errors.default_locale} options={LOCALES.map((l) => ({ value: l, label: LOCALE_NAMES[l] }))} />
          <Field name="currency" label={sf("asst.currency")} value={currency} onChange={setCurrency} error={errors.currency} />
          <Field name="reply_minutes" type="number" label={sf("asst.replyMinutes")} value={reply} onChange={setReply} error={errors.reply_minutes} />
          <Field name="handoff_minutes" type="number" label={sf("asst.handoffMinutes")} value={handoff} onChange={setHandoff} error={errors.handoff_minutes} />
        </div>
      </fieldset>
      <fieldset className="stack">
        <legend>{sf("asst.texts")}</legend>
        <p className="muted">{sf("asst.textsHelp")}</p>
        {errors.messages ? (
          <p className="error" role="alert">
            {errors.messages}
          </p>
        ) : null}
        <Field
          name="texts_locale"
          label={sf("asst.textsLocale")}
          value={textsLocale}
          onChange={(v) => setTextsLocale(v as Locale)}
          options={LOCALES.map((l) => ({ value: l, label: LOCALE_NAMES[l] }))}
        />
        <p className="muted">{sf("asst.edited", { n: edited })}</p>
        {keys.map((key) => (
          <MessageField
            key={`${textsLocale}:${key}`}
            name={`messages.${textsLocale}.${key}`}
            label={messageLabel(sf, key)}
            value={messages[textsLocale]?.[key] ?? ""}
            builtin={initial.defaults[textsLocale]?.[key] ?? ""}
            variables={initial.variables[key] ?? []}
            error={errors[`messages.${textsLocale}.${key}`]}
            onChange={(v) => setMessages({ ...messages, [textsLocale]: { ...messages[textsLocale], [key]: v } })}
          />
        ))}
      </fieldset>
      <Preview locale={textsLocale} textOf={textOf} procs={procs} regions={regions} currency={currency.trim().toUpperCase() || initial.currency} />
      <SaveBar saver={saver} label={st("save")} />
    </form>
  );
}

/** A text's name in the user's language; a key the console does not know yet is shown as the API names it. */
function messageLabel(sf: SFT, key: string): string {
  const k = `msg.${key}`;
  return k in SETTINGS_FUNNEL_DICTIONARIES.en ? sf(k as SettingsFunnelKey) : key;
}

function MessageField({
  name,
  label,
  value,
  builtin,
  variables,
  error,
  onChange,
}: {
  name: string;
  label: string;
  value: string;
  builtin: string;
  variables: string[];
  error?: string;
  onChange: (v: string) => void;
}) {
  const sf = useSFT();
  return (
    <div className="assistant-text">
      <Field name={name} label={label} value={value} onChange={onChange} error={error} multiline />
      <p className="muted">
        {sf("asst.builtin", { text: builtin })} {variables.length ? sf("asst.variables", { list: variables.map((v) => `{${v}}`).join(" ") }) : sf("asst.noVariables")}
      </p>
      {value ? (
        <button type="button" className="small" onClick={() => onChange("")}>
          {sf("asst.useBuiltin", { name: label })}
        </button>
      ) : null}
    </div>
  );
}

/** The procedures or the regions: each a choice of scheduling's (kept when it is no longer there), the title the
 * patient sees, a procedure's deposit; added, removed and moved up or down (the patient sees this order). */
function Options({
  kind,
  legend,
  help,
  itemLabel,
  choiceLabel,
  choices,
  empty,
  rows,
  onRows,
  errors,
  withAmount,
}: {
  kind: "procedures" | "regions";
  legend: string;
  help: string;
  itemLabel: (n: number) => string;
  choiceLabel: string;
  choices: Named[];
  empty: string;
  rows: Row[];
  onRows: (rows: Row[]) => void;
  errors: Record<string, string>;
  withAmount?: boolean;
}) {
  const st = useST();
  const sf = useSFT();
  const set = (i: number, patch: Partial<Row>) => onRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const nameOf = (id: string) => choices.find((c) => c.id === id)?.name;
  function pick(i: number, id: string) {
    const row = rows[i]!;
    // The title follows the choice until it is typed (WhatsApp's list rows take 24 characters).
    const untouched = !row.title || row.title === (nameOf(row.id) ?? "").slice(0, 24);
    set(i, { id, ...(untouched ? { title: (nameOf(id) ?? "").slice(0, 24) } : {}) });
  }
  function add() {
    const free = choices.find((c) => !rows.some((r) => r.id === c.id)) ?? choices[0];
    if (free) onRows([...rows, { id: free.id, title: free.name.slice(0, 24), amount: "" }]);
  }
  function move(i: number, by: -1 | 1) {
    const next = [...rows];
    [next[i], next[i + by]] = [next[i + by]!, next[i]!];
    onRows(next);
  }
  return (
    <fieldset className="stack">
      <legend>{legend}</legend>
      <p className="muted">{help}</p>
      {errors[kind] ? (
        <p className="error" role="alert">
          {errors[kind]}
        </p>
      ) : null}
      {choices.length === 0 ? <p className="banner banner-warn">{empty}</p> : null}
      <ol className="plain settings-list">
        {rows.map((row, i) => {
          const options = [...(nameOf(row.id) ? [] : [{ value: row.id, label: sf("asst.unknown", { id: row.id }) }]), ...choices.map((c) => ({ value: c.id, label: c.name }))];
          const name = row.title || itemLabel(i + 1);
          return (
            <li key={i}>
              <fieldset className="row-fields">
                <legend>{itemLabel(i + 1)}</legend>
                <Field name={`${kind}.${i}.id`} label={choiceLabel} value={row.id} onChange={(v) => pick(i, v)} options={options} error={errors[`${kind}.${i}.id`]} />
                <Field name={`${kind}.${i}.title`} label={sf("asst.optionTitle")} value={row.title} onChange={(v) => set(i, { title: v })} error={errors[`${kind}.${i}.title`]} required />
                {withAmount ? <Field name={`${kind}.${i}.amount`} label={sf("asst.amount")} value={row.amount} onChange={(v) => set(i, { amount: v })} error={errors[`${kind}.${i}.amount`]} /> : null}
                <div className="actions">
                  <button type="button" className="small" disabled={i === 0} onClick={() => move(i, -1)} aria-label={st("moveUp", { name })}>
                    ↑
                  </button>
                  <button type="button" className="small" disabled={i === rows.length - 1} onClick={() => move(i, 1)} aria-label={st("moveDown", { name })}>
                    ↓
                  </button>
                  <button type="button" className="small" onClick={() => onRows(rows.filter((_, j) => j !== i))}>
                    {sf("asst.removeN", { name })}
                  </button>
                </div>
              </fieldset>
            </li>
          );
        })}
      </ol>
      {choices.length ? (
        <div>
          <button type="button" className="small" onClick={add}>
            + {sf("asst.add")}: {choiceLabel}
          </button>
        </div>
      ) : null}
    </fieldset>
  );
}

/** The conversation a patient has, from the texts as typed, with sample answers. */
function Preview({ locale, textOf, procs, regions, currency }: { locale: Locale; textOf: (locale: string, key: string) => string; procs: Row[]; regions: Row[]; currency: string }) {
  const sf = useSFT();
  const say = (key: string, values: Record<string, string> = {}) => renderText(textOf(locale, key), values);
  const first = "Maria";
  const procedure = procs[0]?.title || "Botox";
  const region = regions[0]?.title || "Centro";
  const amount = procs[0]?.amount.trim() || "150.00";
  const date = new Intl.DateTimeFormat(locale, { dateStyle: "short" }).format(new Date(Date.UTC(2026, 11, 14, 12)));
  const lines: { who: "assistant" | "patient"; text: string; choices?: string[]; button?: string }[] = [
    { who: "assistant", text: say("greeting") },
    { who: "assistant", text: say("ask_name") },
    { who: "patient", text: "Maria Souza" },
    { who: "assistant", text: say("ask_cpf", { first_name: first }) },
    { who: "patient", text: "123.456" },
    { who: "assistant", text: say("bad_cpf", { first_name: first, reason: say("cpf_length", { digits: "6" }) }) },
    { who: "patient", text: "111.444.777-35" },
    { who: "assistant", text: say("ask_procedure", { first_name: first }), choices: procs.map((p) => p.title), button: say("list_button") },
    { who: "patient", text: procedure },
    { who: "assistant", text: say("ask_region", { first_name: first, procedure }), choices: regions.map((r) => r.title), button: say("list_button") },
    { who: "patient", text: region },
    { who: "assistant", text: say("payment_link", { first_name: first, procedure, amount, currency, url: "https://pay.example/p/3f9c" }) },
    { who: "assistant", text: say("booking_link", { first_name: first, procedure, region, url: "https://book.example/b/7a21" }) },
    { who: "assistant", text: say("completed", { first_name: first, procedure, region, date, time: "10:30" }) },
  ];
  const later = ["reminder", "handoff", "handback"].map((key) => say(key, { first_name: first }));
  return (
    <section role="region" aria-label={sf("asst.preview")} className="card assistant-preview">
      <h3>{sf("asst.preview")}</h3>
      <p className="muted">{sf("asst.previewHelp")}</p>
      <ol className="plain">
        {lines.map((line, i) => (
          <li key={i} className={line.who === "patient" ? "bubble bubble-in" : "bubble bubble-out"}>
            <strong>{line.who === "patient" ? sf("asst.previewPatient") : sf("asst.previewAssistant")}:</strong> <span className="pre">{line.text}</span>
            {line.choices?.length ? (
              <span className="muted">
                {" "}
                [{line.button}] {sf("asst.previewChoices")}: {line.choices.join(" · ")}
              </span>
            ) : null}
          </li>
        ))}
      </ol>
      <h4>{sf("asst.previewSilent")}</h4>
      <ul className="plain">
        {later.map((text, i) => (
          <li key={i} className="bubble bubble-out">
            <strong>{sf("asst.previewAssistant")}:</strong> <span className="pre">{text}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
