// Message templates with a preview, and the notification rules (crm:admin, the notifications service). The
// preview renders the draft as typed (not the saved text) with the service's sample data; a draft that does
// not render is a problem naming `body` (or `subject`), shown under it, and the draft stays.
import { useState, type FormEvent } from "react";
import { ApiError, unwrap, type Problem, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { fieldErrors } from "../../api/client";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { Check, SaveBar, splitList, useSaver, useST } from "./kit";

type Template = Schemas["TemplateOut"];
type Preview = Schemas["PreviewOut"];
type Rule = Schemas["RuleOut"];

const idOf = (t: Template) => `${t.name}|${t.locale}|${t.channel}`;

export function TemplatesSection() {
  const { api } = useSession();
  const st = useST();
  const list = useLoad(() => unwrap(api.GET("/api/v1/notifications/templates")), []);
  const rules = useLoad(() => unwrap(api.GET("/api/v1/notifications/rules")), []);
  const [chosen, setChosen] = useState("");
  const items = list.data?.items ?? [];
  const current = items.find((t) => idOf(t) === chosen) ?? items[0];
  const templateNames = [...new Set(items.map((t) => t.name))];
  return (
    <>
      <section aria-labelledby="tpl-title">
        <h2 id="tpl-title">{st("tpl.title")}</h2>
        <ProblemBanner problem={list.problem} shown={[]} />
        {list.data ? (
          <>
            <Field
              name="template"
              label={st("tpl.template")}
              value={current ? idOf(current) : ""}
              onChange={setChosen}
              options={items.map((t) => ({ value: idOf(t), label: `${t.name} · ${t.locale} · ${t.channel}${t.customised ? ` (${st("tpl.customised")})` : ""}` }))}
            />
            {current ? <TemplateEditor key={idOf(current)} template={current} onSaved={list.reload} /> : null}
          </>
        ) : (
          <Loading />
        )}
      </section>
      <section aria-labelledby="rules-title">
        <h2 id="rules-title">{st("rules.title")}</h2>
        <ProblemBanner problem={rules.problem} shown={[]} />
        {rules.data ? (
          <>
            <ul className="plain settings-list">
              {rules.data.items.map((r) => (
                <li key={r.key}>
                  <RuleEditor rule={r} eventTypes={rules.data!.event_types} templates={templateNames} onSaved={rules.reload} />
                </li>
              ))}
            </ul>
            <RuleEditor eventTypes={rules.data.event_types} templates={templateNames} onSaved={rules.reload} />
          </>
        ) : (
          <Loading />
        )}
      </section>
    </>
  );
}

export function TemplateEditor({ template, onSaved }: { template: Template; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [body, setBody] = useState(template.body);
  const [subject, setSubject] = useState(template.subject ?? "");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewProblem, setPreviewProblem] = useState<Problem | null>(null);
  const params = { path: { name: template.name, locale: template.locale }, query: { channel: template.channel } };
  const hasSubject = template.channel === "email" || template.subject != null;
  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await saver.run(() =>
      unwrap(api.PUT("/api/v1/notifications/templates/{name}/{locale}", { params, body: { body, subject: hasSubject ? subject || null : null, wa_template: template.wa_template ?? null } })),
    );
    if (ok) onSaved();
  }
  async function showPreview() {
    try {
      setPreview(await unwrap(api.POST("/api/v1/notifications/templates/{name}/{locale}/preview", { params, body: { body, subject: hasSubject ? subject || null : null } })));
      setPreviewProblem(null);
    } catch (e) {
      setPreview(null);
      setPreviewProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
    }
  }
  async function reset() {
    if (await saver.run(() => unwrap(api.DELETE("/api/v1/notifications/templates/{name}/{locale}", { params })))) onSaved();
  }
  // The save's problem wins; else the preview's (both name `body` or `subject`).
  const errors = { ...fieldErrors(previewProblem).fields, ...saver.errors };
  const label = `${template.name} · ${template.locale} · ${template.channel}`;
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={label}>
      <h3>
        {label} <span className="tag">{template.customised ? st("tpl.customised") : st("tpl.builtin")}</span>
      </h3>
      {template.variables?.length ? (
        <p className="muted">
          {st("tpl.variables")}: {template.variables.map((v) => `{{ ${v} }}`).join(" · ")}
        </p>
      ) : null}
      <ProblemBanner problem={saver.problem ?? previewProblem} shown={["body", "subject"]} />
      {hasSubject ? <Field name="subject" label={st("tpl.subject")} value={subject} onChange={setSubject} error={errors.subject} /> : null}
      <Field name="body" label={st("tpl.body")} value={body} onChange={setBody} error={errors.body} multiline required />
      <SaveBar saver={saver}>
        <button type="button" onClick={() => void showPreview()}>
          {st("tpl.preview")}
        </button>
        {template.customised ? (
          <button type="button" onClick={() => void reset()}>
            {st("tpl.reset")}
          </button>
        ) : null}
      </SaveBar>
      {preview ? (
        <div role="region" aria-label={st("tpl.previewTitle")}>
          <h4>{st("tpl.previewTitle")}</h4>
          {preview.subject ? <p><strong>{preview.subject}</strong></p> : null}
          <p className="preview" data-testid="preview-body">
            {preview.body}
          </p>
          {preview.buttons?.length ? <p className="muted">{preview.buttons.map((b) => String((b as { title?: string }).title ?? JSON.stringify(b))).join(" · ")}</p> : null}
        </div>
      ) : null}
    </form>
  );
}

function RuleEditor({ rule, eventTypes, templates, onSaved }: { rule?: Rule; eventTypes: string[]; templates: string[]; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [key, setKey] = useState(rule?.key ?? "");
  const [event, setEvent] = useState(rule?.event_type ?? eventTypes[0] ?? "");
  const [template, setTemplate] = useState(rule?.template ?? templates[0] ?? "");
  const [channels, setChannels] = useState((rule?.channels ?? ["whatsapp"]).join(", "));
  const [delay, setDelay] = useState(String(rule?.delay_seconds ?? 0));
  const [recipient, setRecipient] = useState(rule?.recipient ?? "person");
  const [quiet, setQuiet] = useState(rule?.quiet_hours ?? true);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = {
      event_type: event,
      template,
      channels: splitList(channels),
      delay_seconds: Number(delay),
      recipient,
      quiet_hours: quiet,
      enabled: rule?.enabled ?? true,
      conditions: (rule?.conditions ?? {}) as Record<string, string | number | boolean | string[]>,
      cancel_on: rule?.cancel_on ?? [],
    };
    if (await saver.run(() => unwrap(api.PUT("/api/v1/notifications/rules/{key}", { params: { path: { key } }, body })))) {
      if (!rule) setKey("");
      onSaved();
    }
  }
  async function toggle(enabled: boolean) {
    if (rule && (await saver.run(() => unwrap(api.PUT("/api/v1/notifications/rules/{key}/enabled", { params: { path: { key: rule.key } }, body: { enabled } }))))) onSaved();
  }
  async function remove() {
    if (rule && (await saver.run(() => unwrap(api.DELETE("/api/v1/notifications/rules/{key}", { params: { path: { key: rule.key } } }))))) onSaved();
  }
  const options = (values: string[], current: string) => [...new Set([current, ...values])].filter(Boolean).map((v) => ({ value: v, label: v }));
  const form = (
    <form className={rule ? undefined : "card"} onSubmit={submit} noValidate aria-label={rule ? rule.key : st("rules.add")}>
      {rule ? null : <h3>{st("rules.add")}</h3>}
      <ProblemBanner problem={saver.problem} shown={["key", "event_type", "template", "channels", "delay_seconds", "recipient", "quiet_hours", "enabled"]} />
      {rule ? (
        <Check name="enabled" label={st("rule.enabled")} checked={rule.enabled} onChange={(v) => void toggle(v)} error={saver.errors.enabled} />
      ) : (
        <Field name="key" label={st("rule.key")} value={key} onChange={setKey} error={saver.errors.key} required />
      )}
      <div className="row-fields">
        <Field name="event_type" label={st("rule.event")} value={event} onChange={setEvent} error={saver.errors.event_type} options={options(eventTypes, event)} />
        <Field name="template" label={st("rule.template")} value={template} onChange={setTemplate} error={saver.errors.template} options={options(templates, template)} />
      </div>
      <Field name="channels" label={st("rule.channels")} value={channels} onChange={setChannels} error={saver.errors.channels} required />
      <div className="row-fields">
        <Field name="delay_seconds" type="number" label={st("rule.delay")} value={delay} onChange={setDelay} error={saver.errors.delay_seconds} />
        <Field name="recipient" label={st("rule.recipient")} value={recipient} onChange={setRecipient} error={saver.errors.recipient} />
      </div>
      <Check name="quiet_hours" label={st("rule.quiet")} checked={quiet} onChange={setQuiet} error={saver.errors.quiet_hours} />
      <SaveBar saver={saver} label={rule ? undefined : st("add")}>
        {rule ? (
          <button type="button" onClick={() => void remove()}>
            {rule.builtin ? st("rule.reset") : st("rule.delete")}
          </button>
        ) : null}
      </SaveBar>
    </form>
  );
  if (!rule) return form;
  return (
    <details>
      <summary>
        <strong>{rule.key}</strong> · {rule.event_type} → {rule.template} · {rule.channels.join(" → ")}{" "}
        {rule.builtin ? <span className="tag">{st("rule.default")}</span> : null} <span className={rule.enabled ? "tag" : "tag tag-red"}>{rule.enabled ? st("rule.enabled") : "off"}</span>
      </summary>
      {form}
    </details>
  );
}
