// The valuation → quote settings (funnel:admin, the funnel service: `GET/PUT /api/v1/funnel/valuation-settings`,
// docs/quotes.md "Opened by a request"): which of the leads' treatments open a valuation by themselves, and the
// sales agent of a prospect whose lead has no owner. A refusal names `treatments.N` or `agent_id`, shown under
// that field, and the form stays as typed. The quotes' costs and discounts are in "Procedures, prices and costs".
import { useMemo, useState, type FormEvent } from "react";
import { unwrap, type ListItem, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { exactErrors, useSFT } from "./Assistant";
import { CheckGroup, SaveBar, useSaver, useST } from "./kit";

type Current = Schemas["ValuationSettingsOut"];
type Member = { user_id: string; full_name: string };

export function ValuationSection() {
  const { api } = useSession();
  const sf = useSFT();
  const current = useLoad(() => unwrap(api.GET("/api/v1/funnel/valuation-settings")), []);
  const treatments = useLoad(async () => (await unwrap(api.GET("/api/v1/leads/lists/{kind}", { params: { path: { kind: "treatment" } } }))).items as ListItem[], []);
  const staff = useLoad(async () => (await unwrap(api.GET("/api/v1/leads/staff"))).items as Member[], []);
  return (
    <section aria-labelledby="valuation-title">
      <h2 id="valuation-title">{sf("val.title")}</h2>
      <p className="muted">{sf("val.help")}</p>
      <ProblemBanner problem={current.problem ?? treatments.problem ?? staff.problem} shown={[]} />
      {current.data && treatments.data && staff.data ? <ValuationForm initial={current.data} treatments={treatments.data} staff={staff.data} /> : <Loading />}
    </section>
  );
}

function ValuationForm({ initial, treatments, staff }: { initial: Current; treatments: ListItem[]; staff: Member[] }) {
  const { api } = useSession();
  const st = useST();
  const sf = useSFT();
  const saver = useSaver();
  const [chosen, setChosen] = useState<string[]>(initial.treatments);
  const [agent, setAgent] = useState(initial.agent_id ?? "");
  const errors = useMemo(() => exactErrors(saver.problem), [saver.problem]);
  // A slug saved before its item left the list stays choosable (and can be unticked).
  const options = [
    ...treatments.filter((t) => t.active || chosen.includes(t.slug)).map((t) => ({ value: t.slug, label: t.label })),
    ...chosen.filter((slug) => !treatments.some((t) => t.slug === slug)).map((slug) => ({ value: slug, label: sf("val.unknown", { slug }) })),
  ];
  // `treatments.2` names one ticked slug: say it under the group, with the slug's name.
  const treatmentError = Object.entries(errors)
    .filter(([f]) => f === "treatments" || f.startsWith("treatments."))
    .map(([f, m]) => {
      const slug = chosen[Number(f.split(".")[1])];
      return slug && f !== "treatments" ? `${options.find((o) => o.value === slug)?.label ?? slug}: ${m}` : m;
    })
    .join(" ");
  async function submit(e: FormEvent) {
    e.preventDefault();
    await saver.run(() => unwrap(api.PUT("/api/v1/funnel/valuation-settings", { body: { treatments: chosen, agent_id: agent || null } })));
  }
  return (
    <form onSubmit={submit} noValidate aria-label={sf("val.title")} className="stack">
      <ProblemBanner problem={saver.problem} shown={["treatments", "agent_id"]} />
      {options.length ? (
        <CheckGroup name="treatments" legend={sf("val.treatments")} options={options} value={chosen} onChange={setChosen} error={treatmentError || undefined} />
      ) : (
        <p className="banner banner-warn">{sf("val.noTreatments")}</p>
      )}
      <Field
        name="agent_id"
        label={sf("val.agent")}
        value={agent}
        onChange={setAgent}
        error={errors.agent_id}
        options={[
          { value: "", label: sf("val.noAgent") },
          ...(agent && !staff.some((s) => s.user_id === agent) ? [{ value: agent, label: `#${agent.slice(-6)}` }] : []),
          ...staff.map((s) => ({ value: s.user_id, label: s.full_name })),
        ]}
      />
      <p className="muted">
        {sf("val.costs")} <a href="#/settings/procedures">{st("section.procedures")}</a>.
      </p>
      <SaveBar saver={saver} />
    </form>
  );
}
