// Sections and departments (crm:admin, the gateway's `/api/v1/identity/{sections|departments}`): the clinic's
// own units staff belong to; each renamed or switched off in its form, deleted while nobody belongs to it, and
// new ones added. A refused save keeps what was typed and shows the problem under the field it names.
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import type { SettingsKey } from "../../i18n-settings";
import { useSession } from "../../session";
import { Check, SaveBar, useSaver, useST } from "./kit";

type Unit = Schemas["UnitOut"];
type Kind = "sections" | "departments";
const KINDS: { kind: Kind; title: SettingsKey; add: SettingsKey }[] = [
  { kind: "sections", title: "units.sections", add: "units.addSection" },
  { kind: "departments", title: "units.departments", add: "units.addDepartment" },
];

export function UnitsSection() {
  const st = useST();
  return (
    <>
      <p className="muted">{st("units.hint")}</p>
      {KINDS.map((k) => (
        <Units key={k.kind} {...k} />
      ))}
    </>
  );
}

function Units({ kind, title, add }: { kind: Kind; title: SettingsKey; add: SettingsKey }) {
  const { api } = useSession();
  const st = useST();
  const list = useLoad(async () => (await unwrap(api.GET("/api/v1/identity/{kind}", { params: { path: { kind } } }))).items as Unit[], [kind]);
  const titleId = `units-${kind}`;
  return (
    <section aria-labelledby={titleId}>
      <h2 id={titleId}>{st(title)}</h2>
      <ProblemBanner problem={list.problem} shown={[]} />
      {list.data ? (
        list.data.length ? (
          <ul className="plain settings-list" aria-labelledby={titleId}>
            {list.data.map((u) => (
              <li key={u.id}>
                <details>
                  <summary>
                    <strong>{u.name}</strong>
                    {u.active ? null : <span className="tag"> {st("inactive")}</span>}
                  </summary>
                  <UnitForm kind={kind} unit={u} onSaved={list.reload} />
                </details>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">{st("none")}</p>
        )
      ) : list.problem ? null : (
        <Loading />
      )}
      <UnitForm kind={kind} add={add} onSaved={list.reload} />
    </section>
  );
}

function UnitForm({ kind, unit, add, onSaved }: { kind: Kind; unit?: Unit; add?: SettingsKey; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(unit?.name ?? "");
  const [active, setActive] = useState(unit?.active ?? true);
  const headId = `units-${kind}-add`;
  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await saver.run(() =>
      unit
        ? unwrap(api.PATCH("/api/v1/identity/{kind}/{unit_id}", { params: { path: { kind, unit_id: unit.id } }, body: { name, active } }))
        : unwrap(api.POST("/api/v1/identity/{kind}", { params: { path: { kind } }, body: { name } })),
    );
    if (!ok) return;
    if (!unit) setName("");
    onSaved();
  }
  async function remove() {
    if (!unit) return;
    if (await saver.run(() => unwrap(api.DELETE("/api/v1/identity/{kind}/{unit_id}", { params: { path: { kind, unit_id: unit.id } } })))) onSaved();
  }
  return (
    <form className={unit ? undefined : "card"} onSubmit={submit} noValidate aria-labelledby={unit ? undefined : headId} aria-label={unit ? unit.name : undefined}>
      {unit ? null : <h3 id={headId}>{st(add!)}</h3>}
      <ProblemBanner problem={saver.problem} shown={["name", "active"]} />
      <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
      {unit ? <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} /> : null}
      <SaveBar saver={saver} label={unit ? undefined : st("add")}>
        {unit ? (
          <button type="button" className="danger" onClick={() => void remove()} disabled={saver.busy}>
            {st("units.delete", { name: unit.name })}
          </button>
        ) : null}
      </SaveBar>
    </form>
  );
}
