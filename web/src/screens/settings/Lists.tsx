// The clinic's configurable lists (crm:admin, the leads service): sources, channels, treatments, groups,
// request statuses, contact methods; each item with its label, colour and place in the order; inactive items
// stay listed (data uses them) and can be switched back on.
import { useState, type FormEvent, type ReactNode } from "react";
import { unwrap, type ListItem } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad, type Loaded } from "../../data";
import { statusName } from "../../i18n";
import { statusStylesChanged, textOn, type StatusStyle } from "../../statuses";
import type { SettingsKey } from "../../i18n-settings";
import { useSession } from "../../session";
import { Check, ColourField, SaveBar, useSaver, useST, type Saver } from "./kit";

export const LIST_KINDS = ["source", "channel", "treatment", "group", "request_status", "contact_method"] as const;
type Kind = (typeof LIST_KINDS)[number];
/** The lead statuses are a fixed set with their own API (`/api/v1/leads/statuses`): recoloured, renamed, reordered. */
const LEAD_STATUS = "lead_status";

export function ListsSection() {
  const { api } = useSession();
  const st = useST();
  const [picked, setPicked] = useState<Kind | typeof LEAD_STATUS>("source");
  const kind: Kind = picked === LEAD_STATUS ? "source" : picked;
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
        value={picked}
        onChange={(v) => setPicked(v as Kind | typeof LEAD_STATUS)}
        options={[{ value: LEAD_STATUS, label: st("kind.lead_status") }, ...LIST_KINDS.map((k) => ({ value: k, label: st(`kind.${k}` as SettingsKey) }))]}
      />
      {picked === LEAD_STATUS ? <LeadStatuses /> : <KindItems kind={kind} list={list} items={items} order={order} move={move} />}
    </section>
  );
}

function KindItems({
  kind,
  list,
  items,
  order,
  move,
}: {
  kind: Kind;
  list: Loaded<ListItem[]>;
  items: ListItem[];
  order: Saver;
  move: (i: number, by: -1 | 1) => Promise<void>;
}) {
  const st = useST();
  return (
    <>
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
    </>
  );
}

/** Each lead status: the clinic's colour (or the default), its own name (or the translated one), its place. */
function LeadStatuses() {
  const { api, locale } = useSession();
  const st = useST();
  const list = useLoad(() => unwrap(api.GET("/api/v1/leads/statuses")).then((p) => p.items), []);
  const order = useSaver();
  const items = list.data ?? [];
  const saved = () => {
    statusStylesChanged(api);
    list.reload();
  };
  async function move(i: number, by: -1 | 1) {
    const statuses = items.map((x) => x.status);
    [statuses[i], statuses[i + by]] = [statuses[i + by]!, statuses[i]!];
    if (await order.run(() => unwrap(api.PUT("/api/v1/leads/statuses/order", { body: { statuses } })))) saved();
  }
  return (
    <>
      <p className="muted">{st("leadStatus.hint")}</p>
      <ProblemBanner problem={list.problem ?? order.problem} shown={[]} />
      {list.data && !list.loading ? (
        <ol className="plain settings-list" aria-label={st("kind.lead_status")}>
          {items.map((item, i) => (
            <li key={item.status}>
              <StatusForm item={item} onSaved={saved}>
                <button type="button" disabled={i === 0 || order.busy} onClick={() => void move(i, -1)} aria-label={st("moveUp", { name: item.label || statusName(locale, item.status) })}>
                  ↑
                </button>
                <button
                  type="button"
                  disabled={i === items.length - 1 || order.busy}
                  onClick={() => void move(i, 1)}
                  aria-label={st("moveDown", { name: item.label || statusName(locale, item.status) })}
                >
                  ↓
                </button>
              </StatusForm>
            </li>
          ))}
        </ol>
      ) : (
        <Loading />
      )}
    </>
  );
}

function StatusForm({ item, onSaved, children }: { item: StatusStyle; onSaved: () => void; children: ReactNode }) {
  const { api, locale } = useSession();
  const st = useST();
  const saver = useSaver();
  const [label, setLabel] = useState(item.label ?? "");
  const [color, setColor] = useState(item.color.toLowerCase());
  const name = item.label || statusName(locale, item.status);
  const path = { path: { status: item.status } };
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = label.trim() ? { label, color, clear_label: false, reset_color: false } : { clear_label: true, color, reset_color: false };
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/leads/statuses/{status}", { params: path, body })))) onSaved();
  }
  async function resetColour() {
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/leads/statuses/{status}", { params: path, body: { reset_color: true, clear_label: false } })))) onSaved();
  }
  return (
    <form onSubmit={submit} noValidate aria-label={name} data-status={item.status}>
      <ProblemBanner problem={saver.problem} shown={["label", "color"]} />
      <div className="row-fields">
        <span className="badge" style={{ background: item.color, color: textOn(item.color) }}>
          {name}
        </span>
        <Field name="label" label={st("leadStatus.label", { name: statusName(locale, item.status) })} value={label} onChange={setLabel} error={saver.errors.label} />
        <ColourField name="color" label={st("list.color")} value={color} onChange={setColor} error={saver.errors.color} />
        <span className="muted">
          {item.status}
          {item.closed ? ` · ${st("leadStatus.closed")}` : ""}
        </span>
      </div>
      <SaveBar saver={saver}>
        {children}
        <button type="button" onClick={() => void resetColour()}>
          {st("leadStatus.resetColor")}
        </button>
      </SaveBar>
    </form>
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
