// The clinic's configurable lists (crm:admin, the leads service): sources, channels, treatments, groups,
// request statuses, contact methods; each item with its label, colour and place in the order; inactive items
// stay listed (data uses them) and can be switched back on.
import { useState, type FormEvent, type ReactNode } from "react";
import { unwrap, type ListItem } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import type { SettingsKey } from "../../i18n-settings";
import { useSession } from "../../session";
import { Check, ColourField, SaveBar, useSaver, useST } from "./kit";

export const LIST_KINDS = ["source", "channel", "treatment", "group", "request_status", "contact_method"] as const;
type Kind = (typeof LIST_KINDS)[number];

export function ListsSection() {
  const { api } = useSession();
  const st = useST();
  const [kind, setKind] = useState<Kind>("source");
  const list = useLoad(() => unwrap(api.GET("/api/v1/leads/lists/{kind}", { params: { path: { kind }, query: { include_inactive: true } } })).then((p) => p.items), [kind]);
  const order = useSaver();
  const items = list.data ?? [];
  async function move(i: number, by: -1 | 1) {
    const ids = items.map((x) => x.id);
    [ids[i], ids[i + by]] = [ids[i + by]!, ids[i]!];
    if (await order.run(() => unwrap(api.PUT("/api/v1/leads/lists/{kind}/order", { params: { path: { kind } }, body: { ids } })))) list.reload();
  }
  return (
    <section aria-labelledby="lists-title">
      <h2 id="lists-title">{st("lists.title")}</h2>
      <Field
        name="kind"
        label={st("lists.kind")}
        value={kind}
        onChange={(v) => setKind(v as Kind)}
        options={LIST_KINDS.map((k) => ({ value: k, label: st(`kind.${k}` as SettingsKey) }))}
      />
      <ProblemBanner problem={list.problem ?? order.problem} shown={[]} />
      {list.data && !list.loading ? (
        <ol className="plain settings-list" aria-label={st(`kind.${kind}` as SettingsKey)}>
          {items.map((item, i) => (
            <li key={item.id}>
              <ItemForm kind={kind} item={item} onSaved={list.reload}>
                <button type="button" disabled={i === 0 || order.busy} onClick={() => void move(i, -1)} aria-label={st("moveUp", { name: item.label })}>
                  ↑
                </button>
                <button type="button" disabled={i === items.length - 1 || order.busy} onClick={() => void move(i, 1)} aria-label={st("moveDown", { name: item.label })}>
                  ↓
                </button>
              </ItemForm>
            </li>
          ))}
        </ol>
      ) : (
        <Loading />
      )}
      <NewItem key={kind} kind={kind} onSaved={list.reload} />
    </section>
  );
}

function ItemForm({ kind, item, onSaved, children }: { kind: Kind; item: ListItem; onSaved: () => void; children: ReactNode }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [label, setLabel] = useState(item.label);
  const [hasColour, setHasColour] = useState(item.color != null);
  const [color, setColor] = useState(item.color ?? "#1d5fa8");
  const path = { path: { kind, item_id: item.id } };
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = hasColour ? { label, color, clear_color: false } : { label, clear_color: true };
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/leads/lists/{kind}/{item_id}", { params: path, body })))) onSaved();
  }
  async function toggle() {
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/leads/lists/{kind}/{item_id}", { params: path, body: { active: !item.active, clear_color: false } })))) onSaved();
  }
  return (
    <form onSubmit={submit} noValidate aria-label={item.label}>
      <ProblemBanner problem={saver.problem} shown={["label", "color"]} />
      <div className="row-fields">
        <span className="swatch" style={{ background: item.color ?? "transparent" }} aria-hidden="true" />
        <Field name="label" label={st("list.label")} value={label} onChange={setLabel} error={saver.errors.label} required />
        <Check name="has_color" label={st("list.useColor")} checked={hasColour} onChange={setHasColour} />
        {hasColour ? <ColourField name="color" label={st("list.color")} value={color} onChange={setColor} error={saver.errors.color} /> : null}
        <span className="muted">
          {item.slug}
          {item.active ? "" : ` · ${st("inactive")}`}
        </span>
      </div>
      <SaveBar saver={saver}>
        {children}
        <button type="button" onClick={() => void toggle()}>
          {item.active ? st("list.deactivate") : st("list.activate")}
        </button>
      </SaveBar>
    </form>
  );
}

function NewItem({ kind, onSaved }: { kind: Kind; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [label, setLabel] = useState("");
  const [slug, setSlug] = useState("");
  const [hasColour, setHasColour] = useState(false);
  const [color, setColor] = useState("#1d5fa8");
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { label, slug: slug || null, color: hasColour ? color : null };
    if (await saver.run(() => unwrap(api.POST("/api/v1/leads/lists/{kind}", { params: { path: { kind } }, body })))) {
      setLabel("");
      setSlug("");
      onSaved();
    }
  }
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={st("list.add")}>
      <h3>{st("list.add")}</h3>
      <ProblemBanner problem={saver.problem} shown={["label", "slug", "color"]} />
      <div className="row-fields">
        <Field name="label" label={st("list.label")} value={label} onChange={setLabel} error={saver.errors.label} required />
        <Field name="slug" label={st("list.slug")} value={slug} onChange={setSlug} error={saver.errors.slug} />
        <Check name="has_color" label={st("list.useColor")} checked={hasColour} onChange={setHasColour} />
        {hasColour ? <ColourField name="color" label={st("list.color")} value={color} onChange={setColor} error={saver.errors.color} /> : null}
      </div>
      <SaveBar saver={saver} label={st("add")} />
    </form>
  );
}
