// Provider connections (crm:admin): the payments account (payments), the telephony providers (telephony) and
// the messaging channels' inbound accounts (notifications). Secrets are typed into password inputs that start
// empty and are emptied after a save: the APIs answer only whether each is set, and that is all shown.
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { SaveBar, useSaver, useST } from "./kit";

type PaymentsAccount = Schemas["payments_AccountOut"];
type Connection = Schemas["ConnectionOut"];

export const PAYMENT_PROVIDERS = ["mercadopago", "stripe", "asaas"] as const;
export const MESSAGING_CHANNELS = ["whatsapp", "sms", "telegram", "instagram"] as const;

export function ProvidersSection() {
  const { api } = useSession();
  const st = useST();
  const payments = useLoad(() => unwrap(api.GET("/api/v1/payments/settings")), []);
  const telephony = useLoad(() => unwrap(api.GET("/api/v1/telephony/providers")).then((p) => p.items), []);
  const channels = useLoad(async () => (await unwrap(api.GET("/api/v1/notifications/channels"))).items, []);
  return (
    <>
      <p className="banner" role="note">
        {st("prov.hint")}
      </p>
      <section aria-labelledby="prov-payments">
        <h2 id="prov-payments">{st("prov.payments")}</h2>
        <ProblemBanner problem={payments.problem} shown={[]} />
        {payments.data ? <PaymentsForm key={JSON.stringify(payments.data)} account={payments.data} onSaved={payments.reload} /> : <Loading />}
      </section>
      <section aria-labelledby="prov-telephony">
        <h2 id="prov-telephony">{st("prov.telephony")}</h2>
        <ProblemBanner problem={telephony.problem} shown={[]} />
        {telephony.data ? telephony.data.map((c) => <TelephonyForm key={c.provider} connection={c} onSaved={telephony.reload} />) : <Loading />}
      </section>
      <section aria-labelledby="prov-messaging">
        <h2 id="prov-messaging">{st("prov.messaging")}</h2>
        <ProblemBanner problem={channels.problem} shown={[]} />
        {channels.data
          ? MESSAGING_CHANNELS.map((ch) => (
              <ChannelForm key={ch} channel={ch} accounts={channels.data!.filter((a) => a.channel === ch).map((a) => a.account_id)} onSaved={channels.reload} />
            ))
          : <Loading />}
      </section>
    </>
  );
}

function SecretState({ set }: { set: boolean }) {
  const st = useST();
  return <span className={set ? "tag" : "tag tag-red"}>{set ? st("prov.set") : st("prov.notSet")}</span>;
}

function PaymentsForm({ account, onSaved }: { account: PaymentsAccount; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [provider, setProvider] = useState(account.provider);
  const [accessToken, setAccessToken] = useState("");
  const [webhookSecret, setWebhookSecret] = useState("");
  const [merchantName, setMerchantName] = useState(account.merchant_name);
  const [merchantCity, setMerchantCity] = useState(account.merchant_city);
  const [pixKey, setPixKey] = useState(account.pix_key ?? "");
  const [currency, setCurrency] = useState(account.currency);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = {
      provider,
      access_token: accessToken,
      webhook_secret: webhookSecret,
      merchant_name: merchantName || null,
      merchant_city: merchantCity || null,
      pix_key: pixKey || null,
      currency,
      api_url: "", // the provider's own API (the installation's sandbox stays the default account's)
    };
    if (await saver.run(() => unwrap(api.PUT("/api/v1/payments/settings", { body })))) {
      setAccessToken("");
      setWebhookSecret("");
      onSaved();
    }
  }
  const setMark = (set: boolean) => ` (${set ? st("prov.set") : st("prov.notSet")})`;
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={st("prov.payments")}>
      <p>
        {account.own_account ? st("prov.own") : st("prov.default")} {account.provider} · {st("prov.accessToken")} <SecretState set={account.access_token_set} /> ·{" "}
        {st("prov.webhookSecret")} <SecretState set={account.webhook_secret_set} />
      </p>
      <p className="muted">
        {st("prov.webhookUrl")}: <code>{account.webhook_url}</code>
      </p>
      <ProblemBanner problem={saver.problem} shown={["provider", "access_token", "webhook_secret", "merchant_name", "merchant_city", "pix_key", "currency"]} />
      <Field name="provider" label={st("prov.provider")} value={provider} onChange={setProvider} error={saver.errors.provider} options={PAYMENT_PROVIDERS.map((p) => ({ value: p, label: p }))} />
      <Field
        name="access_token"
        type="password"
        autoComplete="new-password"
        label={st("prov.accessToken") + setMark(account.access_token_set)}
        value={accessToken}
        onChange={setAccessToken}
        error={saver.errors.access_token}
        required
      />
      <Field
        name="webhook_secret"
        type="password"
        autoComplete="new-password"
        label={st("prov.webhookSecret") + setMark(account.webhook_secret_set)}
        value={webhookSecret}
        onChange={setWebhookSecret}
        error={saver.errors.webhook_secret}
        required
      />
      <div className="row-fields">
        <Field name="merchant_name" label={st("prov.merchantName")} value={merchantName} onChange={setMerchantName} error={saver.errors.merchant_name} />
        <Field name="merchant_city" label={st("prov.merchantCity")} value={merchantCity} onChange={setMerchantCity} error={saver.errors.merchant_city} />
      </div>
      <div className="row-fields">
        <Field name="pix_key" label={st("prov.pixKey")} value={pixKey} onChange={setPixKey} error={saver.errors.pix_key} />
        <Field name="currency" label={st("currency")} value={currency} onChange={setCurrency} error={saver.errors.currency} />
      </div>
      <SaveBar saver={saver} label={st("prov.connect")} />
    </form>
  );
}

function TelephonyForm({ connection, onSaved }: { connection: Connection; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [secret, setSecret] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [apiUrl, setApiUrl] = useState("");
  const [timezone, setTimezone] = useState(connection.timezone ?? "");
  // Mango signs with its api key; Twilio, Telfin and Asterisk need theirs (and an address) for click-to-call.
  const wantsKey = ["mango", "twilio", "telfin", "asterisk"].includes(connection.provider);
  const wantsUrl = ["twilio", "telfin", "asterisk"].includes(connection.provider);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { secret, api_key: apiKey, api_url: apiUrl, timezone: timezone || null };
    if (await saver.run(() => unwrap(api.PUT("/api/v1/telephony/providers/{provider}", { params: { path: { provider: connection.provider } }, body })))) {
      setSecret("");
      setApiKey("");
      setApiUrl("");
      onSaved();
    }
  }
  const mark = (set: boolean) => ` (${set ? st("prov.set") : st("prov.notSet")})`;
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={`${st("prov.telephony")} · ${connection.provider}`}>
      <h3>
        {connection.provider} <SecretState set={connection.connected} />
      </h3>
      {connection.connected ? (
        <p className="muted">
          {st("prov.webhookUrl")}: <code>{connection.webhook_url}</code>
        </p>
      ) : null}
      <ProblemBanner problem={saver.problem} shown={["secret", "api_key", "api_url", "timezone"]} />
      <div className="row-fields">
        <Field name="secret" type="password" autoComplete="new-password" label={st("prov.secret") + mark(connection.secret_set)} value={secret} onChange={setSecret} error={saver.errors.secret} required />
        {wantsKey ? (
          <Field name="api_key" type="password" autoComplete="new-password" label={st("prov.apiKey") + mark(connection.api_key_set)} value={apiKey} onChange={setApiKey} error={saver.errors.api_key} required={connection.provider === "mango"} />
        ) : null}
        {wantsUrl ? (
          <Field name="api_url" type="url" label={st("prov.apiUrl")} value={apiUrl} onChange={setApiUrl} error={saver.errors.api_url} required={connection.provider === "asterisk"} />
        ) : null}
        <Field name="timezone" label={st("prov.timezone")} value={timezone} onChange={setTimezone} error={saver.errors.timezone} />
      </div>
      <SaveBar saver={saver} label={st("prov.connect")} />
    </form>
  );
}

function ChannelForm({ channel, accounts, onSaved }: { channel: string; accounts: string[]; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [accountId, setAccountId] = useState("");
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await saver.run(() => unwrap(api.PUT("/api/v1/notifications/channels/{channel}", { params: { path: { channel } }, body: { account_id: accountId } })))) {
      setAccountId("");
      onSaved();
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-label={`${st("prov.messaging")} · ${channel}`} className="settings-channel">
      <h3>
        {channel} {accounts.length ? <span className="tag">{accounts.join(", ")}</span> : <SecretState set={false} />}
      </h3>
      <ProblemBanner problem={saver.problem} shown={["account_id"]} />
      <Field name="account_id" label={st("prov.account")} value={accountId} onChange={setAccountId} error={saver.errors.account_id} required />
      <SaveBar saver={saver} label={st("prov.connect")} />
    </form>
  );
}
