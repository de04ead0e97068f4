// Users and roles (crm:admin, the gateway): the clinic's staff with their roles, sections and departments, adding
// one; the roles with their permissions, adding and changing one. Problems are shown under the field they name.
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { CheckGroup, SaveBar, useSaver, useST, Check } from "./kit";

type StaffMember = Schemas["StaffOut"];
type Role = Schemas["RoleOut"];
type Permission = Schemas["PermissionOut"];
type Unit = Schemas["UnitOut"];

export function UsersSection() {
  const { api } = useSession();
  const st = useST();
  const staff = useLoad(() => unwrap(api.GET("/api/v1/staff")).then((p) => p.items), []);
  const roles = useLoad(() => unwrap(api.GET("/api/v1/identity/roles")).then((p) => p.items), []);
  const permissions = useLoad(() => unwrap(api.GET("/api/v1/identity/permissions")).then((p) => p.items), []);
  const listOf = (kind: "sections" | "departments") => async () =>
    (await unwrap(api.GET("/api/v1/identity/{kind}", { params: { path: { kind } } }))).items as Unit[];
  const sections = useLoad(listOf("sections"), []);
  const departments = useLoad(listOf("departments"), []);
  const roleOptions = (roles.data ?? []).map((r) => ({ value: r.name, label: r.name, hint: r.description }));
  const units: Units = { sections: sections.data ?? [], departments: departments.data ?? [] };
  return (
    <>
      <section aria-labelledby="users-staff">
        <h2 id="users-staff">{st("users.staff")}</h2>
        <ProblemBanner problem={staff.problem ?? sections.problem ?? departments.problem} shown={[]} />
        {staff.data ? (
          <ul className="plain settings-list">
            {staff.data.map((m) => (
              <li key={m.id}>
                <StaffEditor member={m} roleOptions={roleOptions} units={units} onSaved={staff.reload} />
              </li>
            ))}
          </ul>
        ) : (
          <Loading />
        )}
        <NewStaff roleOptions={roleOptions} units={units} onSaved={staff.reload} />
      </section>
      <section aria-labelledby="users-roles">
        <h2 id="users-roles">{st("roles.title")}</h2>
        <ProblemBanner problem={roles.problem ?? permissions.problem} shown={[]} />
        {roles.data && permissions.data ? (
          <>
            <ul className="plain settings-list">
              {roles.data.map((r) => (
                <li key={r.id}>
                  <RoleEditor role={r} permissions={permissions.data!} onSaved={roles.reload} />
                </li>
              ))}
            </ul>
            <NewRole permissions={permissions.data} onSaved={roles.reload} />
          </>
        ) : (
          <Loading />
        )}
      </section>
    </>
  );
}

type Options = { value: string; label: string; hint?: string }[];
type Units = { sections: Unit[]; departments: Unit[] };

/** The active units, and those the member is already in (switched off since), so a save never drops one. */
function unitOptions(units: Unit[], chosen: string[]): Options {
  return units.filter((u) => u.active || chosen.includes(u.id)).map((u) => ({ value: u.id, label: u.name }));
}

/** Sections and departments as check boxes; none when the clinic has none. */
function UnitChecks({ units, sectionIds, departmentIds, onSections, onDepartments, errors }: {
  units: Units;
  sectionIds: string[];
  departmentIds: string[];
  onSections: (ids: string[]) => void;
  onDepartments: (ids: string[]) => void;
  errors: Record<string, string | undefined>;
}) {
  const st = useST();
  const sections = unitOptions(units.sections, sectionIds);
  const departments = unitOptions(units.departments, departmentIds);
  return (
    <>
      {sections.length ? (
        <CheckGroup name="section_ids" legend={st("units.sections")} options={sections} value={sectionIds} onChange={onSections} error={errors.section_ids} />
      ) : null}
      {departments.length ? (
        <CheckGroup name="department_ids" legend={st("units.departments")} options={departments} value={departmentIds} onChange={onDepartments} error={errors.department_ids} />
      ) : null}
    </>
  );
}

function StaffEditor({ member, roleOptions, units, onSaved }: { member: StaffMember; roleOptions: Options; units: Units; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [fullName, setFullName] = useState(member.full_name);
  const [roles, setRoles] = useState(member.roles);
  const [active, setActive] = useState(member.active);
  const [sectionIds, setSectionIds] = useState(member.section_ids);
  const [departmentIds, setDepartmentIds] = useState(member.department_ids);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { full_name: fullName, roles, active, section_ids: sectionIds, department_ids: departmentIds };
    const ok = await saver.run(() => unwrap(api.PATCH("/api/v1/staff/{user_id}", { params: { path: { user_id: member.id } }, body })));
    if (ok) onSaved();
  }
  return (
    <details>
      <summary>
        <strong>{member.full_name}</strong> · {member.email} · {member.roles.join(", ")}
        {member.active ? null : <span className="tag"> {st("inactive")}</span>}
      </summary>
      <form onSubmit={submit} noValidate aria-label={member.email}>
        <ProblemBanner problem={saver.problem} shown={["full_name", "roles", "active", "section_ids", "department_ids"]} />
        <Field name="full_name" label={st("users.fullName")} value={fullName} onChange={setFullName} error={saver.errors.full_name} required />
        <CheckGroup name="roles" legend={st("users.roles")} options={roleOptions} value={roles} onChange={setRoles} error={saver.errors.roles} />
        <UnitChecks units={units} sectionIds={sectionIds} departmentIds={departmentIds} onSections={setSectionIds} onDepartments={setDepartmentIds} errors={saver.errors} />
        <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} />
        <SaveBar saver={saver} />
      </form>
    </details>
  );
}

function NewStaff({ roleOptions, units, onSaved }: { roleOptions: Options; units: Units; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [email, setEmail] = useState("");
  const [fullName, setFullName] = useState("");
  const [password, setPassword] = useState("");
  const [roles, setRoles] = useState<string[]>([]);
  const [sectionIds, setSectionIds] = useState<string[]>([]);
  const [departmentIds, setDepartmentIds] = useState<string[]>([]);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { email, full_name: fullName, password, roles, section_ids: sectionIds, department_ids: departmentIds };
    const ok = await saver.run(() => unwrap(api.POST("/api/v1/staff", { body })));
    if (ok) {
      setEmail("");
      setFullName("");
      setPassword("");
      setRoles([]);
      setSectionIds([]);
      setDepartmentIds([]);
      onSaved();
    }
  }
  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="users-add">
      <h3 id="users-add">{st("users.add")}</h3>
      <ProblemBanner problem={saver.problem} shown={["email", "full_name", "password", "roles", "section_ids", "department_ids"]} />
      <Field name="email" type="email" label={st("users.email")} value={email} onChange={setEmail} error={saver.errors.email} required autoComplete="off" />
      <Field name="full_name" label={st("users.fullName")} value={fullName} onChange={setFullName} error={saver.errors.full_name} required />
      <Field name="password" type="password" label={st("users.password")} value={password} onChange={setPassword} error={saver.errors.password} required autoComplete="new-password" />
      <CheckGroup name="roles" legend={st("users.roles")} options={roleOptions} value={roles} onChange={setRoles} error={saver.errors.roles} />
      <UnitChecks units={units} sectionIds={sectionIds} departmentIds={departmentIds} onSections={setSectionIds} onDepartments={setDepartmentIds} errors={saver.errors} />
      <SaveBar saver={saver} label={st("add")} />
    </form>
  );
}

function permissionOptions(permissions: Permission[]): Options {
  return permissions.map((p) => ({ value: p.name, label: p.name, hint: p.description }));
}

function RoleEditor({ role, permissions, onSaved }: { role: Role; permissions: Permission[]; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [description, setDescription] = useState(role.description);
  const [granted, setGranted] = useState(role.permissions);
  const path = { path: { role_id: role.id } };
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await saver.run(() => unwrap(api.PATCH("/api/v1/identity/roles/{role_id}", { params: path, body: { description, permissions: granted } })))) onSaved();
  }
  async function remove() {
    if (await saver.run(() => unwrap(api.DELETE("/api/v1/identity/roles/{role_id}", { params: path })))) onSaved();
  }
  return (
    <details>
      <summary>
        <strong>{role.name}</strong> {role.builtin ? <span className="tag">{st("roles.builtin")}</span> : null} · {role.permissions.length}
      </summary>
      <form onSubmit={submit} noValidate aria-label={role.name}>
        <ProblemBanner problem={saver.problem} shown={["description", "permissions"]} />
        <Field name="description" label={st("roles.description")} value={description} onChange={setDescription} error={saver.errors.description} />
        <CheckGroup name="permissions" legend={st("roles.permissions")} options={permissionOptions(permissions)} value={granted} onChange={setGranted} error={saver.errors.permissions} />
        <SaveBar saver={saver}>
          {role.builtin ? null : (
            <button type="button" className="danger" onClick={() => void remove()}>
              {st("roles.delete")}
            </button>
          )}
        </SaveBar>
      </form>
    </details>
  );
}

function NewRole({ permissions, onSaved }: { permissions: Permission[]; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [granted, setGranted] = useState<string[]>([]);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await saver.run(() => unwrap(api.POST("/api/v1/identity/roles", { body: { name, description, permissions: granted } })))) {
      setName("");
      setDescription("");
      setGranted([]);
      onSaved();
    }
  }
  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="roles-add">
      <h3 id="roles-add">{st("roles.add")}</h3>
      <ProblemBanner problem={saver.problem} shown={["name", "description", "permissions"]} />
      <Field name="name" label={st("roles.name")} value={name} onChange={setName} error={saver.errors.name} required />
      <Field name="description" label={st("roles.description")} value={description} onChange={setDescription} error={saver.errors.description} />
      <CheckGroup name="permissions" legend={st("roles.permissions")} options={permissionOptions(permissions)} value={granted} onChange={setGranted} error={saver.errors.permissions} />
      <SaveBar saver={saver} label={st("add")} />
    </form>
  );
}
