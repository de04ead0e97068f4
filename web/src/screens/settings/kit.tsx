// Building blocks shared by the Settings sections: the texts, a save that keeps what was typed and spreads the
// API's problem over the fields it names, labelled check boxes and check-box groups, colour inputs.
import { useCallback, useId, useMemo, useState, type ReactNode } from "react";
import { ApiError, fieldErrors, type Problem } from "../../api/client";
import { settingsTranslator, type ST } from "../../i18n-settings";
import { useSession } from "../../session";

export function useST(): ST {
  const { locale } = useSession();
  return useMemo(() => settingsTranslator(locale), [locale]);
}

export interface Saver {
  problem: Problem | null;
  busy: boolean;
  saved: boolean;
  /** field → message, from the problem's `errors[].field` (`body.`, `query.` and sub-paths dropped) */
  errors: Record<string, string>;
  /** Runs one save; the form's state is never touched here, so a failed save keeps everything typed. */
  run: (save: () => Promise<unknown>) => Promise<boolean>;
}

export function useSaver(): Saver {
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const run = useCallback(async (save: () => Promise<unknown>) => {
    setBusy(true);
    setSaved(false);
    try {
      await save();
      setProblem(null);
      setSaved(true);
      return true;
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, detail: String(e) });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const errors = useMemo(() => fieldErrors(problem).fields, [problem]);
  return { problem, busy, saved, errors, run };
}

/** The form's submit button and what the last save did. */
export function SaveBar({ saver, label, children }: { saver: Saver; label?: string; children?: ReactNode }) {
  const st = useST();
  return (
    <div className="actions">
      <button type="submit" className="primary" disabled={saver.busy}>
        {saver.busy ? st("saving") : (label ?? st("save"))}
      </button>
      {children}
      {saver.saved ? (
        <span role="status" className="muted">
          {st("saved")}
        </span>
      ) : null}
    </div>
  );
}

function FieldError({ id, error }: { id: string; error?: string }) {
  return error ? (
    <p className="error" id={id} role="alert">
      {error}
    </p>
  ) : null;
}

export function Check({ name, label, checked, onChange, error }: { name: string; label: string; checked: boolean; onChange: (v: boolean) => void; error?: string }) {
  const id = useId();
  return (
    <div className={error ? "field field-check field-error" : "field field-check"}>
      <input
        id={id}
        name={name}
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      <label htmlFor={id}>{label}</label>
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** Several values out of a fixed set (roles, permissions, branches), as a fieldset of check boxes. */
export function CheckGroup({
  name,
  legend,
  options,
  value,
  onChange,
  error,
}: {
  name: string;
  legend: string;
  options: { value: string; label: string; hint?: string }[];
  value: string[];
  onChange: (v: string[]) => void;
  error?: string;
}) {
  const id = useId();
  return (
    <fieldset className={error ? "field checks field-error" : "field checks"} aria-describedby={error ? `${id}-error` : undefined}>
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o.value} title={o.hint}>
          <input
            type="checkbox"
            name={name}
            value={o.value}
            checked={value.includes(o.value)}
            onChange={(e) => onChange(e.target.checked ? [...value, o.value] : value.filter((v) => v !== o.value))}
          />{" "}
          {o.label}
        </label>
      ))}
      <FieldError id={`${id}-error`} error={error} />
    </fieldset>
  );
}

export function ColourField({ name, label, value, onChange, error }: { name: string; label: string; value: string; onChange: (v: string) => void; error?: string }) {
  const id = useId();
  return (
    <div className={error ? "field field-colour field-error" : "field field-colour"}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="color"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      <FieldError id={`${id}-error`} error={error} />
    </div>
  );
}

/** Comma-separated text ↔ a list of non-empty trimmed values. */
export const splitList = (text: string): string[] =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
