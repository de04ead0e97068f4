// Message templates (admins): each template per language, the clinic's text or the built-in one. A broken
// template is refused by the API with a problem naming `body`, shown under the text, which stays as typed.
import { useState, type FormEvent } from "react";
import { ApiError, unwrap, type Problem, type Schemas } from "../api/client";
import { Field, Loading, ProblemBanner } from "../components";
import { useLoad } from "../data";
import { useSession } from "../session";

type Template = Schemas["TemplateOut"];

export function Templates() {
  const { api, t } = useSession();
  const list = useLoad(() => unwrap(api.GET("/api/v1/notifications/templates")), []);
  return (
    <section aria-labelledby="templates-title">
      <h1 id="templates-title">{t("templates.title")}</h1>
      <ProblemBanner problem={list.problem} shown={[]} />
      {list.data ? (
        <>
          <p className="muted">{list.data.variables.map((v) => `{{ ${v} }}`).join(" · ")}</p>
          {list.data.items.map((tpl) => (
            <TemplateEditor key={`${tpl.name}-${tpl.locale}`} template={tpl} onSaved={list.reload} />
          ))}
        </>
      ) : (
        <Loading />
      )}
    </section>
  );
}

function TemplateEditor({ template, onSaved }: { template: Template; onSaved: () => void }) {
  const { api, t } = useSession();
  const [body, setBody] = useState(template.body);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState(false);
  const path = { path: { name: template.name, locale: template.locale } };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    try {
      await unwrap(api.PUT("/api/v1/notifications/templates/{name}/{locale}", { params: path, body: { body } }));
      setProblem(null);
      setSaved(true);
      onSaved();
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    }
  }

  async function reset() {
    await api.DELETE("/api/v1/notifications/templates/{name}/{locale}", { params: path });
    onSaved();
  }

  const bodyError = problem?.errors?.find((e) => e.field === "body")?.message;
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={`${template.name} · ${template.locale}`}>
      <h2>
        {template.name} · {template.locale} · {template.channel}{" "}
        <span className="tag">{template.customised ? t("templates.customised") : t("templates.builtin")}</span>
      </h2>
      <ProblemBanner problem={problem} shown={["body"]} />
      <Field name="body" label={t("templates.body")} value={body} onChange={setBody} error={bodyError} multiline />
      <div className="actions">
        <button type="submit" className="primary">
          {t("lead.save")}
        </button>
        {template.customised ? (
          <button type="button" onClick={() => void reset()}>
            {t("templates.reset")}
          </button>
        ) : null}
        {saved ? <span role="status">{t("templates.saved")}</span> : null}
      </div>
    </form>
  );
}
