// The leads' de-duplication window (crm:admin, the leads service's `/settings`): how many days back intake looks
// for the same person among open prospects before making a new one (0: never).
import { useEffect, useState, type FormEvent } from "react";
import { unwrap } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { SaveBar, useSaver, useST } from "./kit";

export function DedupeSection() {
  const { api } = useSession();
  const st = useST();
  const settings = useLoad(() => unwrap(api.GET("/api/v1/leads/settings")), []);
  return (
    <section aria-labelledby="dedupe-title">
      <h2 id="dedupe-title">{st("dedupe.title")}</h2>
      <p className="muted">{st("dedupe.hint")}</p>
      <ProblemBanner problem={settings.problem} shown={[]} />
      {settings.data ? <DedupeForm days={settings.data.dedupe_window_days} /> : settings.problem ? null : <Loading />}
    </section>
  );
}

function DedupeForm({ days }: { days: number }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [value, setValue] = useState(String(days));
  useEffect(() => setValue(String(days)), [days]);
  async function submit(e: FormEvent) {
    e.preventDefault();
    // What was typed goes as it is (a number when it reads as one): the API says what is wrong with it.
    const typed = value.trim();
    const body = { dedupe_window_days: /^-?\d+$/.test(typed) ? Number(typed) : (typed as unknown as number) };
    const ok = await saver.run(() => unwrap(api.PUT("/api/v1/leads/settings", { body })));
    if (ok) setValue(typed);
  }
  return (
    <form onSubmit={submit} noValidate aria-labelledby="dedupe-title">
      <ProblemBanner problem={saver.problem} shown={["dedupe_window_days"]} />
      <Field name="dedupe_window_days" label={st("dedupe.days")} type="number" value={value} onChange={setValue} error={saver.errors.dedupe_window_days} required />
      <SaveBar saver={saver} />
    </form>
  );
}
