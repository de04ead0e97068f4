// Branches, professionals and their working hours (scheduling:admin, the scheduling service). A branch and a
// professional are replaced whole (PUT), so the editor sends back what it does not show (breaks, days off).
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { Check, CheckGroup, SaveBar, splitList, useSaver, useST } from "./kit";

type Branch = Schemas["BranchOut"];
type Professional = Schemas["ProfessionalOut"];
type BranchIn = Schemas["BranchIn"];
type ProfessionalIn = Schemas["ProfessionalIn"];
export interface Hours {
  weekday: number;
  start: string;
  end: string;
  branch_id: string;
}

export function PlacesSection() {
  const { api } = useSession();
  const st = useST();
  const branches = useLoad(async () => (await unwrap(api.GET("/api/v1/scheduling/branches"))).items as Branch[], []);
  const pros = useLoad(async () => (await unwrap(api.GET("/api/v1/scheduling/professionals"))).items as Professional[], []);
  return (
    <>
      <section aria-labelledby="branches-title">
        <h2 id="branches-title">{st("branches.title")}</h2>
        <ProblemBanner problem={branches.problem} shown={[]} />
        {branches.data ? (
          <ul className="plain settings-list">
            {branches.data.map((b) => (
              <li key={b.id}>
                <details>
                  <summary>
                    <strong>{b.name}</strong> · {b.timezone}
                    {b.address ? ` · ${b.address}` : ""}
                    {b.active ? null : <span className="tag"> {st("inactive")}</span>}
                  </summary>
                  <BranchForm branch={b} onSaved={branches.reload} />
                </details>
              </li>
            ))}
          </ul>
        ) : (
          <Loading />
        )}
        <BranchForm onSaved={branches.reload} />
      </section>
      <section aria-labelledby="pros-title">
        <h2 id="pros-title">{st("pros.title")}</h2>
        <ProblemBanner problem={pros.problem} shown={[]} />
        {pros.data && branches.data ? (
          <>
            <ul className="plain settings-list">
              {pros.data.map((p) => (
                <li key={p.id}>
                  <details>
                    <summary>
                      <strong>{p.name}</strong> · {p.kind} · {p.hours.length} × {st("pro.hours").toLowerCase()}
                      {p.active ? null : <span className="tag"> {st("inactive")}</span>}
                    </summary>
                    <ProfessionalForm professional={p} branches={branches.data!} onSaved={pros.reload} />
                  </details>
                </li>
              ))}
            </ul>
            <ProfessionalForm branches={branches.data} onSaved={pros.reload} />
          </>
        ) : (
          <Loading />
        )}
      </section>
    </>
  );
}

function BranchForm({ branch, onSaved }: { branch?: Branch; onSaved: () => void }) {
  const { api, me } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(branch?.name ?? "");
  const [timezone, setTimezone] = useState(branch?.timezone ?? me.tenant.timezone);
  const [address, setAddress] = useState(branch?.address ?? "");
  const [subdivision, setSubdivision] = useState(branch?.subdivision ?? "");
  const [holidays, setHolidays] = useState(branch?.open_on_holidays ?? false);
  const [active, setActive] = useState(branch?.active ?? true);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body: BranchIn = { name, timezone, address: address || null, subdivision: subdivision || null, open_on_holidays: holidays, active };
    const ok = await saver.run(() =>
      branch
        ? unwrap(api.PUT("/api/v1/scheduling/branches/{branch_id}", { params: { path: { branch_id: branch.id } }, body }))
        : unwrap(api.POST("/api/v1/scheduling/branches", { body })),
    );
    if (!ok) return;
    if (!branch) {
      setName("");
      setAddress("");
      setSubdivision("");
    }
    onSaved();
  }
  const fields = ["name", "timezone", "address", "subdivision", "open_on_holidays", "active"];
  return (
    <form className={branch ? undefined : "card"} onSubmit={submit} noValidate aria-labelledby={branch ? undefined : "branches-add"} aria-label={branch ? branch.name : undefined}>
      {branch ? null : <h3 id="branches-add">{st("branches.add")}</h3>}
      <ProblemBanner problem={saver.problem} shown={fields} />
      <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
      <Field name="timezone" label={st("branch.timezone")} value={timezone} onChange={setTimezone} error={saver.errors.timezone} required />
      <Field name="address" label={st("branch.address")} value={address} onChange={setAddress} error={saver.errors.address} />
      <Field name="subdivision" label={st("branch.subdivision")} value={subdivision} onChange={setSubdivision} error={saver.errors.subdivision} />
      <Check name="open_on_holidays" label={st("branch.holidays")} checked={holidays} onChange={setHolidays} error={saver.errors.open_on_holidays} />
      {branch ? <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} /> : null}
      <SaveBar saver={saver} label={branch ? undefined : st("add")} />
    </form>
  );
}

export function ProfessionalForm({ professional, branches, onSaved }: { professional?: Professional; branches: Branch[]; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(professional?.name ?? "");
  const [kind, setKind] = useState(professional?.kind ?? "");
  const [specialties, setSpecialties] = useState((professional?.specialties ?? []).join(", "));
  const [branchIds, setBranchIds] = useState<string[]>(professional?.branch_ids ?? (branches.length === 1 ? [branches[0]!.id] : []));
  const [hours, setHours] = useState<Hours[]>((professional?.hours as unknown as Hours[] | undefined) ?? []);
  const [active, setActive] = useState(professional?.active ?? true);
  const label = professional ? professional.name : st("pros.add");
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body: ProfessionalIn = {
      name,
      kind,
      specialties: splitList(specialties),
      branch_ids: branchIds,
      hours,
      breaks: (professional?.breaks ?? []) as unknown as ProfessionalIn["breaks"],
      days_off: professional?.days_off ?? [],
      user_id: professional?.user_id ?? null,
      active,
    };
    const ok = await saver.run(() =>
      professional
        ? unwrap(api.PUT("/api/v1/scheduling/professionals/{professional_id}", { params: { path: { professional_id: professional.id } }, body }))
        : unwrap(api.POST("/api/v1/scheduling/professionals", { body })),
    );
    if (!ok) return;
    if (!professional) {
      setName("");
      setKind("");
      setSpecialties("");
      setHours([]);
    }
    onSaved();
  }
  const change = (i: number, patch: Partial<Hours>) => setHours(hours.map((h, j) => (j === i ? { ...h, ...patch } : h)));
  const branchOptions = branches.map((b) => ({ value: b.id, label: b.name }));
  const defaultBranch = branchIds[0] ?? branches[0]?.id;
  return (
    <form className={professional ? undefined : "card"} onSubmit={submit} noValidate aria-label={label}>
      {professional ? null : <h3>{label}</h3>}
      <ProblemBanner problem={saver.problem} shown={["name", "kind", "specialties", "branch_ids", "hours", "active"]} />
      <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
      <Field name="kind" label={st("pro.kind")} value={kind} onChange={setKind} error={saver.errors.kind} required />
      <Field name="specialties" label={st("pro.specialties")} value={specialties} onChange={setSpecialties} error={saver.errors.specialties} />
      <CheckGroup name="branch_ids" legend={st("pro.branches")} options={branchOptions} value={branchIds} onChange={setBranchIds} error={saver.errors.branch_ids} />
      <fieldset className={saver.errors.hours ? "field field-error" : "field"}>
        <legend>{st("pro.hours")}</legend>
        {hours.length === 0 ? <p className="muted">{st("pro.noHours")}</p> : null}
        {hours.map((h, i) => (
          <div className="row-fields" key={i} role="group" aria-label={`${st("pro.hours")} ${i + 1}`}>
            <Field
              name={`hours.${i}.weekday`}
              label={st("pro.weekday")}
              value={String(h.weekday)}
              onChange={(v) => change(i, { weekday: Number(v) })}
              options={[0, 1, 2, 3, 4, 5, 6].map((d) => ({ value: String(d), label: st(`day.${d}` as "day.0") }))}
            />
            <Field name={`hours.${i}.start`} type="time" label={st("pro.start")} value={h.start} onChange={(v) => change(i, { start: v })} />
            <Field name={`hours.${i}.end`} type="time" label={st("pro.end")} value={h.end} onChange={(v) => change(i, { end: v })} />
            <Field name={`hours.${i}.branch_id`} label={st("pro.branch")} value={h.branch_id} onChange={(v) => change(i, { branch_id: v })} options={branchOptions} />
            <button type="button" onClick={() => setHours(hours.filter((_, j) => j !== i))}>
              {st("remove")}
            </button>
          </div>
        ))}
        {saver.errors.hours ? (
          <p className="error" role="alert">
            {saver.errors.hours}
          </p>
        ) : null}
        {defaultBranch ? (
          <button type="button" onClick={() => setHours([...hours, { weekday: 0, start: "09:00", end: "18:00", branch_id: defaultBranch }])}>
            {st("pro.addHours")}
          </button>
        ) : (
          <p className="muted">{st("pro.noBranch")}</p>
        )}
      </fieldset>
      {professional ? <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} /> : null}
      <SaveBar saver={saver} label={professional ? undefined : st("add")} />
    </form>
  );
}
