// What the valuation and assistant screens share: their texts in the user's language, the clinic's staff with
// their roles, a pager, and a history table (when, who, what).
import { useEffect, useMemo, useState } from "react";
import { unwrap } from "../../api/client";
import { funnelTranslator, isFunnelKey, type FT } from "../../i18n-funnel";
import { useSession } from "../../session";

export const PAGE = 50;

export function useFunnelT(): FT {
  const { locale } = useSession();
  return useMemo(() => funnelTranslator(locale), [locale]);
}

/** A text picked by a value the API sends (`val.state.` + state), or the value itself when it is a new one. */
export function textOf(f: FT, prefix: string, value: string | null | undefined): string {
  if (!value) return f("none");
  const key = `${prefix}${value}`;
  return isFunnelKey(key) ? f(key) : value;
}

export interface Member {
  id: string;
  name: string;
  roles: string[];
}

/** The clinic's staff as the leads service knows them, with their roles (the diagnostic doctors among them). */
export function useMembers(): Member[] {
  const { api } = useSession();
  const [members, setMembers] = useState<Member[]>([]);
  useEffect(() => {
    let live = true;
    unwrap(api.GET("/api/v1/leads/staff")).then(
      (page) => live && setMembers(page.items.map((s) => ({ id: s.user_id, name: s.full_name, roles: s.roles }))),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api]);
  return members;
}

export function nameIn(members: Member[], id: string | null | undefined, f: FT): string {
  if (!id) return f("none");
  return members.find((m) => m.id === id)?.name ?? `#${id.slice(-6)}`;
}

export function Pager({ offset, total, onOffset }: { offset: number; total: number; onOffset: (offset: number) => void }) {
  const { fmt } = useSession();
  const f = useFunnelT();
  if (total <= PAGE) return null;
  return (
    <p className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - PAGE))}>
        {f("previous")}
      </button>{" "}
      <span>{f("shown", { from: fmt.number(offset + 1), to: fmt.number(Math.min(offset + PAGE, total)), total: fmt.number(total) })}</span>{" "}
      <button type="button" disabled={offset + PAGE >= total} onClick={() => onOffset(offset + PAGE)}>
        {f("next")}
      </button>
    </p>
  );
}

export interface Step {
  at: string;
  who: string;
  what: string;
  detail?: string;
}

export function History({ steps, label }: { steps: Step[]; label: string }) {
  const { fmt } = useSession();
  const f = useFunnelT();
  return (
    <div className="table-wrap">
      <table className="compact" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">{f("when")}</th>
            <th scope="col">{f("who")}</th>
            <th scope="col">{f("what")}</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((s, i) => (
            <tr key={i}>
              <td className="nowrap">{fmt.dateTime(s.at)}</td>
              <td>{s.who}</td>
              <td>
                <strong>{s.what}</strong>
                {s.detail ? <span className="muted"> · {s.detail}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
