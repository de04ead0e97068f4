// The shell: log in, resume after a reload, the menu (only what the user's permissions allow), the bell,
// the language switch, log out; hash routes (`#/prospects/<id>`) so the gateway serves one index.html.
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { asProblem, unwrap, type Bell as BellData, type Me, type Problem } from "./api/client";
import { Field } from "./components";
import { useLoad } from "./data";
import { LOCALE_NAMES, LOCALES, isLocale, translator, type Key, type Locale } from "./i18n";
import { Auth, SessionProvider, useSession } from "./session";
import { StatusesProvider } from "./statuses";
import { setPurpose } from "./purpose";
import { Prospects } from "./screens/Prospects";
import { LeadCard } from "./screens/LeadCard";
import { Templates } from "./screens/Templates";
import { ActivitiesScreen } from "./screens/Activities";
import { Reception } from "./screens/Reception";
import { Conversations } from "./screens/Conversations";
import { IncomingCalls } from "./screens/CallCard";
import { Finance } from "./screens/Finance";
import { Reports } from "./screens/Reports";
import { commsTranslator, isCommsKey, type CommsKey } from "./i18n-comms";
import { Settings } from "./screens/settings/Settings";
import { settingsTranslator } from "./i18n-settings";
import { Dashboard } from "./screens/Dashboard";
import { Pipelines } from "./screens/Pipelines";
import { Agenda } from "./screens/Agenda";
import { deskTranslator } from "./i18n-desk";
import { Privacy } from "./screens/Privacy";
import { privacyTranslator } from "./i18n-privacy";
import { funnelTranslator } from "./i18n-funnel";
import { Valuations } from "./screens/funnel/Valuations";
import { Assistant } from "./screens/funnel/Assistant";

export interface MenuItem {
  path: string;
  /** a key of i18n.ts or i18n-comms.ts, or a function of the locale for screens with their own dictionary */
  label: Key | CommsKey | ((locale: Locale) => string);
  permission: string;
  /** also shown to a role without the permission whose own items the screen lists (a diagnostic doctor's valuations) */
  role?: string;
}

/** Every screen of the console and the permission that opens it; the menu lists only those the user holds. */
export const MENU: MenuItem[] = [
  { path: "/prospects", label: "nav.prospects", permission: "crm:read" },
  { path: "/activities", label: "nav.activities", permission: "crm:read" },
  { path: "/reception", label: "nav.reception", permission: "scheduling:read" },
  { path: "/dashboard", label: (l) => deskTranslator(l)("nav.dashboard"), permission: "analytics:read" },
  { path: "/pipelines", label: (l) => deskTranslator(l)("nav.pipelines"), permission: "funnel:read" },
  { path: "/valuations", label: (l) => funnelTranslator(l)("nav.valuations"), permission: "funnel:read", role: "diagnostic_doctor" },
  { path: "/assistant", label: (l) => funnelTranslator(l)("nav.assistant"), permission: "funnel:read" },
  { path: "/agenda", label: (l) => deskTranslator(l)("nav.agenda"), permission: "scheduling:read" },
  { path: "/templates", label: "nav.templates", permission: "crm:admin" },
  { path: "/conversations", label: "nav.conversations", permission: "crm:read" },
  { path: "/finance", label: "nav.finance", permission: "finance:read" },
  { path: "/reports", label: "nav.reports", permission: "analytics:read" },
  { path: "/settings", label: (l) => settingsTranslator(l)("nav.settings"), permission: "crm:admin" },
  { path: "/privacy", label: (l) => privacyTranslator(l)("nav.privacy"), permission: "privacy:read" },
];

/** A menu entry's text, from the shell's dictionary or the communication screens' own (i18n-comms.ts). */
export function menuLabel(locale: Locale, label: MenuItem["label"]): string {
  if (typeof label === "function") return label(locale);
  return isCommsKey(label) ? commsTranslator(locale)(label) : translator(locale)(label);
}

export function visibleMenu(permissions: string[], roles: string[] = []): MenuItem[] {
  return MENU.filter((m) => permissions.includes(m.permission) || (m.role !== undefined && roles.includes(m.role)));
}

export function useHashRoute(): [string, (path: string) => void] {
  const read = () => location.hash.replace(/^#/, "") || "/";
  const [path, setPath] = useState(read);
  useEffect(() => {
    const onChange = () => setPath(read());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return [path, (next) => (location.hash = next)];
}

export function App({ auth }: { auth: Auth }) {
  const [me, setMe] = useState<Me | null>(null);
  const [booting, setBooting] = useState(true);
  const [expired, setExpired] = useState(false);
  const logout = useCallback(() => {
    auth.logout();
    setMe(null);
  }, [auth]);
  useEffect(() => {
    auth.onExpired = () => {
      auth.logout();
      setExpired(true);
      setMe(null);
    };
    auth.resume().then((who) => {
      setMe(who);
      setBooting(false);
    });
  }, [auth]);
  if (booting) return null;
  if (!me)
    return (
      <Login
        auth={auth}
        expired={expired}
        onLoggedIn={(who) => {
          setExpired(false);
          setMe(who);
        }}
      />
    );
  return (
    <SessionProvider me={me} api={auth.api} onLogout={logout}>
      <StatusesProvider>
        <Shell />
      </StatusesProvider>
    </SessionProvider>
  );
}

function browserLocale(): Locale {
  for (const l of navigator.languages ?? [navigator.language]) {
    if (isLocale(l)) return l;
    const base = l.split("-")[0];
    if (base === "pt") return "pt-BR";
    if (isLocale(base)) return base;
  }
  return "en";
}

export function Login({ auth, expired, onLoggedIn }: { auth: Auth; expired: boolean; onLoggedIn: (me: Me) => void }) {
  const [locale, setLocale] = useState<Locale>(browserLocale);
  const t = translator(locale);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const { data, error, response } = await auth.login(email, password);
    setBusy(false);
    if (!data) {
      const p = asProblem(error, response);
      setProblem(p.status === 401 ? { ...p, detail: t("login.wrong") } : p.status === 429 ? { ...p, detail: t("login.tooMany") } : p);
      return;
    }
    const who = await auth.me();
    if (who) onLoggedIn(who);
  }

  const errorFor = (field: string) => problem?.errors?.find((e) => e.field === field)?.message;
  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <h1 id="login-title">
          <span className="logo" aria-hidden="true">✚</span> {t("appName")}
        </h1>
        <h2>{t("login.title")}</h2>
        {expired ? (
          <p className="banner" role="status">
            {t("login.expired")}
          </p>
        ) : null}
        {problem && !problem.errors?.length ? (
          <p className="banner banner-error" role="alert">
            {problem.detail ?? problem.title}
          </p>
        ) : null}
        <Field name="email" label={t("login.email")} type="email" autoComplete="username" value={email} onChange={setEmail} error={errorFor("email")} required />
        <Field
          name="password"
          label={t("login.password")}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
          error={errorFor("password")}
          required
        />
        <button type="submit" className="primary" disabled={busy}>
          {t("login.submit")}
        </button>
        <LocalePicker value={locale} onChange={setLocale} label={t("nav.language")} />
      </form>
    </main>
  );
}

function LocalePicker({ value, onChange, label }: { value: Locale; onChange: (l: Locale) => void; label: string }) {
  return (
    <label className="locale">
      <span className="sr-only">{label}</span>
      <select value={value} onChange={(e) => isLocale(e.target.value) && onChange(e.target.value)} aria-label={label}>
        {LOCALES.map((l) => (
          <option key={l} value={l} lang={l}>
            {LOCALE_NAMES[l]}
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell() {
  const { me, t, locale, setLocale, logout } = useSession();
  const [path, go] = useHashRoute();
  setPurpose(path); // during render: the screen's reads (its effects) carry the new screen's purpose
  const menu = visibleMenu(me.permissions, me.roles);
  const [bellTick, setBellTick] = useState(0);
  const refreshBell = useCallback(() => setBellTick((n) => n + 1), []);
  useEffect(() => {
    if (path === "/" && menu[0]) go(menu[0].path);
  }, [path, menu, go]);
  const lead = /^\/prospects\/([\w-]+)$/.exec(path);
  let screen = null;
  if (lead && me.permissions.includes("crm:read")) screen = <LeadCard id={lead[1]!} onActivitiesChanged={refreshBell} />;
  else if (path.startsWith("/prospects") && me.permissions.includes("crm:read")) screen = <Prospects />;
  else if (path.startsWith("/activities") && me.permissions.includes("crm:read")) screen = <ActivitiesScreen />;
  else if (path.startsWith("/reception") && me.permissions.includes("scheduling:read")) screen = <Reception />;
  else if (path.startsWith("/templates") && me.permissions.includes("crm:admin")) screen = <Templates />;
  else if (path.startsWith("/conversations") && me.permissions.includes("crm:read")) screen = <Conversations path={path} />;
  else if (path.startsWith("/finance") && me.permissions.includes("finance:read")) screen = <Finance />;
  else if (path.startsWith("/reports") && me.permissions.includes("analytics:read")) screen = <Reports />;
  else if (path.startsWith("/settings") && me.permissions.includes("crm:admin")) screen = <Settings path={path} />;
  else if (path.startsWith("/dashboard") && me.permissions.includes("analytics:read")) screen = <Dashboard />;
  else if (path.startsWith("/pipelines") && me.permissions.includes("funnel:read")) screen = <Pipelines dealId={/^\/pipelines\/([\w-]+)$/.exec(path)?.[1]} />;
  else if (path.startsWith("/agenda") && me.permissions.includes("scheduling:read")) screen = <Agenda />;
  else if (path.startsWith("/privacy") && me.permissions.includes("privacy:read")) screen = <Privacy path={path} />;
  else if (path.startsWith("/valuations") && (me.permissions.includes("funnel:read") || (me.roles.includes("diagnostic_doctor") && me.permissions.includes("crm:read")))) screen = <Valuations path={path} />;
  else if (path.startsWith("/assistant") && me.permissions.includes("funnel:read")) screen = <Assistant path={path} />;
  return (
    <div className="shell">
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        {t("appName")}
      </a>
      <header className="topbar">
        <span className="brand">
          <span className="logo" aria-hidden="true">✚</span> {t("appName")} · {me.tenant.name}
        </span>
        <nav aria-label={t("nav.main")}>
          <ul>
            {menu.map((m) => (
              <li key={m.path}>
                <a href={`#${m.path}`} aria-current={path.startsWith(m.path) ? "page" : undefined}>
                  {menuLabel(locale, m.label)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-right">
          {me.permissions.includes("crm:read") ? <BellButton tick={bellTick} /> : null}
          <LocalePicker value={locale} onChange={setLocale} label={t("nav.language")} />
          <span className="user">{me.full_name}</span>
          <button type="button" onClick={logout}>
            {t("nav.logout")}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {screen}
      </main>
      {me.permissions.includes("crm:read") ? <IncomingCalls /> : null}
    </div>
  );
}

/** The bell: grey when nothing is pending, red when activities are; opens the next ones. */
export function BellButton({ tick }: { tick: number }) {
  const { api, t, fmt } = useSession();
  const [open, setOpen] = useState(false);
  const bell = useLoad<BellData>(() => unwrap(api.GET("/api/v1/leads/activities/bell")), [tick, open]);
  useEffect(() => {
    const timer = setInterval(bell.reload, 60_000);
    return () => clearInterval(timer);
  }, [bell.reload]);
  const pending = bell.data?.pending ?? 0;
  const label = pending ? t("bell.label", { n: pending }) : t("bell.none");
  return (
    <div className="bell-wrap">
      <button
        type="button"
        className={pending ? "bell bell-pending" : "bell"}
        aria-label={label}
        title={label}
        aria-expanded={open}
        data-pending={pending}
        onClick={() => setOpen(!open)}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
        </svg>
        {pending ? <span className="bell-count">{pending}</span> : null}
      </button>
      {open && bell.data ? (
        <div className="popover" role="region" aria-label={label}>
          <p>
            <strong>{label}</strong>
            {bell.data.overdue ? ` · ${t("bell.overdue", { n: bell.data.overdue })}` : ""}
            {bell.data.due_today ? ` · ${t("bell.today", { n: bell.data.due_today })}` : ""}
          </p>
          <ul className="plain">
            {bell.data.next.map((a) => (
              <li key={a.id} className={a.overdue ? "overdue" : undefined}>
                <a href={`#/prospects/${a.lead_id}`} onClick={() => setOpen(false)}>
                  {fmt.dateTime(a.scheduled_at)} · {a.title}
                  {a.lead_name ? ` · ${a.lead_name}` : ""}
                </a>
                {a.overdue ? <span className="tag tag-red"> {t("activities.overdue")}</span> : null}
              </li>
            ))}
          </ul>
          <p>
            <a href="#/activities" onClick={() => setOpen(false)}>
              {t("activities.seeAll")}
            </a>
          </p>
        </div>
      ) : null}
    </div>
  );
}


