// The lead card's patients and duplicates (docs/leads.md, "Who is this?", "Merging duplicates", "Patients,
// linking and converting"): who else this person may be (`POST /api/v1/leads/match` with the lead's phone,
// e-mail, CPF and name), best first with the points and reasons; a patient is linked to the lead
// (`POST /leads/{id}/link`), a duplicate prospect merged into it after a confirmation (`POST /leads/{id}/merge`:
// this lead stays). A refusal (different CPFs, another patient already linked) is shown where it was made.
import { useState } from "react";
import { unwrap, type Candidate, type Lead } from "../api/client";
import { Dialog, ProblemBanner, StatusBadge } from "../components";
import { useSave } from "../data";
import { DICTIONARIES, type Key } from "../i18n";
import { useSession } from "../session";

export function LeadMatches({ lead, onChanged }: { lead: Lead; onChanged: () => void }) {
  const { api, t, can } = useSession();
  const [candidates, setCandidates] = useState<Candidate[] | null>(null);
  const [merging, setMerging] = useState<Candidate | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const { problem, busy, save } = useSave();
  const reason = (r: string) => (`match.reason.${r}` in DICTIONARIES.en ? t(`match.reason.${r}` as Key) : r);

  async function find() {
    setDone(null);
    await save(async () => {
      const answer = await unwrap(api.POST("/api/v1/leads/match", { body: { phone: lead.phone || null, email: lead.email ?? null, cpf: lead.cpf ?? null, name: lead.name } }));
      setCandidates(answer.candidates.filter((c) => !(c.kind === "lead" && c.id === lead.id) && !(c.kind === "patient" && c.id === lead.patient_id)));
    });
  }
  async function link(c: Candidate) {
    if (await save(() => unwrap(api.POST("/api/v1/leads/{lead_id}/link", { params: { path: { lead_id: lead.id } }, body: { patient_id: c.id } })))) {
      setDone(t("match.linked", { name: c.name }));
      setCandidates(null);
      onChanged();
    }
  }
  return (
    <section className="card" aria-labelledby="matches-title">
      <h2 id="matches-title">{t("match.title")}</h2>
      <p className="muted">{t("match.help")}</p>
      <ProblemBanner problem={merging ? null : problem} shown={[]} />
      {done ? (
        <p className="banner" role="status">
          {done}
        </p>
      ) : null}
      <button type="button" onClick={() => void find()} disabled={busy}>
        {t("match.find")}
      </button>
      {candidates && !candidates.length ? <p className="muted">{t("match.none")}</p> : null}
      {candidates?.length ? (
        <ul className="plain matches">
          {candidates.map((c) => (
            <li key={`${c.kind}-${c.id}`} data-candidate={c.id} data-kind={c.kind}>
              <strong>{c.kind === "lead" ? <a href={`#/prospects/${c.id}`}>{c.name}</a> : c.name}</strong> <span className="tag">{c.kind === "patient" ? t("match.patient") : t("match.prospect")}</span>{" "}
              {c.kind === "lead" && c.status ? <StatusBadge status={c.status} /> : null} <span className="muted">{t("match.score", { n: c.score })} · {c.reasons.map(reason).join(", ")}</span>
              {can("crm:write") && c.kind === "patient" && !lead.patient_id ? (
                <button type="button" className="small" disabled={busy} onClick={() => void link(c)} aria-label={`${t("match.link")}: ${c.name}`}>
                  {t("match.link")}
                </button>
              ) : null}
              {can("crm:write") && c.kind === "lead" ? (
                <button type="button" className="small" onClick={() => setMerging(c)} aria-label={`${t("match.merge")}: ${c.name}`}>
                  {t("match.merge")}
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {merging ? (
        <MergeDialog
          lead={lead}
          other={merging}
          onClose={() => setMerging(null)}
          onMerged={() => {
            setDone(t("match.merged", { name: merging.name }));
            setMerging(null);
            setCandidates(null);
            onChanged();
          }}
        />
      ) : null}
    </section>
  );
}

function MergeDialog({ lead, other, onClose, onMerged }: { lead: Lead; other: Candidate; onClose: () => void; onMerged: () => void }) {
  const { api, t } = useSession();
  const { problem, busy, save } = useSave();
  return (
    <Dialog title={t("match.mergeTitle", { other: other.name, name: lead.name })} onClose={onClose}>
      <div className="stack">
        <ProblemBanner problem={problem} shown={[]} />
        <p>{t("match.mergeHelp", { other: other.name })}</p>
        <div className="actions dialog-actions">
          <button type="button" onClick={onClose}>
            {t("dialog.close")}
          </button>
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={async () => {
              if (await save(() => unwrap(api.POST("/api/v1/leads/{lead_id}/merge", { params: { path: { lead_id: lead.id } }, body: { other_id: other.id } })))) onMerged();
            }}
          >
            {t("match.merge")}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
