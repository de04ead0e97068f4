// Small accessible building blocks: a modal dialog, labelled fields with their API error, status badges.
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { Problem } from "./api/client";
import { fieldErrors } from "./api/client";
import { useSession } from "./session";
import { type Key } from "./i18n";
import { textOn, useStatuses } from "./statuses";

export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const { t } = useSession();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal?.();
    return () => dialog?.close?.();
  }, []);
  return (
    <dialog
      ref={ref}
      className={wide ? "dialog dialog-tall" : "dialog"}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon" onClick={onClose} aria-label={t("dialog.close")}>
          ×
        </button>
      </header>
      {children}
    </dialog>
  );
}

export interface FieldProps {
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  type?: string;
  required?: boolean;
  autoComplete?: string;
  options?: { value: string; label: string }[];
  multiline?: boolean;
}

/** A labelled input whose API error (a problem's `errors[].field`) is shown right under it. */
export function Field({ name, label, value, onChange, error, type = "text", required, autoComplete, options, multiline }: FieldProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const common = {
    id,
    name,
    value,
    required,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": error ? errorId : undefined,
  } as const;
  return (
    <div className={error ? "field field-error" : "field"}>
      <label htmlFor={id}>
        {label}
        {required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {options ? (
        <select {...common} onChange={(e) => onChange(e.target.value)}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      ) : multiline ? (
        <textarea {...common} rows={3} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input {...common} type={type} autoComplete={autoComplete} onChange={(e) => onChange(e.target.value)} />
      )}
      {error ? (
        <p className="error" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** Problem details that name no field the form shows (or none at all), above the form. */
export function ProblemBanner({ problem, shown }: { problem: Problem | null; shown: string[] }) {
  const { t } = useSession();
  if (!problem) return null;
  const { fields, general } = fieldErrors(problem);
  const other = Object.entries(fields).filter(([f]) => !shown.includes(f));
  if (!general && other.length === 0) return null;
  const message = problem.status === 403 ? t("error.forbidden") : general;
  return (
    <div className="banner banner-error" role="alert">
      {message ? <p>{message}</p> : null}
      {other.map(([f, m]) => (
        <p key={f}>
          <strong>{f}</strong>: {m}
        </p>
      ))}
    </div>
  );
}

/** A lead status as the clinic paints and names it (web/src/statuses.tsx). */
export function StatusBadge({ status }: { status: string }) {
  const statuses = useStatuses();
  const background = statuses.color(status);
  return (
    <span className="badge" data-status={status} style={{ background, color: textOn(background) }}>
      {statuses.name(status)}
    </span>
  );
}

/** Initials of a status name, for its avatar in the toolbar. */
export function initials(text: string): string {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join("");
}

export function Loading() {
  const { t } = useSession();
  return (
    <p className="muted" role="status">
      {t("list.loading" satisfies Key)}
    </p>
  );
}

/** Rows a list screen renders at once: an answer of 1,000 rows paints its first 100 (docs/benchmarks.md,
 * "Console list screens"), the rest a click away, without asking the server again. */
export const WINDOW = 100;

/** The first `step` items of a list (again the first ones whenever a new list arrives) and the "show more" button. */
export function useWindow<T>(items: readonly T[] | null | undefined, step = WINDOW): { shown: readonly T[]; more: ReactNode } {
  const { t, fmt } = useSession();
  const [state, setState] = useState<{ of: readonly T[] | null | undefined; limit: number }>({ of: items, limit: step });
  const limit = state.of === items ? state.limit : step;
  const all = items ?? [];
  const shown = all.length > limit ? all.slice(0, limit) : all;
  const rest = all.length - shown.length;
  const more =
    rest > 0 ? (
      <p className="show-more">
        <button type="button" className="link" onClick={() => setState({ of: items, limit: limit + step })}>
          {t("list.showMore", { n: fmt.number(Math.min(step, rest)), shown: fmt.number(shown.length), total: fmt.number(all.length) })}
        </button>
      </p>
    ) : null;
  return { shown, more };
}
