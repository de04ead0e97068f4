// Settings (issue 16, screen 12): one screen of sections, each reading and writing its service's own API
// through the gateway. A section is listed only when the user holds the permission its API asks for; the
// menu entry itself needs crm:admin (App.tsx).
import type { ComponentType } from "react";
import type { SettingsKey } from "../../i18n-settings";
import { useSession } from "../../session";
import { useST } from "./kit";
import { UsersSection } from "./Users";
import { PlacesSection } from "./Places";
import { ProceduresSection } from "./Procedures";
import { PipelinesSection } from "./Pipelines";
import { AssistantSection } from "./Assistant";
import { ValuationSection } from "./Valuation";
import { ListsSection } from "./Lists";
import { DedupeSection } from "./Dedupe";
import { UnitsSection } from "./Units";
import { TemplatesSection } from "./Templates";
import { ProvidersSection } from "./Providers";
import { BookingPolicySection, QuietHoursSection } from "./Policies";
import { FormsSection, QuestionnairesSection } from "./Intake";

export interface SettingsSection {
  key: string;
  label: SettingsKey;
  permission: string;
  Component: ComponentType;
}

export const SECTIONS: SettingsSection[] = [
  { key: "users", label: "section.users", permission: "crm:admin", Component: UsersSection },
  { key: "units", label: "section.units", permission: "crm:admin", Component: UnitsSection },
  { key: "places", label: "section.places", permission: "scheduling:admin", Component: PlacesSection },
  { key: "procedures", label: "section.procedures", permission: "scheduling:admin", Component: ProceduresSection },
  { key: "pipelines", label: "section.pipelines", permission: "funnel:admin", Component: PipelinesSection },
  { key: "assistant", label: "section.assistant", permission: "funnel:admin", Component: AssistantSection },
  { key: "valuation", label: "section.valuation", permission: "funnel:admin", Component: ValuationSection },
  { key: "lists", label: "section.lists", permission: "crm:admin", Component: ListsSection },
  { key: "dedupe", label: "section.dedupe", permission: "crm:admin", Component: DedupeSection },
  { key: "templates", label: "section.templates", permission: "crm:admin", Component: TemplatesSection },
  { key: "quiet", label: "section.quiet", permission: "crm:admin", Component: QuietHoursSection },
  { key: "policy", label: "section.policy", permission: "scheduling:admin", Component: BookingPolicySection },
  { key: "forms", label: "section.forms", permission: "crm:admin", Component: FormsSection },
  { key: "questionnaires", label: "section.questionnaires", permission: "scheduling:admin", Component: QuestionnairesSection },
  { key: "providers", label: "section.providers", permission: "crm:admin", Component: ProvidersSection },
];

export function visibleSections(permissions: string[]): SettingsSection[] {
  return SECTIONS.filter((s) => permissions.includes(s.permission));
}

/** `path` is the hash route: `/settings` or `/settings/<section>`. */
export function Settings({ path }: { path: string }) {
  const { me } = useSession();
  const st = useST();
  const sections = visibleSections(me.permissions);
  const wanted = path.split("/")[2];
  const current = sections.find((s) => s.key === wanted) ?? sections[0];
  return (
    <section aria-labelledby="settings-title" className="settings">
      <h1 id="settings-title">{st("title")}</h1>
      <nav aria-label={st("sections")} className="settings-nav">
        <ul>
          {sections.map((s) => (
            <li key={s.key}>
              <a href={`#/settings/${s.key}`} aria-current={s === current ? "page" : undefined}>
                {st(s.label)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {current ? (
        <div className="settings-body">
          <current.Component key={current.key} />
        </div>
      ) : null}
    </section>
  );
}
