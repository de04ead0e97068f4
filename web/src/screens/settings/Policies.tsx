// Two settings forms over one call each: the notifications service's clinic settings (time zone, default
// language, quiet hours that defer patient messages: `GET/PUT /api/v1/notifications/settings`, crm:admin) and
// the scheduling service's booking policy (`GET/PUT /api/v1/scheduling/policy`, scheduling:admin: how long a
// slot is held, how soon one may be booked, the slot step, the refund cut-off, the reminders, the anamnesis
// questionnaire sent before a visit).
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { LOCALES, LOCALE_NAMES } from "../../i18n";
import { useSession } from "../../session";
import { Check, SaveBar, useSaver, useST } from "./kit";

type Notif = Schemas["notifications_SettingsOut"];
type Policy = Schemas["PolicyOut"];

export function QuietHoursSection() {
  const { api } = useSession();
  const st = useST();
  const current = useLoad(() => unwrap(api.GET("/api/v1/notifications/settings")), []);
  return (
    <section aria-labelledby="quiet-title">
      <h2 id="quiet-title">{st("quiet.title")}</h2>
      <p className="muted">{st("quiet.help")}</p>
      <ProblemBanner problem={current.problem} shown={[]} />
      {current.data ? <QuietForm initial={current.data} /> : current.loading ? <Loading /> : null}
    </section>
  );
}

function QuietForm({ initial }: { initial: Notif }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [timezone, setTimezone] = useState(initial.timezone);
  const [locale, setLocale] = useState(initial.locale);
  const [quiet, setQuiet] = useState(initial.quiet_start !== null);
  const [start, setStart] = useState(initial.quiet_start ?? "21:00");
  const [end, setEnd] = useState(initial.quiet_end ?? "08:00");
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { timezone: timezone.trim(), locale, quiet_start: quiet ? start : null, quiet_end: quiet ? end : null };
    await saver.run(() => unwrap(api.PUT("/api/v1/notifications/settings", { body })));
  }
  return (
    <form onSubmit={submit} noValidate aria-label={st("quiet.title")} className="stack">
      <ProblemBanner problem={saver.problem} shown={["timezone", "locale", "quiet_start", "quiet_end"]} />
      <div className="row-fields">
        <Field name="timezone" label={st("quiet.timezone")} value={timezone} onChange={setTimezone} error={saver.errors.timezone} required />
        <Field name="locale" label={st("quiet.locale")} value={locale} onChange={setLocale} error={saver.errors.locale} options={LOCALES.map((l) => ({ value: l, label: LOCALE_NAMES[l] }))} />
      </div>
      <Check name="quiet" label={st("quiet.on")} checked={quiet} onChange={setQuiet} />
      {quiet ? (
        <div className="row-fields">
          <Field name="quiet_start" label={st("quiet.start")} type="time" value={start} onChange={setStart} error={saver.errors.quiet_start} required />
          <Field name="quiet_end" label={st("quiet.end")} type="time" value={end} onChange={setEnd} error={saver.errors.quiet_end} required />
        </div>
      ) : null}
      <SaveBar saver={saver} />
    </form>
  );
}

export function BookingPolicySection() {
  const { api } = useSession();
  const st = useST();
  const current = useLoad(() => unwrap(api.GET("/api/v1/scheduling/policy")), []);
  const questionnaires = useLoad(async () => (await unwrap(api.GET("/api/v1/scheduling/questionnaires"))).items as { id: string; name: string }[], []);
  return (
    <section aria-labelledby="policy-title">
      <h2 id="policy-title">{st("policy.title")}</h2>
      <ProblemBanner problem={current.problem ?? questionnaires.problem} shown={[]} />
      {current.data && questionnaires.data ? <PolicyForm initial={current.data} questionnaires={questionnaires.data} /> : <Loading />}
    </section>
  );
}

/** `"1440, 120"` ↔ `[1440, 120]`; anything that is not a whole number stays as typed for the API to refuse. */
export function offsetsOf(text: string): (number | string)[] {
  return text
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function PolicyForm({ initial, questionnaires }: { initial: Policy; questionnaires: { id: string; name: string }[] }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [hold, setHold] = useState(String(initial.hold_minutes));
  const [lead, setLead] = useState(String(initial.min_lead_minutes));
  const [step, setStep] = useState(String(initial.slot_step_minutes));
  const [cutoff, setCutoff] = useState(String(initial.refund_cutoff_hours));
  const [reminders, setReminders] = useState(initial.reminder_offsets.join(", "));
  const [country, setCountry] = useState(initial.country);
  const [questionnaire, setQuestionnaire] = useState(initial.anamnesis_questionnaire_id ?? "");
  const whole = (text: string) => (/^\s*\d+\s*$/.test(text) ? Number(text) : (text as unknown as number));
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = {
      hold_minutes: whole(hold),
      min_lead_minutes: whole(lead),
      slot_step_minutes: whole(step),
      refund_cutoff_hours: whole(cutoff),
      reminder_offsets: offsetsOf(reminders) as number[],
      country: country.trim().toUpperCase(),
      ...(questionnaire ? { anamnesis_questionnaire_id: questionnaire } : {}),
    };
    await saver.run(() => unwrap(api.PUT("/api/v1/scheduling/policy", { body })));
  }
  const errors = saver.errors;
  return (
    <form onSubmit={submit} noValidate aria-label={st("policy.title")} className="stack">
      <ProblemBanner problem={saver.problem} shown={["hold_minutes", "min_lead_minutes", "slot_step_minutes", "refund_cutoff_hours", "reminder_offsets", "country", "anamnesis_questionnaire_id"]} />
      <div className="row-fields">
        <Field name="hold_minutes" label={st("policy.hold")} type="number" value={hold} onChange={setHold} error={errors.hold_minutes} />
        <Field name="min_lead_minutes" label={st("policy.minLead")} type="number" value={lead} onChange={setLead} error={errors.min_lead_minutes} />
        <Field name="slot_step_minutes" label={st("policy.step")} type="number" value={step} onChange={setStep} error={errors.slot_step_minutes} />
        <Field name="refund_cutoff_hours" label={st("policy.cutoff")} type="number" value={cutoff} onChange={setCutoff} error={errors.refund_cutoff_hours} />
      </div>
      <Field name="reminder_offsets" label={st("policy.reminders")} value={reminders} onChange={setReminders} error={errors.reminder_offsets} />
      <div className="row-fields">
        <Field name="country" label={st("policy.country")} value={country} onChange={setCountry} error={errors.country} />
        <Field
          name="anamnesis_questionnaire_id"
          label={st("policy.questionnaire")}
          value={questionnaire}
          onChange={setQuestionnaire}
          error={errors.anamnesis_questionnaire_id}
          options={[...(initial.anamnesis_questionnaire_id ? [] : [{ value: "", label: st("policy.noQuestionnaire") }]), ...questionnaires.map((q) => ({ value: q.id, label: q.name }))]}
        />
      </div>
      <SaveBar saver={saver} />
    </form>
  );
}
