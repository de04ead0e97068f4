// Who is logged in, in which language, with which permissions; and the API client that carries their token.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { authFetch, makeClient, TokenStore, type Client, type Me, type TokenPair, type Fetch } from "./api/client";
import { Formats, isLocale, translator, type Locale, type T } from "./i18n";

export interface Session {
  me: Me;
  api: Client;
  locale: Locale;
  setLocale: (locale: Locale) => void;
  t: T;
  fmt: Formats;
  can: (permission: string) => boolean;
  logout: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a logged-in screen");
  return session;
}

/** The user's own choice of language (kept per user on this browser), else the clinic's, else English. */
export function preferredLocale(me: Me, storage: Storage | null = typeof localStorage === "undefined" ? null : localStorage): Locale {
  const chosen = storage?.getItem(`clinicflow.locale.${me.id}`);
  if (isLocale(chosen)) return chosen;
  if (isLocale(me.tenant.locale)) return me.tenant.locale;
  const base = me.tenant.locale.split("-")[0];
  return isLocale(base) ? base : "en";
}

export function SessionProvider({ me, api, onLogout, children }: { me: Me; api: Client; onLogout: () => void; children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(() => preferredLocale(me));
  const setLocale = useCallback(
    (next: Locale) => {
      localStorage.setItem(`clinicflow.locale.${me.id}`, next);
      setLocaleState(next);
    },
    [me.id],
  );
  const value = useMemo<Session>(() => {
    const permissions = new Set(me.permissions);
    return {
      me,
      api,
      locale,
      setLocale,
      t: translator(locale),
      fmt: new Formats(me.tenant.locale, me.tenant.timezone, me.tenant.country),
      can: (p) => permissions.has(p),
      logout: onLogout,
    };
  }, [me, api, locale, setLocale, onLogout]);
  document.documentElement.lang = locale;
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** Log in, resume from the refresh token after a reload, log out; one place that owns the tokens. */
export class Auth {
  readonly tokens: TokenStore;
  readonly api: Client;
  onExpired: () => void = () => {};
  constructor(base?: Fetch, storage?: Storage | null) {
    this.tokens = new TokenStore(storage);
    this.api = makeClient(authFetch(this.tokens, () => this.onExpired(), base));
  }

  async login(email: string, password: string) {
    const answer = await this.api.POST("/api/v1/auth/login", { body: { email, password } });
    if (answer.data) this.tokens.set(answer.data as TokenPair);
    return answer;
  }

  /** After a reload: swap the kept refresh token for a new pair, then read who we are. */
  async resume(): Promise<Me | null> {
    const refresh_token = this.tokens.refreshToken;
    if (!refresh_token) return null;
    const answer = await this.api.POST("/api/v1/auth/refresh", { body: { refresh_token } });
    if (!answer.data) {
      this.tokens.clear();
      return null;
    }
    this.tokens.set(answer.data);
    return this.me();
  }

  async me(): Promise<Me | null> {
    const answer = await this.api.GET("/api/v1/me");
    return answer.data ?? null;
  }

  /** The gateway has no logout call: forgetting both tokens ends the session here; the access token expires by
   * itself within its lifetime and the refresh token is never presented again. */
  logout(): void {
    this.tokens.clear();
  }
}
