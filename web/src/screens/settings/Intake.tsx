// Forms and questionnaires, as far as the services' APIs go: the leads service's intake forms (a public web form
// of the clinic, or a Tilda form posting to a webhook: `GET/POST /api/v1/leads/forms`, `PATCH .../{id}`,
// `POST .../{id}/rotate-secret`; crm:admin), and the scheduling service's anamnesis questionnaires (`GET/POST
// /api/v1/scheduling/questionnaires`, `PUT/DELETE .../{id}`; scheduling:admin: added, changed, and removed — the
// service archives a removed one, so links already sent still open it). A Tilda form's secret is in the answer of its creation or rotation only: shown once, then gone.
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { labelOf, useList, useLoad } from "../../data";
import type { SettingsKey } from "../../i18n-settings";
import { useSession } from "../../session";
import { Check, SaveBar, splitList, useSaver, useST } from "./kit";

type Form = Schemas["FormOut"];

function Secret({ form }: { form: Form }) {
  const st = useST();
  if (!form.secret) return null;
  return (
    <div className="banner" role="status" data-secret-once="">
      <p>{st("forms.secretOnce")}</p>
      <p>
        <code>{form.webhook_url ?? ""}</code>
      </p>
    </div>
  );
}

export function FormsSection() {
  const { api } = useSession();
  const st = useST();
  const forms = useLoad(() => unwrap(api.GET("/api/v1/leads/forms")).then((p) => p.items), []);
  const [fresh, setFresh] = useState<Form | null>(null);
  const shown = (forms.data ?? []).map((f) => (fresh && f.id === fresh.id ? fresh : f));
  return (
    <section aria-labelledby="forms-title">
      <h2 id="forms-title">{st("forms.title")}</h2>
      <p className="muted">{st("forms.help")}</p>
      <ProblemBanner problem={forms.problem} shown={[]} />
      {forms.data ? (
        shown.length ? (
          <ul className="plain settings-list" aria-label={st("forms.title")}>
            {shown.map((f) => (
              <li key={f.id}>
                <FormItem form={f} onSaved={(made) => (made ? setFresh(made) : setFresh(null), forms.reload())} />
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">{st("forms.none")}</p>
        )
      ) : (
        <Loading />
      )}
      <NewForm onCreated={(made) => (setFresh(made), forms.reload())} />
    </section>
  );
}

function FormItem({ form, onSaved }: { form: Form; onSaved: (withSecret: Form | null) => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const sources = useList("source");
  const treatments = useList("treatment");
  const [name, setName] = useState(form.name);
  const [source, setSource] = useState(form.source);
  const [treatment, setTreatment] = useState(form.treatment ?? "");
  const path = { params: { path: { form_id: form.id } } };
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/leads/forms/{form_id}", { ...path, body: { name, source, treatment: treatment || null } })))) onSaved(null);
  }
  async function toggle() {
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/leads/forms/{form_id}", { ...path, body: { active: !form.active } })))) onSaved(null);
  }
  async function rotate() {
    let made: Form | null = null;
    if (await saver.run(async () => (made = await unwrap(api.POST("/api/v1/leads/forms/{form_id}/rotate-secret", path))))) onSaved(made);
  }
  return (
    <form onSubmit={submit} noValidate aria-label={form.name} data-form={form.id}>
      <details>
        <summary>
          <strong>{form.name}</strong> <span className="tag">{st(`forms.kind.${form.kind}` as SettingsKey)}</span> <span className="muted">{labelOf(sources, form.source)}</span>
          {form.active ? "" : <span className="muted"> · {st("inactive")}</span>}
        </summary>
        <p>
          {form.kind === "web" ? (
            <>
              {st("forms.page")}:{" "}
              <a href={form.url} target="_blank" rel="noreferrer">
                {form.url}
              </a>
            </>
          ) : (
            <>
              {st("forms.webhook")}: <code>{form.url}</code>
            </>
          )}
        </p>
        <Secret form={form} />
        <ProblemBanner problem={saver.problem} shown={["name", "source", "treatment"]} />
        <div className="row-fields">
          <Field name="name" label={st("forms.name")} value={name} onChange={setName} error={saver.errors.name} required />
          <Field name="source" label={st("forms.source")} value={source} onChange={setSource} error={saver.errors.source} options={optionsWith(sources, source)} />
          <Field name="treatment" label={st("forms.treatment")} value={treatment} onChange={setTreatment} error={saver.errors.treatment} options={[{ value: "", label: "—" }, ...optionsWith(treatments, treatment)]} />
        </div>
        <SaveBar saver={saver}>
          <button type="button" onClick={() => void toggle()}>
            {form.active ? st("list.deactivate") : st("list.activate")}
          </button>
          {form.kind === "tilda" ? (
            <button type="button" onClick={() => void rotate()}>
              {st("forms.rotate")}
            </button>
          ) : null}
        </SaveBar>
      </details>
    </form>
  );
}

function optionsWith(items: { slug: string; label: string }[], current: string): { value: string; label: string }[] {
  const options = items.map((i) => ({ value: i.slug, label: i.label }));
  if (current && !options.some((o) => o.value === current)) options.unshift({ value: current, label: current });
  return options;
}

function NewForm({ onCreated }: { onCreated: (made: Form) => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const sources = useList("source");
  const treatments = useList("treatment");
  const [name, setName] = useState("");
  const [kind, setKind] = useState("web");
  const [source, setSource] = useState("website_form");
  const [treatment, setTreatment] = useState("");
  async function submit(e: FormEvent) {
    e.preventDefault();
    let made: Form | null = null;
    if (await saver.run(async () => (made = await unwrap(api.POST("/api/v1/leads/forms", { body: { name, kind, source, treatment: treatment || null } }))))) {
      setName("");
      setTreatment("");
      onCreated(made!);
    }
  }
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={st("forms.add")}>
      <h3>{st("forms.add")}</h3>
      <ProblemBanner problem={saver.problem} shown={["name", "kind", "source", "treatment"]} />
      <div className="row-fields">
        <Field name="name" label={st("forms.name")} value={name} onChange={setName} error={saver.errors.name} required />
        <Field
          name="kind"
          label={st("forms.kind")}
          value={kind}
          onChange={setKind}
          error={saver.errors.kind}
          options={[
            { value: "web", label: st("forms.kind.web") },
            { value: "tilda", label: st("forms.kind.tilda") },
          ]}
        />
        <Field name="source" label={st("forms.source")} value={source} onChange={setSource} error={saver.errors.source} options={optionsWith(sources, source)} />
        <Field name="treatment" label={st("forms.treatment")} value={treatment} onChange={setTreatment} error={saver.errors.treatment} options={[{ value: "", label: "—" }, ...optionsWith(treatments, treatment)]} />
      </div>
      <SaveBar saver={saver} label={st("add")} />
    </form>
  );
}

// --- anamnesis questionnaires -------------------------------------------------------------------------------
export const QUESTION_TYPES = ["text", "textarea", "yes_no", "number", "date", "single_choice", "multi_choice"] as const;

interface Question {
  id: string;
  label: string;
  type: string;
  required?: boolean;
  options?: string[];
}
interface Questionnaire {
  id: string;
  name: string;
  sections: { title: string; questions: Question[] }[];
}

export function QuestionnairesSection() {
  const { api } = useSession();
  const st = useST();
  const list = useLoad(async () => (await unwrap(api.GET("/api/v1/scheduling/questionnaires"))).items as Questionnaire[], []);
  return (
    <section aria-labelledby="questionnaires-title">
      <h2 id="questionnaires-title">{st("questionnaires.title")}</h2>
      <p className="muted">{st("questionnaires.help")}</p>
      <ProblemBanner problem={list.problem} shown={[]} />
      {list.data ? (
        list.data.length ? (
          <ul className="plain settings-list" aria-label={st("questionnaires.title")}>
            {list.data.map((q) => (
              <li key={q.id} data-questionnaire={q.id}>
                <details>
                  <summary>
                    <strong>{q.name}</strong> <span className="muted">{st("questionnaires.count", { n: q.sections.reduce((n, s) => n + s.questions.length, 0) })}</span>
                  </summary>
                  <QuestionnaireActions questionnaire={q} onChanged={list.reload} />
                  {q.sections.map((s, i) => (
                    <div key={i}>
                      <h4>{s.title}</h4>
                      <ol>
                        {s.questions.map((question) => (
                          <li key={question.id}>
                            {question.label} <span className="tag">{st(`qtype.${question.type}` as SettingsKey)}</span>
                            {question.required ? <span className="muted"> · {st("questionnaires.required")}</span> : null}
                            {question.options?.length ? <span className="muted"> · {question.options.join(", ")}</span> : null}
                          </li>
                        ))}
                      </ol>
                    </div>
                  ))}
                </details>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">{st("questionnaires.none")}</p>
        )
      ) : (
        <Loading />
      )}
      <QuestionnaireForm onSaved={list.reload} />
    </section>
  );
}

/** Change (the whole form, `PUT`) or remove (`DELETE`: archived by the service) one questionnaire. */
function QuestionnaireActions({ questionnaire, onChanged }: { questionnaire: Questionnaire; onChanged: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [editing, setEditing] = useState(false);
  async function remove() {
    const path = { path: { questionnaire_id: questionnaire.id } };
    if (await saver.run(() => unwrap(api.DELETE("/api/v1/scheduling/questionnaires/{questionnaire_id}", { params: path })))) onChanged();
  }
  return (
    <div className="stack">
      <ProblemBanner problem={saver.problem} shown={[]} />
      <div className="actions">
        <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
          {st("questionnaires.edit", { name: questionnaire.name })}
        </button>
        <button type="button" className="danger" onClick={() => void remove()}>
          {st("questionnaires.delete", { name: questionnaire.name })}
        </button>
      </div>
      {editing ? (
        <QuestionnaireForm
          initial={questionnaire}
          onSaved={() => {
            setEditing(false);
            onChanged();
          }}
        />
      ) : null}
    </div>
  );
}

interface DraftQuestion {
  key: number;
  id: string;
  label: string;
  type: string;
  required: boolean;
  options: string;
}
interface DraftSection {
  key: number;
  title: string;
  questions: DraftQuestion[];
}
let draftKey = 0;
const newQuestion = (): DraftQuestion => ({ key: ++draftKey, id: "", label: "", type: "text", required: false, options: "" });
const newSection = (): DraftSection => ({ key: ++draftKey, title: "", questions: [newQuestion()] });

/** A question's id out of its label when none is typed: `Alergias?` → `alergias`. */
export function questionId(label: string): string {
  return label
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 50);
}

function draftOf(q: Questionnaire): DraftSection[] {
  return q.sections.map((s) => ({
    key: ++draftKey,
    title: s.title,
    questions: s.questions.map((x) => ({ key: ++draftKey, id: x.id, label: x.label, type: x.type, required: !!x.required, options: (x.options ?? []).join(", ") })),
  }));
}

/** A new questionnaire, or (`initial`) the whole of an existing one to change. */
function QuestionnaireForm({ initial, onSaved }: { initial?: Questionnaire; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(initial?.name ?? "");
  const [sections, setSections] = useState<DraftSection[]>(() => (initial ? draftOf(initial) : [newSection()]));
  const title = initial ? st("questionnaires.editing", { name: initial.name }) : st("questionnaires.add");
  const setSection = (key: number, patch: Partial<DraftSection>) => setSections((all) => all.map((s) => (s.key === key ? { ...s, ...patch } : s)));
  const setQuestion = (sk: number, qk: number, patch: Partial<DraftQuestion>) =>
    setSections((all) => all.map((s) => (s.key === sk ? { ...s, questions: s.questions.map((q) => (q.key === qk ? { ...q, ...patch } : q)) } : s)));
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = {
      name,
      sections: sections.map((s) => ({
        title: s.title,
        questions: s.questions.map((q) => ({
          id: q.id.trim() || questionId(q.label),
          label: q.label,
          type: q.type,
          required: q.required,
          options: q.type.endsWith("_choice") ? splitList(q.options) : [],
        })),
      })),
    };
    const save = initial
      ? () => unwrap(api.PUT("/api/v1/scheduling/questionnaires/{questionnaire_id}", { params: { path: { questionnaire_id: initial.id } }, body }))
      : () => unwrap(api.POST("/api/v1/scheduling/questionnaires", { body }));
    if (await saver.run(save)) {
      if (!initial) {
        setName("");
        setSections([newSection()]);
      }
      onSaved();
    }
  }
  return (
    <form className="card stack" onSubmit={submit} noValidate aria-label={title}>
      <h3>{title}</h3>
      <ProblemBanner problem={saver.problem} shown={["name", "sections"]} />
      <Field name="name" label={st("questionnaires.name")} value={name} onChange={setName} error={saver.errors.name} required />
      {saver.errors.sections ? (
        <p className="error" role="alert">
          {saver.errors.sections}
        </p>
      ) : null}
      {sections.map((s, si) => (
        <fieldset key={s.key} className="stack">
          <legend>{st("questionnaires.section", { n: si + 1 })}</legend>
          <Field name={`section-${si}`} label={st("questionnaires.sectionTitle")} value={s.title} onChange={(v) => setSection(s.key, { title: v })} required />
          {s.questions.map((q, qi) => (
            <fieldset key={q.key} className="row-fields">
              <legend>{st("questionnaires.question", { n: qi + 1 })}</legend>
              <Field name={`q-${si}-${qi}-label`} label={st("questionnaires.label")} value={q.label} onChange={(v) => setQuestion(s.key, q.key, { label: v })} required />
              <Field name={`q-${si}-${qi}-id`} label={st("questionnaires.id")} value={q.id} onChange={(v) => setQuestion(s.key, q.key, { id: v })} />
              <Field
                name={`q-${si}-${qi}-type`}
                label={st("questionnaires.type")}
                value={q.type}
                onChange={(v) => setQuestion(s.key, q.key, { type: v })}
                options={QUESTION_TYPES.map((t) => ({ value: t, label: st(`qtype.${t}` as SettingsKey) }))}
              />
              {q.type.endsWith("_choice") ? (
                <Field name={`q-${si}-${qi}-options`} label={st("questionnaires.options")} value={q.options} onChange={(v) => setQuestion(s.key, q.key, { options: v })} />
              ) : null}
              <Check name={`q-${si}-${qi}-required`} label={st("questionnaires.required")} checked={q.required} onChange={(v) => setQuestion(s.key, q.key, { required: v })} />
              {s.questions.length > 1 ? (
                <button type="button" onClick={() => setSection(s.key, { questions: s.questions.filter((x) => x.key !== q.key) })} aria-label={st("questionnaires.removeQuestion", { n: qi + 1 })}>
                  {st("questionnaires.remove")}
                </button>
              ) : null}
            </fieldset>
          ))}
          <div className="actions">
            <button type="button" onClick={() => setSection(s.key, { questions: [...s.questions, newQuestion()] })}>
              + {st("questionnaires.addQuestion")}
            </button>
            {sections.length > 1 ? (
              <button type="button" onClick={() => setSections((all) => all.filter((x) => x.key !== s.key))}>
                {st("questionnaires.removeSection")}
              </button>
            ) : null}
          </div>
        </fieldset>
      ))}
      <div className="actions">
        <button type="button" onClick={() => setSections((all) => [...all, newSection()])}>
          + {st("questionnaires.addSection")}
        </button>
      </div>
      <SaveBar saver={saver} label={initial ? st("save") : st("add")} />
    </form>
  );
}
