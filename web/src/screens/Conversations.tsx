// Conversations: one person's chat across WhatsApp, Telegram, Instagram and SMS (the notifications service keeps
// one conversation per person), live from the in-app stream's `conversation` events, and replying within each
// channel's rules (WhatsApp: free text only within 24 h of the person's last message; the API's problem is
// shown next to the field it names).
import { useEffect, useRef, useState, type FormEvent } from "react";
import { fieldErrors, unwrap, type Problem, type Schemas } from "../api/client";
import { Field, Loading, ProblemBanner, useWindow } from "../components";
import { problemOf, useComms, useEventStream } from "../comms";
import { useLoad } from "../data";
import type { CommsKey } from "../i18n-comms";
import { useSession } from "../session";

type Conversation = Schemas["ConversationOut"];
type Detail = Schemas["ConversationDetail"];
type Address = Schemas["AddressOut"];
type Item = Schemas["ConversationItem"];
type Preview = Schemas["TemplatePreviewOut"];
type Choice = Schemas["TemplateChoiceOut"];

const WINDOW_MS = 24 * 60 * 60 * 1000;

/** When WhatsApp's 24-hour window of free text closes for this address (null: it is closed, never opened). */
export function whatsappWindowEnds(address: Pick<Address, "last_inbound_at">, now: Date = new Date()): Date | null {
  if (!address.last_inbound_at) return null;
  const ends = new Date(new Date(address.last_inbound_at).getTime() + WINDOW_MS);
  return ends > now ? ends : null;
}

/** The channel a reply goes on by default: where the person last wrote (the API's own default). */
export function defaultChannel(addresses: Address[]): string {
  const wrote = addresses.filter((a) => a.last_inbound_at).sort((a, b) => (a.last_inbound_at! < b.last_inbound_at! ? 1 : -1));
  return wrote[0]?.channel ?? addresses[0]?.channel ?? "whatsapp";
}

export function channelKey(channel: string): CommsKey {
  const known = ["whatsapp", "telegram", "instagram", "sms", "email", "inapp"];
  return (known.includes(channel) ? `channel.${channel}` : "channel.other") as CommsKey;
}

export function Conversations({ path }: { path: string }) {
  const { api } = useSession();
  const t = useComms();
  const [, query] = path.split("?");
  const leadId = new URLSearchParams(query ?? "").get("lead");
  const chosen = /^\/conversations\/([\w-]+)/.exec(path.split("?")[0]!)?.[1] ?? null;
  const [listTick, setListTick] = useState(0);
  const [detailTick, setDetailTick] = useState(0);
  const list = useLoad(
    async () => (await unwrap(api.GET("/api/v1/notifications/conversations", { params: { query: leadId ? { lead_id: leadId } : {} } }))).items,
    [leadId, listTick],
  );
  const selected = chosen ?? (list.data?.[0]?.id || null);
  const open = useRef<string | null>(selected);
  open.current = selected;
  const live = useEventStream(api, "/api/v1/notifications/inapp/stream", (e) => {
    if (e.event !== "conversation") return;
    setListTick((n) => n + 1); // a new person, or one moves to the top
    try {
      if ((JSON.parse(e.data) as { conversation_id?: string }).conversation_id === open.current) setDetailTick((n) => n + 1);
    } catch {
      setDetailTick((n) => n + 1);
    }
  });
  return (
    <section aria-labelledby="conversations-title" className="conversations">
      <h1 id="conversations-title">
        {t("conv.title")} <span className={live ? "badge badge-live" : "badge badge-off"}>{live ? t("live.on") : t("live.off")}</span>
      </h1>
      <ProblemBanner problem={list.problem} shown={[]} />
      <ConversationsGrid list={list.data} loading={list.loading} selected={selected} detailTick={detailTick} />
    </section>
  );
}

function ConversationsGrid({ list, loading, selected, detailTick }: { list: Conversation[] | null; loading: boolean; selected: string | null | undefined; detailTick: number }) {
  const t = useComms();
  const rows = useWindow(list);
  return (
      <div className="conversations-grid">
        <nav aria-label={t("conv.list")} className="conversation-list">
          {list && list.length === 0 ? <p className="muted">{t("conv.none")}</p> : null}
          {!list && loading ? <Loading /> : null}
          <ul className="plain">
            {rows.shown.map((c) => (
              <ConversationLink key={c.id} c={c} current={c.id === selected} />
            ))}
          </ul>
          {rows.more}
        </nav>
        {selected ? <ConversationView key={selected} id={selected} tick={detailTick} /> : null}
      </div>
  );
}

function ConversationLink({ c, current }: { c: Conversation; current: boolean }) {
  const { fmt } = useSession();
  const t = useComms();
  return (
    <li>
      <a href={`#/conversations/${c.id}`} aria-current={current ? "true" : undefined} className={current ? "conversation current" : "conversation"}>
        <strong>{c.name || t("conv.unknown")}</strong>
        <span className="muted">{fmt.dateTime(c.last_message_at)}</span>
      </a>
    </li>
  );
}

export function ConversationView({ id, tick }: { id: string; tick: number }) {
  const { api, fmt, can } = useSession();
  const t = useComms();
  const detail = useLoad<Detail>(
    () => unwrap(api.GET("/api/v1/notifications/conversations/{conversation_id}", { params: { path: { conversation_id: id } } })),
    [id, tick],
  );
  const [channel, setChannel] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  // The reply assistant's offer, and which of it the agent took (sent with the reply: the usage report).
  const [offer, setOffer] = useState<{ id: string; texts: string[] } | null>(null);
  const [suggestionId, setSuggestionId] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  if (!detail.data) return detail.problem ? <ProblemBanner problem={detail.problem} shown={[]} /> : <Loading />;
  const { conversation, addresses, items } = detail.data;
  const using = channel ?? defaultChannel(addresses);
  const address = addresses.find((a) => a.channel === using);
  const windowEnds = using === "whatsapp" && address ? whatsappWindowEnds(address) : null;
  const outsideWindow = using === "whatsapp" && !windowEnds;
  const { fields } = fieldErrors(problem);

  async function send(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await unwrap(
        api.POST("/api/v1/notifications/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: id } },
          body: { text, channel: using, ...(suggestionId ? { suggestion_id: suggestionId } : {}) },
        }),
      );
      setText(""); // only once it was accepted: a refused reply keeps what was typed
      setOffer(null);
      setSuggestionId(null);
      detail.reload();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  async function suggest() {
    setAsking(true);
    setProblem(null);
    try {
      const got = await unwrap(
        api.POST("/api/v1/notifications/conversations/{conversation_id}/suggestions", { params: { path: { conversation_id: id } } }),
      );
      setOffer({ id: got.suggestion_id, texts: got.suggestions });
    } catch (error) {
      setProblem(problemOf(error)); // 409 not set up, 502/503/504 the model: said above the reply box
    } finally {
      setAsking(false);
    }
  }

  return (
    <article className="conversation-view" aria-labelledby="conversation-name">
      <header className="conversation-head">
        <h2 id="conversation-name">{conversation.name || t("conv.unknown")}</h2>
        {conversation.lead_id && can("crm:read") ? <a href={`#/prospects/${conversation.lead_id}`}>{t("conv.openLead")}</a> : null}
        <ul className="plain addresses" aria-label={t("conv.addresses")}>
          {addresses.map((a) => (
            <li key={`${a.channel}:${a.address}`}>
              <span className={`tag channel-${a.channel}`}>{t(channelKey(a.channel))}</span> {a.channel === "whatsapp" || a.channel === "sms" ? fmt.phone(a.address) : a.address}
            </li>
          ))}
        </ul>
      </header>
      <ol className="chat" aria-label={t("conv.messages")} aria-live="polite">
        {items.map((m) => (
          <ChatItem key={m.id} m={m} />
        ))}
        {items.length === 0 ? <li className="muted">{t("conv.empty")}</li> : null}
      </ol>
      {can("crm:write") ? (
        <form className="composer" onSubmit={send} noValidate aria-label={t("conv.reply")}>
          <ProblemBanner problem={problem} shown={["text", "channel"]} />
          <Field
            name="channel"
            label={t("conv.channel")}
            value={using}
            onChange={setChannel}
            error={fields.channel}
            options={addresses.map((a) => ({ value: a.channel, label: t(channelKey(a.channel)) }))}
          />
          {using === "whatsapp" ? (
            <p className={outsideWindow ? "hint hint-warn" : "hint"} role="note">
              {windowEnds ? t("conv.windowOpen", { until: fmt.dateTime(windowEnds.toISOString()) }) : t("conv.windowClosed")}
            </p>
          ) : null}
          <div className="suggestions" data-slot="reply-suggestions">
            <button type="button" onClick={() => void suggest()} disabled={asking} aria-busy={asking}>
              {t("conv.suggest")}
            </button>
            {offer ? (
              <ul className="plain" aria-label={t("conv.suggestions")}>
                {offer.texts.map((s, i) => (
                  <li key={i}>
                    <p>{s}</p>
                    <button type="button" onClick={() => (setText(s), setSuggestionId(offer.id))} aria-label={`${t("conv.use")}: ${s.slice(0, 60)}`}>
                      {t("conv.use")}
                    </button>
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
          <Field name="text" label={t("conv.text")} value={text} onChange={setText} error={fields.text} multiline required />
          <button type="submit" className="primary" disabled={busy || !text.trim()}>
            {t("conv.send")}
          </button>
        </form>
      ) : null}
      {can("crm:write") ? <TemplateSender id={id} channel={using} onSent={detail.reload} /> : null}
    </article>
  );
}

const newKey = () => (globalThis.crypto?.randomUUID ? globalThis.crypto.randomUUID() : `${Date.now()}-${Math.random()}`);

/** Send one of the clinic's approved templates by hand (`POST .../templates`): pick it, fill in what the person's
 * record does not give, read the preview the API renders, send. One idempotency key per message meant: a double
 * click or a retry after a lost answer sends once; a new key only after a send was accepted. A refusal is shown
 * next to the field it names (`template`, `variables.<name>`, `channel`) and nothing chosen or typed is lost. */
export function TemplateSender({ id, channel, onSent }: { id: string; channel: string; onSent: () => void }) {
  const { api } = useSession();
  const t = useComms();
  const choices = useLoad(
    () => unwrap(api.GET("/api/v1/notifications/conversations/{conversation_id}/templates", { params: { path: { conversation_id: id }, query: { channel } } })),
    [id, channel],
  );
  const [template, setTemplate] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const key = useRef(newKey());
  const items: Choice[] = choices.data?.items ?? [];
  const chosen = items.find((c) => c.name === template) ?? null;
  const variables = Object.fromEntries(Object.entries(values).filter(([name, v]) => chosen?.needs.includes(name) && v.trim()));
  const asked = JSON.stringify(variables);

  useEffect(() => {
    if (!chosen) {
      setPreview(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      unwrap(
        api.POST("/api/v1/notifications/conversations/{conversation_id}/templates/preview", {
          params: { path: { conversation_id: id } },
          body: { template: chosen.name, channel, variables },
        }),
      ).then(
        (p) => live && setPreview(p),
        (error: unknown) => live && setProblem(problemOf(error)),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // `variables` is rebuilt each render; `asked` says when it changed.
  }, [api, id, channel, chosen?.name, asked]);

  async function send(event: FormEvent) {
    event.preventDefault();
    if (!chosen) return;
    setBusy(true);
    setProblem(null);
    setSent(false);
    try {
      await unwrap(
        api.POST("/api/v1/notifications/conversations/{conversation_id}/templates", {
          params: { path: { conversation_id: id } },
          body: { template: chosen.name, channel, variables, idempotency_key: key.current },
        }),
      );
      key.current = newKey(); // the next message is another one
      setTemplate("");
      setValues({});
      setSent(true);
      onSent();
    } catch (error) {
      setProblem(problemOf(error)); // the choice and every value typed stay, and so does the key
    } finally {
      setBusy(false);
    }
  }

  const { fields } = fieldErrors(problem);
  // A variable's problem names it whole (`variables.<name>`), which fieldErrors folds into `variables`.
  const byVariable: Record<string, string> = {};
  for (const e of problem?.errors ?? []) if (e.field.startsWith("variables.")) byVariable[e.field.slice("variables.".length)] = e.message;
  const named = (chosen?.needs ?? []).some((n) => byVariable[n]);
  const shown = ["template", "channel", ...(named ? ["variables"] : [])];
  return (
    <form className="composer template-sender" onSubmit={send} noValidate aria-labelledby={`tpl-title-${id}`}>
      <h3 id={`tpl-title-${id}`}>{t("tpl.title")}</h3>
      <ProblemBanner problem={problem ?? choices.problem} shown={shown} />
      <p className="hint">{t("tpl.on", { channel: t(channelKey(channel)) })}</p>
      {fields.channel ? (
        <p className="error" role="alert">
          {fields.channel}
        </p>
      ) : null}
      {choices.data && !items.length ? <p className="muted">{t("tpl.none")}</p> : null}
      <Field
        name="template"
        label={t("tpl.template")}
        value={template}
        onChange={(v) => (setTemplate(v), setSent(false), setProblem(null))}
        error={fields.template}
        options={[{ value: "", label: t("tpl.pick") }, ...items.map((c) => ({ value: c.name, label: c.wa_template && c.wa_template !== c.name ? `${c.name} (${c.wa_template})` : c.name }))]}
      />
      {(chosen?.needs ?? []).map((name) => (
        <Field
          key={name}
          name={`variables.${name}`}
          label={name}
          value={values[name] ?? ""}
          onChange={(v) => setValues((old) => ({ ...old, [name]: v }))}
          error={byVariable[name]}
          required
        />
      ))}
      {chosen && preview && preview.template === chosen.name ? (
        <section className="template-preview" aria-label={t("tpl.preview")}>
          <h4>{t("tpl.preview")}</h4>
          <p className="chat-text" data-slot="template-preview">
            {preview.body}
          </p>
          {preview.channel === "whatsapp" && preview.wa ? (
            <p className="hint" role="note">
              {preview.in_window ? t("tpl.asText") : t("tpl.asApproved", { name: preview.wa.name })}
            </p>
          ) : null}
          {preview.missing.length ? <p className="hint hint-warn">{t("tpl.missing", { names: preview.missing.join(", ") })}</p> : null}
        </section>
      ) : null}
      {sent ? (
        <p className="hint" role="status">
          {t("tpl.sent")}
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={busy || !chosen}>
        {t("tpl.send")}
      </button>
    </form>
  );
}

const STATUS_KEYS: Record<string, CommsKey> = {
  queued: "msg.queued",
  sending: "msg.queued",
  sent: "msg.sent",
  delivered: "msg.delivered",
  read: "msg.read",
  failed: "msg.failed",
  cancelled: "msg.cancelled",
  received: "msg.received",
};

function ChatItem({ m }: { m: Item }) {
  const { fmt } = useSession();
  const t = useComms();
  const inbound = m.direction === "in"; // the API says "in" or "out"
  return (
    <li className={inbound ? "chat-item chat-in" : "chat-item chat-out"} data-direction={m.direction}>
      <span className="chat-meta">
        <span className={`tag channel-${m.channel}`}>{t(channelKey(m.channel))}</span> {fmt.dateTime(m.at)}
        {inbound ? null : <> · {t(STATUS_KEYS[m.status] ?? "msg.sent")}</>}
      </span>
      <span className="chat-text">
        {m.text ?? (m.template ? t("conv.template", { name: m.template }) : "")}
        {m.button_id ? <span className="muted"> ({t("conv.tapped")})</span> : null}
      </span>
      {m.last_error ? (
        <span className="error" role="note">
          {m.last_error}
        </span>
      ) : null}
    </li>
  );
}
