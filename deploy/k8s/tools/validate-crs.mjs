// Validate Strimzi, CloudNativePG, Prometheus Operator and External Secrets custom resources against the operators' CRD schemas, offline.
//   node validate-crs.mjs < resources.json      (a JSON array of rendered resources)
// Prints a JSON array: one {kind, name, ok, error} per custom resource. Exit 0 when every resource
// was checked (valid or not), 2 when a resource's group/version/kind has no model here.
// The models come from @kubernetes-models/* (package.json); they check types, enums and required
// fields, but, like the API server's structural schemas, they do not reject unknown fields.
import { readFileSync } from "node:fs";

const PACKAGES = {
  "kafka.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "core.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "external-secrets.io": "@kubernetes-models/external-secrets",
};

const resources = JSON.parse(readFileSync(0, "utf8"));
const results = [];
let unknown = false;
for (const resource of resources) {
  const [group, version] = resource.apiVersion.split("/");
  const pkg = PACKAGES[group];
  if (!pkg) continue;
  const name = resource.metadata?.name;
  let Model;
  try {
    Model = (await import(`${pkg}/${group}/${version}`))[resource.kind];
  } catch {
    Model = undefined;
  }
  if (!Model) {
    results.push({ kind: resource.kind, name, ok: false, error: `no model for ${resource.apiVersion} ${resource.kind}` });
    unknown = true;
    continue;
  }
  try {
    new Model(resource).validate();
    results.push({ kind: resource.kind, name, ok: true, error: null });
  } catch (error) {
    results.push({ kind: resource.kind, name, ok: false, error: String(error.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
process.exit(unknown ? 2 : 0);
