// Pipelines and their stages (funnel:admin, the funnel service): rename a pipeline and switch it between
// automatic and manual; add, rename, recolour, reorder (two PATCHes swapping positions) and delete stages; a
// pipeline of the clinic's own is created with its stages (`POST /pipelines`) and removed (`DELETE`: deleted when
// it never held a deal, archived with closed deals, refused with open ones).
import { useState, type FormEvent, type ReactNode } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { problemFields } from "../DealForms";
import { Check, ColourField, SaveBar, useSaver, useST } from "./kit";

type Pipeline = Schemas["PipelineOut"];
type Stage = Schemas["StageOut"];

export function PipelinesSection() {
  const { api } = useSession();
  const st = useST();
  const list = useLoad(() => unwrap(api.GET("/api/v1/funnel/pipelines")).then((p) => p.items), []);
  return (
    <section aria-labelledby="pipelines-title">
      <h2 id="pipelines-title">{st("pipelines.title")}</h2>
      <ProblemBanner problem={list.problem} shown={[]} />
      {list.data ? list.data.map((p) => <PipelineCard key={p.id} pipeline={p} onSaved={list.reload} />) : <Loading />}
      <NewPipeline onCreated={list.reload} />
    </section>
  );
}

function PipelineCard({ pipeline, onSaved }: { pipeline: Pipeline; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(pipeline.name);
  const [automatic, setAutomatic] = useState(pipeline.automatic);
  const stages = [...pipeline.stages].sort((a, b) => a.position - b.position);
  const headingId = `pipeline-${pipeline.id}`;
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/funnel/pipelines/{pipeline_id}", { params: { path: { pipeline_id: pipeline.id } }, body: { name, automatic } })))) onSaved();
  }
  async function remove() {
    if (await saver.run(() => unwrap(api.DELETE("/api/v1/funnel/pipelines/{pipeline_id}", { params: { path: { pipeline_id: pipeline.id } } })))) onSaved();
  }
  async function move(i: number, by: -1 | 1) {
    const a = stages[i]!;
    const b = stages[i + by]!;
    const ok = await saver.run(async () => {
      await unwrap(api.PATCH("/api/v1/funnel/pipelines/stages/{stage_id}", { params: { path: { stage_id: a.id } }, body: { position: b.position } }));
      await unwrap(api.PATCH("/api/v1/funnel/pipelines/stages/{stage_id}", { params: { path: { stage_id: b.id } }, body: { position: a.position } }));
    });
    if (ok) onSaved();
  }
  return (
    <div className="card" role="region" aria-labelledby={headingId}>
      <h3 id={headingId}>
        {pipeline.name} <span className="tag">{pipeline.kind}</span>
      </h3>
      <form onSubmit={submit} noValidate aria-label={`${st("pipeline.savePipeline")} · ${pipeline.name}`}>
        <ProblemBanner problem={saver.problem} shown={["name", "automatic"]} />
        <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
        {pipeline.kind === "custom" ? (
          <p className="muted">{st("pipeline.manualOnly")}</p>
        ) : (
          <Check name="automatic" label={st("pipeline.automatic")} checked={automatic} onChange={setAutomatic} error={saver.errors.automatic} />
        )}
        <SaveBar saver={saver} label={st("pipeline.savePipeline")}>
          {pipeline.kind === "custom" ? (
            <button type="button" className="danger" onClick={() => void remove()}>
              {st("pipeline.remove", { name: pipeline.name })}
            </button>
          ) : null}
        </SaveBar>
      </form>
      <ol className="plain settings-list">
        {stages.map((s, i) => (
          <li key={s.id}>
            <StageForm stage={s} onSaved={onSaved}>
              <button type="button" disabled={i === 0} onClick={() => void move(i, -1)} aria-label={st("moveUp", { name: s.name })}>
                ↑
              </button>
              <button type="button" disabled={i === stages.length - 1} onClick={() => void move(i, 1)} aria-label={st("moveDown", { name: s.name })}>
                ↓
              </button>
            </StageForm>
          </li>
        ))}
      </ol>
      <NewStage pipeline={pipeline} onSaved={onSaved} />
    </div>
  );
}

function StageForm({ stage, onSaved, children }: { stage: Stage; onSaved: () => void; children: ReactNode }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(stage.name);
  const [color, setColor] = useState(stage.color || "#5c6670");
  const path = { path: { stage_id: stage.id } };
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/funnel/pipelines/stages/{stage_id}", { params: path, body: { name, color } })))) onSaved();
  }
  async function remove() {
    if (await saver.run(() => unwrap(api.DELETE("/api/v1/funnel/pipelines/stages/{stage_id}", { params: path })))) onSaved();
  }
  return (
    <form onSubmit={submit} noValidate aria-label={stage.name}>
      <ProblemBanner problem={saver.problem} shown={["name", "color"]} />
      <div className="row-fields">
        <span className="swatch" style={{ background: stage.color }} aria-hidden="true" />
        <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
        <ColourField name="color" label={st("stage.color")} value={color} onChange={setColor} error={saver.errors.color} />
        <span className="muted">
          {stage.key} · {st(`outcome.${stage.outcome}` as "outcome.open")}
        </span>
      </div>
      <SaveBar saver={saver}>
        {children}
        <button type="button" className="danger" onClick={() => void remove()}>
          {st("stage.delete", { name: stage.name })}
        </button>
      </SaveBar>
    </form>
  );
}

function NewStage({ pipeline, onSaved }: { pipeline: Pipeline; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [color, setColor] = useState("#1d5fa8");
  const [outcome, setOutcome] = useState("open");
  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await saver.run(() =>
      unwrap(api.POST("/api/v1/funnel/pipelines/{pipeline_id}/stages", { params: { path: { pipeline_id: pipeline.id } }, body: { key, name, color, outcome } })),
    );
    if (!ok) return;
    setKey("");
    setName("");
    onSaved();
  }
  return (
    <form onSubmit={submit} noValidate aria-label={`${st("stage.add")} · ${pipeline.name}`}>
      <h4>{st("stage.add")}</h4>
      <ProblemBanner problem={saver.problem} shown={["key", "name", "color", "outcome"]} />
      <div className="row-fields">
        <Field name="key" label={st("stage.key")} value={key} onChange={setKey} error={saver.errors.key} required />
        <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
        <ColourField name="color" label={st("stage.color")} value={color} onChange={setColor} error={saver.errors.color} />
        <Field
          name="outcome"
          label={st("stage.outcome")}
          value={outcome}
          onChange={setOutcome}
          error={saver.errors.outcome}
          options={(["open", "won", "lost"] as const).map((o) => ({ value: o, label: st(`outcome.${o}`) }))}
        />
      </div>
      <SaveBar saver={saver} label={st("add")} />
    </form>
  );
}

interface StageDraft {
  key: string;
  name: string;
  color: string;
  outcome: string;
}

const FIRST_STAGES: StageDraft[] = [
  { key: "new", name: "", color: "#1d5fa8", outcome: "open" },
  { key: "won", name: "", color: "#16a34a", outcome: "won" },
  { key: "lost", name: "", color: "#6b7280", outcome: "lost" },
];

/** "New pipeline": its name and stages in order; the service's problems show under the stage's field
 * (`stages.<i>.<field>`). */
export function NewPipeline({ onCreated }: { onCreated: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState("");
  const [stages, setStages] = useState<StageDraft[]>(FIRST_STAGES);
  const errors = problemFields(saver.problem);
  const change = (i: number, patch: Partial<StageDraft>) => setStages(stages.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { name, stages: stages.map((s) => ({ ...s, key: s.key || s.name })) };
    if (await saver.run(() => unwrap(api.POST("/api/v1/funnel/pipelines", { body })))) {
      setName("");
      setStages(FIRST_STAGES);
      onCreated();
    }
  }
  return (
    <form className="card stack" onSubmit={submit} noValidate aria-label={st("pipeline.new")}>
      <h3>{st("pipeline.new")}</h3>
      <ProblemBanner problem={saver.problem} shown={["name", "stages"]} />
      <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
      {errors.stages ? (
        <p className="error" role="alert">
          {errors.stages}
        </p>
      ) : null}
      <ol className="plain settings-list">
        {stages.map((s, i) => (
          <li key={i}>
            <fieldset>
              <legend>{st("pipeline.stageN", { n: i + 1 })}</legend>
              <div className="row-fields">
                <Field name={`stage-${i}-name`} label={st("name")} value={s.name} onChange={(v) => change(i, { name: v })} error={errors[`stages.${i}.name`]} required />
                <Field name={`stage-${i}-key`} label={st("stage.key")} value={s.key} onChange={(v) => change(i, { key: v })} error={errors[`stages.${i}.key`]} />
                <ColourField name={`stage-${i}-color`} label={st("stage.color")} value={s.color} onChange={(v) => change(i, { color: v })} error={errors[`stages.${i}.color`]} />
                <Field
                  name={`stage-${i}-outcome`}
                  label={st("stage.outcome")}
                  value={s.outcome}
                  onChange={(v) => change(i, { outcome: v })}
                  error={errors[`stages.${i}.outcome`]}
                  options={(["open", "won", "lost"] as const).map((o) => ({ value: o, label: st(`outcome.${o}`) }))}
                />
                <button type="button" disabled={i === 0} onClick={() => setStages(swap(stages, i, i - 1))} aria-label={st("moveUp", { name: s.name || s.key })}>
                  ↑
                </button>
                <button type="button" disabled={i === stages.length - 1} onClick={() => setStages(swap(stages, i, i + 1))} aria-label={st("moveDown", { name: s.name || s.key })}>
                  ↓
                </button>
                <button type="button" onClick={() => setStages(stages.filter((_, j) => j !== i))} aria-label={st("pipeline.removeStage", { n: i + 1 })}>
                  ×
                </button>
              </div>
            </fieldset>
          </li>
        ))}
      </ol>
      <div className="actions">
        <button type="button" onClick={() => setStages([...stages, { key: "", name: "", color: "#5c6670", outcome: "open" }])}>
          {st("pipeline.addStage")}
        </button>
      </div>
      <SaveBar saver={saver} label={st("pipeline.create")} />
    </form>
  );
}

function swap<T>(items: T[], a: number, b: number): T[] {
  const next = [...items];
  [next[a], next[b]] = [next[b]!, next[a]!];
  return next;
}
