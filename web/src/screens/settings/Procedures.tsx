// Procedures (scheduling:admin, the scheduling service) with their prices (crm:admin, the payments service),
// the payments' discount rules, and the quotes' costs and discounts (funnel:admin, the funnel service).
import { useState, type FormEvent } from "react";
import { unwrap, type Schemas } from "../../api/client";
import { Field, Loading, ProblemBanner } from "../../components";
import { useLoad } from "../../data";
import { useSession } from "../../session";
import { Check, CheckGroup, SaveBar, useSaver, useST } from "./kit";

type Procedure = Schemas["ProcedureOut"];
type ProcedureIn = Schemas["ProcedureIn"];
type Branch = Schemas["BranchOut"];
type Price = Schemas["PriceOut"];
type Discount = Schemas["payments_DiscountOut"];
type DiscountIn = Schemas["payments_DiscountIn"];
type Cost = Schemas["CostOut"];
type QuoteDiscount = Schemas["DiscountOut"];

export function ProceduresSection() {
  const { api, can } = useSession();
  const st = useST();
  const procs = useLoad(async () => (await unwrap(api.GET("/api/v1/scheduling/procedures"))).items as Procedure[], []);
  const branches = useLoad(async () => (await unwrap(api.GET("/api/v1/scheduling/branches"))).items as Branch[], []);
  const prices = useLoad(async () => (can("crm:admin") ? (await unwrap(api.GET("/api/v1/payments/prices"))).items : []), []);
  const priceOf = (id: string) => prices.data?.find((p) => p.procedure_id === id);
  return (
    <>
      <section aria-labelledby="procs-title">
        <h2 id="procs-title">{st("procs.title")}</h2>
        <ProblemBanner problem={procs.problem ?? prices.problem} shown={[]} />
        {procs.data && branches.data && prices.data ? (
          <>
            <ul className="plain settings-list">
              {procs.data.map((p) => (
                <li key={p.id}>
                  <details>
                    <summary>
                      <strong>{p.name}</strong> · {p.duration_minutes} min ·{" "}
                      {priceOf(p.id) ? `${priceOf(p.id)!.amount} ${priceOf(p.id)!.currency}` : st("proc.noPrice")}
                      {p.active ? null : <span className="tag"> {st("inactive")}</span>}
                    </summary>
                    <ProcedureForm procedure={p} branches={branches.data!} onSaved={procs.reload} />
                    {can("crm:admin") ? <PriceForm procedure={p} price={priceOf(p.id)} onSaved={prices.reload} /> : null}
                  </details>
                </li>
              ))}
            </ul>
            <ProcedureForm branches={branches.data} onSaved={procs.reload} />
          </>
        ) : (
          <Loading />
        )}
      </section>
      {can("crm:admin") && procs.data ? <Discounts procedures={procs.data} /> : null}
      {can("funnel:admin") ? <QuoteCosts /> : null}
      {can("funnel:admin") ? <QuoteDiscounts /> : null}
    </>
  );
}

function ProcedureForm({ procedure, branches, onSaved }: { procedure?: Procedure; branches: Branch[]; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(procedure?.name ?? "");
  const [duration, setDuration] = useState(String(procedure?.duration_minutes ?? 30));
  const [specialty, setSpecialty] = useState(procedure?.specialty ?? "");
  const [prepayment, setPrepayment] = useState(procedure?.prepayment_required ?? false);
  const [branchIds, setBranchIds] = useState<string[]>(procedure?.branch_ids ?? []);
  const [active, setActive] = useState(procedure?.active ?? true);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body: ProcedureIn = {
      name,
      duration_minutes: Number(duration),
      specialty: specialty || null,
      prepayment_required: prepayment,
      branch_ids: branchIds,
      currency: procedure?.currency ?? "BRL",
      price_reference: procedure?.price_reference ?? null,
      active,
    };
    const ok = await saver.run(() =>
      procedure
        ? unwrap(api.PUT("/api/v1/scheduling/procedures/{procedure_id}", { params: { path: { procedure_id: procedure.id } }, body }))
        : unwrap(api.POST("/api/v1/scheduling/procedures", { body })),
    );
    if (!ok) return;
    if (!procedure) {
      setName("");
      setSpecialty("");
    }
    onSaved();
  }
  const label = procedure?.name ?? st("procs.add");
  return (
    <form className={procedure ? undefined : "card"} onSubmit={submit} noValidate aria-label={label}>
      {procedure ? null : <h3>{label}</h3>}
      <ProblemBanner problem={saver.problem} shown={["name", "duration_minutes", "specialty", "prepayment_required", "branch_ids", "active"]} />
      <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
      <Field name="duration_minutes" type="number" label={st("proc.duration")} value={duration} onChange={setDuration} error={saver.errors.duration_minutes} required />
      <Field name="specialty" label={st("proc.specialty")} value={specialty} onChange={setSpecialty} error={saver.errors.specialty} />
      <CheckGroup
        name="branch_ids"
        legend={st("pro.branches")}
        options={branches.map((b) => ({ value: b.id, label: b.name }))}
        value={branchIds}
        onChange={setBranchIds}
        error={saver.errors.branch_ids}
      />
      <Check name="prepayment_required" label={st("proc.prepayment")} checked={prepayment} onChange={setPrepayment} error={saver.errors.prepayment_required} />
      {procedure ? <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} /> : null}
      <SaveBar saver={saver} label={procedure ? undefined : st("add")} />
    </form>
  );
}

function PriceForm({ procedure, price, onSaved }: { procedure: Procedure; price?: Price; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [amount, setAmount] = useState(price?.amount ?? "");
  const [currency, setCurrency] = useState(price?.currency ?? procedure.currency);
  const path = { path: { procedure_id: procedure.id } };
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await saver.run(() => unwrap(api.PUT("/api/v1/payments/prices/{procedure_id}", { params: path, body: { amount, currency, name: procedure.name } })))) onSaved();
  }
  async function clear() {
    if (await saver.run(() => unwrap(api.DELETE("/api/v1/payments/prices/{procedure_id}", { params: path })))) {
      setAmount("");
      onSaved();
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-label={`${st("proc.price")} · ${procedure.name}`}>
      <ProblemBanner problem={saver.problem} shown={["amount", "currency"]} />
      <div className="row-fields">
        <Field name="amount" label={st("proc.price")} value={amount} onChange={setAmount} error={saver.errors.amount} required />
        <Field name="currency" label={st("currency")} value={currency} onChange={setCurrency} error={saver.errors.currency} />
      </div>
      <SaveBar saver={saver} label={st("proc.setPrice")}>
        {price ? (
          <button type="button" onClick={() => void clear()}>
            {st("proc.clearPrice")}
          </button>
        ) : null}
      </SaveBar>
    </form>
  );
}

function Discounts({ procedures }: { procedures: Procedure[] }) {
  const { api } = useSession();
  const st = useST();
  const list = useLoad(async () => (await unwrap(api.GET("/api/v1/payments/discounts"))).items, []);
  return (
    <section aria-labelledby="discounts-title">
      <h2 id="discounts-title">{st("discounts.title")}</h2>
      <ProblemBanner problem={list.problem} shown={[]} />
      {list.data ? (
        <ul className="plain settings-list">
          {list.data.map((d) => (
            <li key={d.id}>
              <details>
                <summary>
                  <strong>{d.name}</strong> · {d.value}
                  {d.kind === "percentage" ? " %" : ""} {d.active ? null : <span className="tag">{st("inactive")}</span>}
                </summary>
                <DiscountForm discount={d} procedures={procedures} onSaved={list.reload} />
              </details>
            </li>
          ))}
        </ul>
      ) : (
        <Loading />
      )}
      <DiscountForm procedures={procedures} onSaved={list.reload} />
    </section>
  );
}

function DiscountForm({ discount, procedures, onSaved }: { discount?: Discount; procedures: Procedure[]; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(discount?.name ?? "");
  const [kind, setKind] = useState(discount?.kind ?? "percentage");
  const [value, setValue] = useState(discount?.value ?? "");
  const [procedureId, setProcedureId] = useState(discount?.procedure_id ?? "");
  const [from, setFrom] = useState(discount?.valid_from ?? "");
  const [until, setUntil] = useState(discount?.valid_until ?? "");
  const [active, setActive] = useState(discount?.active ?? true);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body: DiscountIn = { name, kind, value, procedure_id: procedureId || null, valid_from: from || null, valid_until: until || null, active };
    const ok = await saver.run(() =>
      discount
        ? unwrap(api.PUT("/api/v1/payments/discounts/{discount_id}", { params: { path: { discount_id: discount.id } }, body }))
        : unwrap(api.POST("/api/v1/payments/discounts", { body })),
    );
    if (!ok) return;
    if (!discount) {
      setName("");
      setValue("");
    }
    onSaved();
  }
  async function remove() {
    if (discount && (await saver.run(() => unwrap(api.DELETE("/api/v1/payments/discounts/{discount_id}", { params: { path: { discount_id: discount.id } } }))))) onSaved();
  }
  const label = discount?.name ?? st("discounts.add");
  return (
    <form className={discount ? undefined : "card"} onSubmit={submit} noValidate aria-label={label}>
      {discount ? null : <h3>{label}</h3>}
      <ProblemBanner problem={saver.problem} shown={["name", "kind", "value", "procedure_id", "valid_from", "valid_until", "active"]} />
      <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
      <div className="row-fields">
        <Field
          name="kind"
          label={st("discount.kind")}
          value={kind}
          onChange={setKind}
          error={saver.errors.kind}
          options={[
            { value: "percentage", label: st("discount.percentage") },
            { value: "fixed", label: st("discount.fixed") },
          ]}
        />
        <Field name="value" label={st("discount.value")} value={value} onChange={setValue} error={saver.errors.value} required />
      </div>
      <Field
        name="procedure_id"
        label={st("discount.procedure")}
        value={procedureId}
        onChange={setProcedureId}
        error={saver.errors.procedure_id}
        options={[{ value: "", label: st("discount.anyProcedure") }, ...procedures.map((p) => ({ value: p.id, label: p.name }))]}
      />
      <div className="row-fields">
        <Field name="valid_from" type="date" label={st("discount.from")} value={from} onChange={setFrom} error={saver.errors.valid_from} />
        <Field name="valid_until" type="date" label={st("discount.until")} value={until} onChange={setUntil} error={saver.errors.valid_until} />
      </div>
      {discount ? <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} /> : null}
      <SaveBar saver={saver} label={discount ? undefined : st("add")}>
        {discount ? (
          <button type="button" className="danger" onClick={() => void remove()}>
            {st("remove")}
          </button>
        ) : null}
      </SaveBar>
    </form>
  );
}

function QuoteCosts() {
  const { api } = useSession();
  const st = useST();
  const list = useLoad(() => unwrap(api.GET("/api/v1/funnel/quote-costs")).then((p) => p.items), []);
  return (
    <section aria-labelledby="costs-title">
      <h2 id="costs-title">{st("costs.title")}</h2>
      <ProblemBanner problem={list.problem} shown={[]} />
      {list.data ? (
        <ul className="plain settings-list">
          {list.data.map((c) => (
            <li key={c.id}>
              <details>
                <summary>
                  <strong>{c.name}</strong> · {c.price} {c.currency} {c.active ? null : <span className="tag">{st("inactive")}</span>}
                </summary>
                <CostForm cost={c} onSaved={list.reload} />
              </details>
            </li>
          ))}
        </ul>
      ) : (
        <Loading />
      )}
      <CostForm onSaved={list.reload} />
    </section>
  );
}

function CostForm({ cost, onSaved }: { cost?: Cost; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(cost?.name ?? "");
  const [price, setPrice] = useState(cost?.price ?? "");
  const [currency, setCurrency] = useState(cost?.currency ?? "BRL");
  const [active, setActive] = useState(cost?.active ?? true);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await saver.run(() =>
      cost
        ? unwrap(api.PATCH("/api/v1/funnel/quote-costs/{cost_id}", { params: { path: { cost_id: cost.id } }, body: { name, price, active } }))
        : unwrap(api.POST("/api/v1/funnel/quote-costs", { body: { name, price, currency } })),
    );
    if (!ok) return;
    if (!cost) {
      setName("");
      setPrice("");
    }
    onSaved();
  }
  const label = cost?.name ?? st("costs.add");
  return (
    <form className={cost ? undefined : "card"} onSubmit={submit} noValidate aria-label={label}>
      {cost ? null : <h3>{label}</h3>}
      <ProblemBanner problem={saver.problem} shown={["name", "price", "currency", "active"]} />
      <div className="row-fields">
        <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
        <Field name="price" label={st("cost.price")} value={price} onChange={setPrice} error={saver.errors.price} required />
        {cost ? null : <Field name="currency" label={st("currency")} value={currency} onChange={setCurrency} error={saver.errors.currency} required />}
      </div>
      {cost ? <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} /> : null}
      <SaveBar saver={saver} label={cost ? undefined : st("add")} />
    </form>
  );
}

function QuoteDiscounts() {
  const { api } = useSession();
  const st = useST();
  const list = useLoad(() => unwrap(api.GET("/api/v1/funnel/quote-discounts")).then((p) => p.items), []);
  return (
    <section aria-labelledby="qdiscounts-title">
      <h2 id="qdiscounts-title">{st("qdiscounts.title")}</h2>
      <ProblemBanner problem={list.problem} shown={[]} />
      {list.data ? (
        <ul className="plain settings-list">
          {list.data.map((d) => (
            <li key={d.id}>
              <details>
                <summary>
                  <strong>{d.name}</strong> · {d.percent} % {d.active ? null : <span className="tag">{st("inactive")}</span>}
                </summary>
                <QuoteDiscountForm discount={d} onSaved={list.reload} />
              </details>
            </li>
          ))}
        </ul>
      ) : (
        <Loading />
      )}
      <QuoteDiscountForm onSaved={list.reload} />
    </section>
  );
}

function QuoteDiscountForm({ discount, onSaved }: { discount?: QuoteDiscount; onSaved: () => void }) {
  const { api } = useSession();
  const st = useST();
  const saver = useSaver();
  const [name, setName] = useState(discount?.name ?? "");
  const [percent, setPercent] = useState(discount?.percent ?? "");
  const [active, setActive] = useState(discount?.active ?? true);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const ok = await saver.run(() =>
      discount
        ? unwrap(api.PATCH("/api/v1/funnel/quote-discounts/{discount_id}", { params: { path: { discount_id: discount.id } }, body: { name, percent, active } }))
        : unwrap(api.POST("/api/v1/funnel/quote-discounts", { body: { name, percent } })),
    );
    if (!ok) return;
    if (!discount) {
      setName("");
      setPercent("");
    }
    onSaved();
  }
  const label = discount?.name ?? st("qdiscounts.add");
  return (
    <form className={discount ? undefined : "card"} onSubmit={submit} noValidate aria-label={label}>
      {discount ? null : <h3>{label}</h3>}
      <ProblemBanner problem={saver.problem} shown={["name", "percent", "active"]} />
      <div className="row-fields">
        <Field name="name" label={st("name")} value={name} onChange={setName} error={saver.errors.name} required />
        <Field name="percent" label={st("qdiscount.percent")} value={percent} onChange={setPercent} error={saver.errors.percent} required />
      </div>
      {discount ? <Check name="active" label={st("active")} checked={active} onChange={setActive} error={saver.errors.active} /> : null}
      <SaveBar saver={saver} label={discount ? undefined : st("add")} />
    </form>
  );
}
